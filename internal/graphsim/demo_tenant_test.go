package graphsim

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDemoTenant loads the demo tenant (configs/demo/tenant.yaml) with the
// real loader and checks that it covers what the demo relies on and that
// it matches the demo CRM (configs/demo/crm.json).
func TestDemoTenant(t *testing.T) {
	sc, err := LoadScenario("../../configs/demo/tenant.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, nil, nil)
	if err := s.ApplyScenario(sc); err != nil {
		t.Fatal(err)
	}
	st := s.State()

	// Every CRM employee with an Exchange mailbox is a user.
	raw, err := readFile("../../configs/demo/crm.json")
	if err != nil {
		t.Fatal(err)
	}
	var crm struct {
		Employees []struct {
			Name            string  `json:"name"`
			ExchangeMailbox *string `json:"exchange_mailbox"`
		} `json:"employees"`
	}
	if err := json.Unmarshal(raw, &crm); err != nil {
		t.Fatal(err)
	}
	users := map[string]UserState{}
	for _, u := range st.Users {
		users[strings.ToLower(u.Mail)] = u
	}
	mailboxes := 0
	for _, e := range crm.Employees {
		if e.ExchangeMailbox == nil {
			continue
		}
		mailboxes++
		if _, ok := users[strings.ToLower(*e.ExchangeMailbox)]; !ok {
			t.Errorf("employee %s: no user for mailbox %s", e.Name, *e.ExchangeMailbox)
		}
	}
	if mailboxes == 0 || len(st.Users) != mailboxes {
		t.Errorf("%d users for %d CRM mailboxes", len(st.Users), mailboxes)
	}

	// Messages per kind of folder.
	total := 0
	perWellKnown := map[string]int{}
	inboxSub, userFolder := 0, 0
	for _, u := range st.Users {
		total += u.MessageCount
		byID := map[string]FolderState{}
		for _, f := range u.Folders {
			byID[f.ID] = f
		}
		for _, f := range u.Folders {
			if f.WellKnownName != "" {
				perWellKnown[f.WellKnownName] += f.TotalItemCount
				continue
			}
			top := f
			for {
				p, ok := byID[top.ParentFolderID]
				if !ok || p.WellKnownName == "msgfolderroot" {
					break
				}
				top = p
			}
			switch top.WellKnownName {
			case "inbox":
				inboxSub += f.TotalItemCount
			case "":
				userFolder += f.TotalItemCount
			}
		}
		t.Logf("%-28s %3d messages", u.Mail, u.MessageCount)
	}
	t.Logf("total %d, well-known %v, inbox subfolders %d, user folders %d", total, perWellKnown, inboxSub, userFolder)
	if total < 300 {
		t.Errorf("%d messages, want at least 300", total)
	}
	for _, wk := range []string{"inbox", "sentitems", "drafts", "junkemail", "deleteditems"} {
		if perWellKnown[wk] == 0 {
			t.Errorf("no messages in %s", wk)
		}
	}
	if inboxSub == 0 {
		t.Error("no messages in an Inbox subfolder")
	}
	if userFolder == 0 {
		t.Error("no messages in a user folder")
	}

	// Attachments of all three kinds, X.500 senders, the same mail in two
	// mailboxes.
	kinds := map[string]int{}
	var inline, large, x500 int
	mailboxesByIMID := map[string]map[string]bool{}
	s.mu.RLock()
	for _, m := range s.tenant.messages {
		for _, a := range m.attachments {
			kinds[a.Type]++
			if a.IsInline && a.ContentID != "" {
				inline++
			}
			if a.Size > 10<<20 {
				large++
			}
		}
		if from, ok := m.data["from"].(map[string]any); ok {
			if ea, ok := from["emailAddress"].(map[string]any); ok && strings.HasPrefix(str(ea["address"]), "/o=") {
				x500++
				if len(m.ext) == 0 {
					t.Errorf("X.500 sender without singleValueExtendedProperties: %q", m.data["subject"])
				}
			}
		}
		imid := str(m.data["internetMessageId"])
		if mailboxesByIMID[imid] == nil {
			mailboxesByIMID[imid] = map[string]bool{}
		}
		mailboxesByIMID[imid][m.user.ID] = true
	}
	s.mu.RUnlock()
	for _, k := range []string{typeFile, typeItem, typeReference} {
		if kinds[k] == 0 {
			t.Errorf("no %s", k)
		}
	}
	if inline == 0 {
		t.Error("no inline attachment with a contentId")
	}
	if large == 0 {
		t.Error("no attachment over 10 MB")
	}
	if x500 == 0 {
		t.Error("no X.500 sender")
	}
	shared := 0
	for _, mbs := range mailboxesByIMID {
		if len(mbs) > 1 {
			shared++
		}
	}
	if shared < 2 {
		t.Errorf("%d mails in more than one mailbox, want at least 2", shared)
	}
	t.Logf("attachments %v, inline %d, large %d, X.500 senders %d, shared mails %d", kinds, inline, large, x500, shared)

	// A bounded live stream.
	live := 0
	for _, l := range sc.Live {
		live += max(l.Count, 1)
	}
	if live == 0 || live > 100 {
		t.Errorf("%d live messages", live)
	}
}
