package graphsim

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestScenario(t *testing.T) {
	sc, err := LoadScenario("testdata/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := startBareSim(t, nil, nil)
	if err := s.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	st := s.State()
	if len(st.Users) != 2 {
		t.Fatalf("users: %+v", st.Users)
	}
	anna := st.Users[0]
	if anna.ID != "4c1a7b1e-9f3a-4f0e-8d5c-2b1f0e6a9c11" || anna.MessageCount != 7 {
		t.Errorf("anna = %s with %d messages", anna.ID, anna.MessageCount)
	}
	paths := map[string]bool{}
	for _, f := range anna.Folders {
		paths[f.Path] = true
	}
	for _, p := range []string{"Inbox/Kunden/Müller Bau", "Projekte", "Sent Items"} {
		if !paths[p] {
			t.Errorf("missing folder %q", p)
		}
	}
	if len(st.Secrets) != 2 || st.Secrets[0].DisplayName != "prod" || st.Secrets[1].Expired != true {
		t.Errorf("secrets = %+v", st.Secrets)
	}
	if d := st.Secrets[0].EndDateTime.Sub(s.Now()); d < 9*24*time.Hour || d > 11*24*time.Hour {
		t.Errorf("prod secret ends in %v", d)
	}
	// Relative receivedDateTime, attachments, access policy.
	_, _, list := s.graph("GET", "/users/anna.berger@dedenet.de/mailFolders/inbox/messages", nil)
	msgs := list["value"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("inbox: %v", msgs)
	}
	m := msgs[0].(map[string]any)
	rcv, _ := time.Parse(time.RFC3339, m["receivedDateTime"].(string))
	if d := s.Now().Sub(rcv); d < 71*time.Hour || d > 73*time.Hour {
		t.Errorf("received %v ago", d)
	}
	_, _, atts := s.graph("GET", "/users/anna.berger@dedenet.de/messages/"+url.PathEscape(m["id"].(string))+"/attachments", nil)
	if n := len(atts["value"].([]any)); n != 2 || m["hasAttachments"] != true {
		t.Errorf("%d attachments, hasAttachments %v", n, m["hasAttachments"])
	}
	s.AddUser(UserInput{Mail: "someone.else@dedenet.de"})
	if code, _, _ := s.graph("GET", "/users/someone.else@dedenet.de", nil); code != http.StatusForbidden {
		t.Errorf("outside the access policy: %d", code)
	}
}

func TestScenarioRejectsUnknownKeys(t *testing.T) {
	if _, err := ParseScenario([]byte("users:\n  - mail: a@b.de\n    mailbox: typo\n")); err == nil {
		t.Error("unknown key accepted")
	}
}

func TestScenarioGenerate(t *testing.T) {
	sc, err := ParseScenario([]byte(`
users:
  - mail: anna.berger@dedenet.de
generate:
  users: 3
  mail: "mb{n}@scale.example"
  messages:
    - folder: inbox
      received: -1h
      message: {subject: Hallo, from: {emailAddress: {address: kunde@example.com}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, nil, nil)
	if err := s.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	st := s.State()
	got := map[string]int{}
	for _, u := range st.Users {
		got[u.Mail] = u.MessageCount
	}
	want := map[string]int{"anna.berger@dedenet.de": 0, "mb00001@scale.example": 1, "mb00002@scale.example": 1, "mb00003@scale.example": 1}
	if len(got) != len(want) {
		t.Fatalf("users = %v, want %v", got, want)
	}
	for mail, n := range want {
		if c, ok := got[mail]; !ok || c != n {
			t.Errorf("user %s: %d messages (present %v), want %d", mail, c, ok, n)
		}
	}
	if c := s.Stats(); c.Users != 4 {
		t.Errorf("stats: %d users, want 4", c.Users)
	}
	if n := GeneratedName("u{n}@x", 7, 123456); n != "u000007@x" {
		t.Errorf("GeneratedName = %q", n)
	}
	for _, bad := range []string{"generate: {users: 2, mail: fixed@x}", "generate: {users: -1}"} {
		sc, err := ParseScenario([]byte(bad))
		if err != nil {
			t.Fatal(err)
		}
		if err := startSim(t, nil, nil).ApplyScenario(sc); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
