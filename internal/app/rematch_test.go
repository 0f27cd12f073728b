package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/explain"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/jobs"
)

// A mail ignored as no_match is imported by the running service once the
// CRM adds its sender's company: the rematch task (requested as the API and
// the CLI do) re-decides it, a worker fetches it from the simulator and
// imports it like new mail — activity, attachments, feed entry — and the
// history says why.
func TestRetroactiveImport(t *testing.T) {
	s := newStack(t, store.SQLite)
	s.start(t)
	ctx := context.Background()
	m, err := s.sim.CreateMessage(graphsim.MessageInput{Mailbox: anna, Folder: "inbox", Message: map[string]any{
		"subject": "Anfrage Hallendach", "from": from("anfrage@neukunde.example"), "toRecipients": to(anna)},
		Attachments: []graphsim.AttachmentInput{{Name: "Plan.pdf", ContentType: "application/pdf", Size: 2000}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.decision(t, m.ID); d.Reason != match.ReasonNoMatch {
		t.Fatalf("before the change: %+v", d)
	}
	if _, err := s.st.ImportCRM(ctx, &crmfile.File{Customers: []model.Customer{{ID: 900, Number: "90001", Name: "Neukunde AG", Email: "info@neukunde.example"}}}); err != nil {
		t.Fatal(err)
	}
	opt, err := asynq.ParseRedisURI(s.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(opt)
	defer client.Close()
	r := &jobs.Rematcher{Enqueuer: client, Window: time.Second}
	if err := r.RequestRematch(ctx, "customer 900 saved"); err != nil {
		t.Fatal(err)
	}
	var d store.Decision
	s.waitFor(t, "the retroactive import", func() bool {
		ds, err := s.st.DecisionsFor(ctx, m.ID)
		if err != nil || len(ds) != 1 {
			return false
		}
		d = ds[0]
		return d.Outcome == match.OutcomeImported
	})
	if d.CustomerID == nil || *d.CustomerID != 900 || d.ActivityID == nil {
		t.Fatalf("decision: %+v", d)
	}
	s.waitFor(t, "the filed attachment", func() bool {
		files := s.files(t)
		return len(files) == 1 && strings.HasPrefix(files[0], "90001/")
	})
	s.queueDrained(t)
	d = s.decision(t, m.ID)
	var retro *store.EventDetail
	for _, e := range d.History {
		if e.Kind == store.EventRetroactive {
			detail := e.ParsedDetail()
			retro = &detail
		}
	}
	if retro == nil || !strings.HasPrefix(retro.Cause, "customer 900 saved at ") || retro.FromReason != match.ReasonNoMatch {
		t.Errorf("history:\n%s", explain.Decision(d))
	}
	changes, err := s.st.Changes(ctx, store.Cursor{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range changes {
		found = found || c.ActivityID == *d.ActivityID && c.Kind == store.ChangeActivityCreated
	}
	if !found {
		t.Errorf("no activity.created for activity %d in the change log", *d.ActivityID)
	}
}
