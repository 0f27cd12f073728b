package graphsim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dedesales/exchange-connector/internal/model"
)

const mailbox = "anna.berger@dedenet.de"

// subscribe creates a mailbox-wide subscription and returns its JSON.
func (s *sim) subscribe(sb *subscriber, mutate func(map[string]any)) (int, map[string]any) {
	s.t.Helper()
	body := map[string]any{
		"changeType":               "created",
		"notificationUrl":          sb.srv.URL + "/graph/notifications",
		"lifecycleNotificationUrl": sb.srv.URL + "/graph/lifecycle",
		"resource":                 "/users/" + mailbox + "/messages",
		"expirationDateTime":       formatSubTime(s.Now().Add(6*24*time.Hour + 12*time.Hour)),
		"clientState":              "nonce.hmac",
	}
	if mutate != nil {
		mutate(body)
	}
	code, _, out := s.graph("POST", "/subscriptions", body)
	return code, out
}

func TestSubscriptionHandshake(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, func(o *Options) { o.ValidationTimeout = 300 * time.Millisecond })

	code, sub := s.subscribe(sb, nil)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, sub)
	}
	// Both URLs were validated.
	for i := 0; i < 2; i++ {
		select {
		case tok := <-sb.validations:
			if !strings.HasPrefix(tok, "Validation: Testing client application reachability for subscription Request-Id: ") {
				t.Errorf("token %q", tok)
			}
		default:
			t.Fatalf("only %d validation requests", i)
		}
	}
	for _, k := range []string{"id", "resource", "applicationId", "changeType", "clientState", "notificationUrl", "lifecycleNotificationUrl", "expirationDateTime", "creatorId", "latestSupportedTlsVersion"} {
		if sub[k] == nil {
			t.Errorf("subscription lacks %s", k)
		}
	}
	if !guidRE.MatchString(sub["id"].(string)) || sub["applicationId"] != testClient {
		t.Errorf("subscription = %v", sub)
	}

	for _, mode := range []string{"fail", "wrong", "hang"} {
		sb.set(func(sb *subscriber) { sb.validation = mode })
		code, e := s.subscribe(sb, nil)
		errObj, _ := e["error"].(map[string]any)
		if code != http.StatusBadRequest || !strings.HasPrefix(errObj["message"].(string), "Subscription validation request failed") {
			t.Errorf("%s: %d %v", mode, code, e)
		}
		<-sb.validations
	}
	sb.set(func(sb *subscriber) { sb.validation = "ok" })
	_, _, list := s.graph("GET", "/subscriptions", nil)
	if n := len(list["value"].([]any)); n != 1 {
		t.Errorf("%d subscriptions after failed handshakes", n)
	}
}

func TestSubscriptionLimits(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	now := s.Now()
	cases := []struct {
		name string
		mut  func(map[string]any)
		code int
	}{
		{"past", func(b map[string]any) { b["expirationDateTime"] = formatSubTime(now.Add(-time.Minute)) }, 400},
		{"over max", func(b map[string]any) { b["expirationDateTime"] = formatSubTime(now.Add(10081 * time.Minute)) }, 400},
		{"at max", func(b map[string]any) { b["expirationDateTime"] = formatSubTime(now.Add(10079 * time.Minute)) }, 201},
		{"http", func(b map[string]any) { b["notificationUrl"] = "http://127.0.0.1:1/x" }, 400},
		{"client state", func(b map[string]any) { b["clientState"] = strings.Repeat("x", 256) }, 400},
		{"bad resource", func(b map[string]any) { b["resource"] = "/me/messages" }, 400},
		{"folder by name", func(b map[string]any) { b["resource"] = "/users/" + mailbox + "/mailFolders/Kunden/messages" }, 400},
		{"inbox", func(b map[string]any) { b["resource"] = "/users/" + mailbox + "/mailFolders('inbox')/messages" }, 201},
	}
	for _, c := range cases {
		code, out := s.subscribe(sb, c.mut)
		if code != c.code {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.code)
		}
	}
	// Under 45 minutes is raised to 45.
	code, out := s.subscribe(sb, func(b map[string]any) { b["expirationDateTime"] = formatSubTime(now.Add(5 * time.Minute)) })
	exp, _ := time.Parse(time.RFC3339, out["expirationDateTime"].(string))
	if code != 201 || exp.Sub(now) < 44*time.Minute {
		t.Errorf("short expiry: %d %v", code, out)
	}
	// http to loopback only with AllowHTTPNotify.
	s2 := startSim(t, sb, func(o *Options) { o.AllowHTTPNotify = true })
	code, out = s2.subscribe(sb, func(b map[string]any) { b["notificationUrl"] = "http://example.com/x" })
	if code != 400 {
		t.Errorf("http to a remote host: %d %v", code, out)
	}
}

// Graph allows 1,000 active subscriptions per mailbox, counted across all
// applications; past that, creation is 403 (not an access policy).
func TestSubscriptionQuotaPerMailbox(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	s.FillSubscriptions(mailbox, 998) // other apps'
	if code, out := s.subscribe(sb, nil); code != 201 {
		t.Fatalf("999th: %d %v", code, out)
	}
	if code, out := s.subscribe(sb, nil); code != 201 {
		t.Fatalf("1,000th: %d %v", code, out)
	}
	code, out := s.subscribe(sb, nil)
	e, _ := out["error"].(map[string]any)
	if code != 403 || e["code"] != "ExtensionError" || !strings.Contains(e["message"].(string), "Maximum number of subscriptions") {
		t.Errorf("1,001st: %d %v", code, out)
	}
	// Another mailbox has its own quota.
	s.AddUser(UserInput{Mail: "other@example.com"})
	if code, out := s.subscribe(sb, func(b map[string]any) { b["resource"] = "/users/other@example.com/messages" }); code != 201 {
		t.Errorf("other mailbox: %d %v", code, out)
	}
}

func TestSubscriptionLifecycleOps(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	_, sub := s.subscribe(sb, nil)
	id := sub["id"].(string)

	newExp := formatSubTime(s.Now().Add(7 * 24 * time.Hour).Add(-time.Minute))
	code, _, renewed := s.graph("PATCH", "/subscriptions/"+id, map[string]any{"expirationDateTime": newExp})
	if code != http.StatusOK || renewed["expirationDateTime"] != newExp {
		t.Errorf("renew: %d %v", code, renewed)
	}
	code, _, e := s.graph("PATCH", "/subscriptions/"+id, map[string]any{"expirationDateTime": formatSubTime(s.Now().Add(8 * 24 * time.Hour))})
	if code != http.StatusBadRequest {
		t.Errorf("renew over max: %d %v", code, e)
	}
	if code, _, _ := s.graph("POST", "/subscriptions/"+id+"/reauthorize", nil); code != http.StatusNoContent {
		t.Errorf("reauthorize: %d", code)
	}
	if code, _, got := s.graph("GET", "/subscriptions/"+id, nil); code != http.StatusOK || got["id"] != id {
		t.Errorf("get: %d %v", code, got)
	}
	if code, _, _ := s.graph("DELETE", "/subscriptions/"+id, nil); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	if code, _, _ := s.graph("PATCH", "/subscriptions/"+id, map[string]any{"expirationDateTime": newExp}); code != http.StatusNotFound {
		t.Errorf("renew deleted: %d", code)
	}

	// Lapse by the clock.
	_, sub = s.subscribe(sb, func(b map[string]any) { b["expirationDateTime"] = formatSubTime(s.Now().Add(2 * time.Hour)) })
	id = sub["id"].(string)
	code, _, out := s.do("POST", "/_sim/clock", map[string]any{"advance": "2h1m"}, nil)
	if code != http.StatusOK {
		t.Fatalf("clock: %d %v", code, out)
	}
	if code, _, _ := s.graph("GET", "/subscriptions/"+id, nil); code != http.StatusNotFound {
		t.Errorf("lapsed subscription: %d", code)
	}
	if st := s.State(); len(st.Subscriptions) != 0 {
		t.Errorf("state still lists %v", st.Subscriptions)
	}
}

func TestNotificationDelivery(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	_, sub := s.subscribe(sb, nil)
	id := s.addMessage(mailbox, "inbox", map[string]any{"subject": "hello"})

	got := recv(t, sb.notes)
	if len(got) != 1 {
		t.Fatalf("got %d items", len(got))
	}
	item := got[0].(map[string]any)
	_, _, msg := s.graph("GET", "/users/"+mailbox+"/messages/"+id, nil)
	_, _, user := s.graph("GET", "/users/"+mailbox, nil)
	res := "Users/" + user["id"].(string) + "/Messages/" + id
	want := map[string]any{
		"subscriptionId":                 sub["id"],
		"subscriptionExpirationDateTime": sub["expirationDateTime"],
		"changeType":                     "created",
		"resource":                       res,
		"resourceData": map[string]any{
			"@odata.type": "#Microsoft.Graph.Message", "@odata.id": res, "@odata.etag": msg["@odata.etag"], "id": id,
		},
		"clientState": "nonce.hmac",
		"tenantId":    testTenant,
	}
	if diff := cmp.Diff(want, item); diff != "" {
		t.Errorf("notification mismatch (-want +got):\n%s", diff)
	}
	// Same keys as the reference payload.
	ref := readJSON(t, "testdata/graph/notification-created.json")["value"].([]any)[0].(map[string]any)
	for k := range ref {
		if _, ok := item[k]; !ok {
			t.Errorf("notification lacks %q", k)
		}
	}

	// A move fires created for the new ID.
	code, _, mv := s.do("POST", "/_sim/messages/"+id+"/move", map[string]any{"folder": "Kunden"}, nil)
	if code != http.StatusOK {
		t.Fatal(code)
	}
	got = recv(t, sb.notes)
	if rd := got[0].(map[string]any)["resourceData"].(map[string]any); rd["id"] != mv["id"] {
		t.Errorf("move notified %v, want %v", rd["id"], mv["id"])
	}
	eventually(t, "delivered count", func() bool { return s.NotifyStats().Delivered == 2 })
}

func TestNotificationRetry(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	s.subscribe(sb, nil)
	sb.set(func(sb *subscriber) { sb.failNext = 1 })
	id := s.addMessage(mailbox, "inbox", map[string]any{"subject": "retry me"})
	first, second := recv(t, sb.notes), recv(t, sb.notes)
	if !cmp.Equal(first, second) || first[0].(map[string]any)["resourceData"].(map[string]any)["id"] != id {
		t.Errorf("retry differs: %v vs %v", first, second)
	}
	eventually(t, "delivered after retry", func() bool {
		st := s.NotifyStats()
		return st.Delivered == 1 && st.Retries == 1
	})

	// Every attempt fails: counted as failed after MaxAttempts (3).
	sb.set(func(sb *subscriber) { sb.failNext = 3 })
	s.addMessage(mailbox, "inbox", map[string]any{"subject": "lost"})
	for i := 0; i < 3; i++ {
		recv(t, sb.notes)
	}
	eventually(t, "failed count", func() bool { return s.NotifyStats().Failed == 1 })
}

func TestNotificationFolderSubscription(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	s.subscribe(sb, func(b map[string]any) { b["resource"] = "/users/" + mailbox + "/mailFolders('sentitems')/messages" })
	s.addMessage(mailbox, "inbox", map[string]any{"subject": "not for this subscription"})
	id := s.addMessage(mailbox, "sentitems", map[string]any{"subject": "sent"})
	got := recv(t, sb.notes)
	if rd := got[0].(map[string]any)["resourceData"].(map[string]any); rd["id"] != id {
		t.Errorf("notified %v, want the sent message %v", rd["id"], id)
	}
}

func TestLifecycleEvents(t *testing.T) {
	sb := newSubscriber(t)
	s := startSim(t, sb, nil)
	_, sub := s.subscribe(sb, nil)
	ref := readJSON(t, "testdata/graph/lifecycle-missed.json")["value"].([]any)[0].(map[string]any)
	for _, ev := range []string{model.EventMissed, model.EventReauthorizationRequired, model.EventSubscriptionRemoved} {
		code, _, out := s.do("POST", "/_sim/lifecycle", map[string]any{"mailbox": mailbox, "event": ev}, nil)
		if code != http.StatusOK || out["sent"] != float64(1) {
			t.Fatalf("%s: %d %v", ev, code, out)
		}
		item := recv(t, sb.lifecycle)[0].(map[string]any)
		want := map[string]any{"subscriptionId": sub["id"], "subscriptionExpirationDateTime": sub["expirationDateTime"],
			"tenantId": testTenant, "clientState": "nonce.hmac", "lifecycleEvent": ev}
		if diff := cmp.Diff(want, item); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", ev, diff)
		}
		for k := range ref {
			if _, ok := item[k]; !ok {
				t.Errorf("lifecycle item lacks %q", k)
			}
		}
	}
	if code, _, _ := s.graph("GET", "/subscriptions/"+sub["id"].(string), nil); code != http.StatusNotFound {
		t.Errorf("subscriptionRemoved left the subscription: %d", code)
	}
}
