package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
)

// post sends a notification body to the running connector.
func (s *stack) post(t *testing.T, path string, items ...map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"value": items})
	resp, err := http.Post(s.cfg.PublicURL+path, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST %s: %s", path, resp.Status)
	}
}

// metric reads one line of the connector's /metrics.
func (s *stack) metric(t *testing.T, prefix string) string {
	t.Helper()
	resp, err := http.Get(s.cfg.PublicURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

// A clientState is bound to its subscription: a valid one replayed with
// another subscriptionId (a leaked state) neither makes the connector
// import a message at will nor starts a full sync with a forged "missed".
func TestForgedSubscriptionIDIsDropped(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	ctx := context.Background()
	emp := mailboxID(t, s, anna)
	before, err := s.st.FindMailbox(ctx, anna)
	if err != nil || before.LastSyncAt == nil {
		t.Fatalf("mailbox before: %+v, %v", before, err)
	}
	keys, err := clientstate.NewKeys(s.key.Derive("clientstate"))
	if err != nil {
		t.Fatal(err)
	}
	state := keys.Generate(emp) // valid for Anna: what a leak gives away
	s.sim.SetFaults(graphsim.Faults{DropNotifications: -1})
	m := s.mail(t, anna, "inbox", map[string]any{"subject": "Nur per Fälschung", "from": from("sabine.schulz@schulz-technik.com")})

	s.post(t, "/graph/notifications", map[string]any{"subscriptionId": "forged-subscription", "clientState": state,
		"changeType": "created", "resource": "Users/" + anna + "/Messages/" + m.ID, "tenantId": tenantID})
	s.post(t, "/graph/lifecycle", map[string]any{"subscriptionId": "forged-subscription", "clientState": state,
		"lifecycleEvent": "missed", "tenantId": tenantID})
	s.queueDrained(t)

	if ds, err := s.st.DecisionsFor(ctx, m.ID); err != nil || len(ds) != 0 {
		t.Errorf("the forged notification was acted on: %+v, %v", ds, err)
	}
	if after, _ := s.st.FindMailbox(ctx, anna); !after.LastSyncAt.Equal(*before.LastSyncAt) {
		t.Errorf("the forged missed started a sync: last sync %v → %v", before.LastSyncAt, after.LastSyncAt)
	}
	for _, typ := range []string{"message:process", "subscription:lifecycle"} {
		want := `connector_tasks_dropped_total{reason="unknown_subscription",type="` + typ + `"} 1`
		if got := s.metric(t, `connector_tasks_dropped_total{reason="unknown_subscription",type="`+typ+`"}`); got != want {
			t.Errorf("metric: %q, want %q", got, want)
		}
	}

	// The real subscription's "missed" still syncs and finds the mail.
	if n, _ := s.sim.SendLifecycle(anna, "", "missed"); n != 1 {
		t.Fatalf("lifecycle events sent: %d", n)
	}
	if d := s.decision(t, m.ID); d.Outcome != match.OutcomeImported || d.Note != "delta" {
		t.Errorf("after the real missed: %+v", d)
	}
}

// During a master key rotation the connector runs on the new key with the
// old one as previous: the credentials sealed under the old key still
// sign in, and a clientState signed under the old key is still accepted.
func TestServeWithAPreviousMasterKey(t *testing.T) {
	s := newStack(t, store.SQLite)
	old := filepath.Join(filepath.Dir(s.cfg.MasterKeyFile), "master.key.old")
	if err := os.Rename(s.cfg.MasterKeyFile, old); err != nil {
		t.Fatal(err)
	}
	oldKey := s.key
	newKey, _, err := secret.LoadOrCreateKey(s.cfg.MasterKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	s.key = newKey
	s.cfg.PreviousMasterKeyFiles = []string{old}
	s.start(t) // subscriptions need a token: the credential opened with the old key

	ctx := context.Background()
	emp := mailboxID(t, s, anna)
	sub, err := s.st.SubscriptionOf(ctx, emp)
	if err != nil {
		t.Fatal(err)
	}
	oldKeys, _ := clientstate.NewKeys(oldKey.Derive("clientstate"))
	s.sim.SetFaults(graphsim.Faults{DropNotifications: -1})
	m := s.mail(t, anna, "inbox", map[string]any{"subject": "Unter altem Schlüssel", "from": from("sabine.schulz@schulz-technik.com")})
	s.post(t, "/graph/notifications", map[string]any{"subscriptionId": sub.GraphID, "clientState": oldKeys.Generate(emp),
		"changeType": "created", "resource": "Users/" + anna + "/Messages/" + m.ID, "tenantId": tenantID})
	if d := s.decision(t, m.ID); d.Outcome != match.OutcomeImported || d.Note != "notification" {
		t.Errorf("notification signed under the previous key: %+v", d)
	}
}
