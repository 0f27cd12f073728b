package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/documents"
	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/dedesales/exchange-connector/internal/testenv"
)

// fakeGraph serves messages from memory and counts every request.
type fakeGraph struct {
	mu       sync.Mutex
	messages map[string]model.Message
	requests atomic.Int64
}

func (g *fakeGraph) put(m model.Message) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.messages[m.ID] = m
}

func (g *fakeGraph) Message(_ context.Context, _, id string) (*model.Message, error) {
	g.requests.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.messages[id]
	if !ok {
		return nil, &grapherr.Error{Kind: grapherr.ErrNotFound, Op: "message " + id}
	}
	return &m, nil
}

func (g *fakeGraph) FolderTree(context.Context, string) ([]model.MailFolder, error) {
	g.requests.Add(1)
	return []model.MailFolder{
		{ID: "root", WellKnownName: "msgfolderroot"},
		{ID: "inbox", ParentID: "root", WellKnownName: "inbox", DisplayName: "Inbox"},
		{ID: "sent", ParentID: "root", WellKnownName: "sentitems", DisplayName: "Sent Items"},
		{ID: "junk", ParentID: "root", WellKnownName: "junkemail", DisplayName: "Junk"},
	}, nil
}

var errUnused = errors.New("not used by these tests")

func (g *fakeGraph) Delta(context.Context, string, string, string, time.Time) (model.DeltaPage, error) {
	return model.DeltaPage{}, errUnused
}
func (g *fakeGraph) ListReceived(context.Context, string, string, string, time.Time, time.Time) (model.DeltaPage, error) {
	return model.DeltaPage{}, errUnused
}
func (g *fakeGraph) CreateSubscription(context.Context, model.Subscription) (model.Subscription, error) {
	return model.Subscription{}, errUnused
}
func (g *fakeGraph) RenewSubscription(context.Context, string, time.Time) (model.Subscription, error) {
	return model.Subscription{}, errUnused
}
func (g *fakeGraph) ReauthorizeSubscription(context.Context, string) error { return errUnused }
func (g *fakeGraph) DeleteSubscription(context.Context, string) error      { return errUnused }

// taskQueue records enqueued tasks, for the test to run.
type taskQueue struct {
	mu    sync.Mutex
	tasks []*asynq.Task
}

func (q *taskQueue) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, t)
	return &asynq.TaskInfo{}, nil
}

// take removes and returns the queued tasks of a type.
func (q *taskQueue) take(typ string) []*asynq.Task {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out, rest []*asynq.Task
	for _, t := range q.tasks {
		if t.Type() == typ {
			out = append(out, t)
		} else {
			rest = append(rest, t)
		}
	}
	q.tasks = rest
	return out
}

const (
	anna      = "anna.berger@dedenet.de"
	newSender = "neu@firma-b.example"
)

// rematchFixture is a store with a CRM, a mailbox and a processor on a fake Graph.
type rematchFixture struct {
	st    *store.Store
	graph *fakeGraph
	queue *taskQueue
	p     *Handlers
	now   time.Time
}

func newRematchFixture(t testing.TB, st *store.Store) *rematchFixture {
	t.Helper()
	ctx := context.Background()
	crm := &crmfile.File{
		Employees: []model.Employee{
			{ID: 1, Name: "Anna Berger", Email: anna, ExchangeMailbox: ptr(anna), Active: true},
			{ID: 2, Name: "Peter Kraus", Email: "peter.kraus@dedenet.de", ExchangeMailbox: ptr("peter.kraus@dedenet.de"), Active: true},
		},
		Customers: []model.Customer{
			{ID: 10, Number: "10001", Name: "Schulz Technik", Email: "info@schulz-technik.com"},
			{ID: 30, Number: "30001", Name: "Newsletter-Kunde", Email: "info@newsletter-versand.de"},
		},
		Leads: []model.Lead{{ID: 900, CustomerID: 30, Title: "Abo", Status: model.LeadInProgress, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}},
		Settings: map[string]json.RawMessage{
			"ignored_domains": json.RawMessage(`["newsletter-versand.de"]`),
			"own_domains":     json.RawMessage(`["dedenet.de", "tochter.example"]`),
		},
	}
	if _, err := st.ImportCRM(ctx, crm); err != nil {
		t.Fatal(err)
	}
	// Notifications are accepted only for the mailbox's stored subscription.
	if err := st.SaveSubscription(ctx, 1, model.Subscription{ID: "sub", Resource: "/users/" + anna + "/messages",
		ExpiresAt: time.Now().Add(72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	docs, err := documents.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &rematchFixture{st: st, graph: &fakeGraph{messages: map[string]model.Message{}}, queue: &taskQueue{},
		now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	st.SetClock(func() time.Time { return f.now })
	f.p = NewHandlers(Deps{Store: st, Graph: f.graph, Enqueuer: f.queue, Documents: docs,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return f.now }})
	return f
}

func ptr[T any](v T) *T { return &v }

// deliver stores a message in the fake mailbox and processes it as a
// notification would.
func (f *rematchFixture) deliver(t *testing.T, m model.Message) {
	t.Helper()
	f.graph.put(m)
	task, err := queue.NewProcessMessageTask(queue.ProcessMessagePayload{EmployeeID: 1, MessageID: m.ID, SubscriptionID: "sub", NotifiedAt: f.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.p.Message.ProcessTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
}

// rematch runs a rematch request and the imports it queued; it returns how
// many it queued.
func (f *rematchFixture) rematch(t *testing.T, cause string) int {
	t.Helper()
	ctx := context.Background()
	r := &Rematcher{Enqueuer: f.queue, Now: func() time.Time { return f.now }}
	if err := r.RequestRematch(ctx, cause); err != nil {
		t.Fatal(err)
	}
	tasks := f.queue.take(TypeRematch)
	if len(tasks) != 1 {
		t.Fatalf("%d rematch tasks queued, want 1", len(tasks))
	}
	before := f.graph.requests.Load()
	if err := f.p.Rematch.ProcessTask(ctx, tasks[0]); err != nil {
		t.Fatal(err)
	}
	if n := f.graph.requests.Load() - before; n != 0 {
		t.Errorf("the rematch scan made %d Graph requests, want none", n)
	}
	imports := f.queue.take(TypeRematchMessage)
	for _, task := range imports {
		if err := f.p.RematchMessage.ProcessTask(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	return len(imports)
}

func (f *rematchFixture) decision(t *testing.T, messageID string) store.Decision {
	t.Helper()
	ds, err := f.st.DecisionsFor(context.Background(), messageID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("decisions of %s: %v %v", messageID, ds, err)
	}
	return ds[0]
}

func inbound(id, from string) model.Message {
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	return model.Message{ID: id, InternetMessageID: "<" + id + "@x>", ParentFolderID: "inbox", Subject: "Anfrage " + id,
		From: &model.Recipient{EmailAddress: model.EmailAddress{Address: from}}, ToRecipients: []model.Recipient{{EmailAddress: model.EmailAddress{Address: anna}}},
		ReceivedDateTime: &at, SentDateTime: &at, HasAttachments: true}
}

// TestRematchAfterNewContact: a no_match mail becomes an activity (with its
// lead and the filing of its attachments) once its sender is a contact;
// other decisions are left alone; a second run imports nothing twice.
func TestRematchAfterNewContact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newRematchFixture(t, st)
		// Outside the window: decided 40 days ago (backfill_days is 30).
		f.now = f.now.AddDate(0, 0, -40)
		f.deliver(t, inbound("old", newSender))
		f.now = f.now.AddDate(0, 0, 40)
		f.deliver(t, inbound("new", newSender))
		f.deliver(t, inbound("other", "someone@elsewhere.example"))
		junk := inbound("junk", newSender)
		junk.ParentFolderID = "junk"
		f.deliver(t, junk)
		f.queue.take(queue.TypeFileAttachments)
		for id, want := range map[string]string{"old": match.ReasonNoMatch, "new": match.ReasonNoMatch, "junk": match.ReasonExcludedFolder} {
			if got := f.decision(t, id).Reason; got != want {
				t.Fatalf("%s: reason %s, want %s", id, got, want)
			}
		}
		// Nothing changed yet: nothing to import.
		if n := f.rematch(t, "nothing"); n != 0 {
			t.Fatalf("rematch without a change queued %d imports", n)
		}
		// The CRM adds the sender as a contact.
		crm := &crmfile.File{
			Customers: []model.Customer{{ID: 20, Number: "20001", Name: "Firma B", Email: "zentrale@firma-b.example"}},
			Contacts:  []model.Contact{{ID: 200, CustomerID: 20, Name: "Neu", Email: "Neu@Firma-B.example"}},
			Leads:     []model.Lead{{ID: 201, CustomerID: 20, Title: "Erstkontakt", Status: model.LeadInProgress, CreatedAt: f.now}},
		}
		if _, err := st.ImportCRM(ctx, crm); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(time.Minute)
		if n := f.rematch(t, "import crm.json"); n != 1 {
			t.Fatalf("rematch queued %d imports, want 1", n)
		}
		d := f.decision(t, "new")
		if d.Outcome != match.OutcomeImported || d.ContactID == nil || *d.ContactID != 200 || d.LeadID == nil || *d.LeadID != 201 || d.ActivityID == nil {
			t.Fatalf("decision after the rematch: %+v", d)
		}
		last := d.History[len(d.History)-1]
		if last.Kind != store.EventRetroactive {
			t.Fatalf("history: %+v", d.History)
		}
		if detail := last.ParsedDetail(); detail.Cause != "import crm.json at 2026-11-29T12:01:00Z" || detail.FromReason != match.ReasonNoMatch {
			t.Errorf("retroactive event: %+v", detail)
		}
		// The attachments are filed like those of new mail.
		if files := f.queue.take(queue.TypeFileAttachments); len(files) != 1 {
			t.Errorf("%d filing tasks, want 1", len(files))
		}
		for id, want := range map[string]string{"old": match.ReasonNoMatch, "other": match.ReasonNoMatch, "junk": match.ReasonExcludedFolder} {
			if got := f.decision(t, id); got.Reason != want || len(got.History) != 1 {
				t.Errorf("%s was touched: %s, %d events", id, got.Reason, len(got.History))
			}
		}
		// Running again imports nothing twice, and so does the import task run twice.
		if n := f.rematch(t, "import crm.json again"); n != 0 {
			t.Errorf("second rematch queued %d imports", n)
		}
		task, _ := NewRematchMessageTask(RematchMessagePayload{EmployeeID: 1, MessageID: "new", Cause: "import crm.json", Requested: f.now})
		if err := f.p.RematchMessage.ProcessTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		if a, _, _ := st.ActivityCount(ctx); a != 1 {
			t.Errorf("%d activities, want 1", a)
		}
		if h := f.decision(t, "new").History; len(h) != len(d.History) {
			t.Errorf("history grew on a repeated task: %d → %d events", len(d.History), len(h))
		}
	})
}

// TestRematchAfterSettingsChange: removing an ignored domain imports the
// ignored_domain decisions that now match; changing own_domains imports an
// internal one (decided again from its raw candidates).
func TestRematchAfterSettingsChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newRematchFixture(t, st)
		f.deliver(t, inbound("news", "info@newsletter-versand.de"))
		sent := inbound("subsidiary", anna)
		sent.ParentFolderID = "sent"
		sent.ToRecipients = []model.Recipient{{EmailAddress: model.EmailAddress{Address: "team@tochter.example"}}}
		f.deliver(t, sent)
		if r := f.decision(t, "news").Reason; r != match.ReasonIgnoredDomain {
			t.Fatalf("news: %s", r)
		}
		if r := f.decision(t, "subsidiary").Reason; r != match.ReasonInternal {
			t.Fatalf("subsidiary: %s", r)
		}
		if err := st.SetSetting(ctx, "ignored_domains", "[]"); err != nil {
			t.Fatal(err)
		}
		if n := f.rematch(t, "settings set ignored_domains"); n != 1 {
			t.Fatalf("rematch queued %d imports, want 1", n)
		}
		if d := f.decision(t, "news"); d.Outcome != match.OutcomeImported || *d.CustomerID != 30 || d.LeadID == nil || *d.LeadID != 900 {
			t.Errorf("news after the rematch: %+v", d)
		}
		// The subsidiary becomes a customer of its own.
		if err := st.SetSetting(ctx, "own_domains", "dedenet.de"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ImportCRM(ctx, &crmfile.File{Customers: []model.Customer{{ID: 40, Number: "40001", Name: "Tochter", Email: "info@tochter.example"}}}); err != nil {
			t.Fatal(err)
		}
		if n := f.rematch(t, "settings set own_domains"); n != 1 {
			t.Fatalf("rematch queued %d imports, want 1", n)
		}
		d := f.decision(t, "subsidiary")
		if d.Outcome != match.OutcomeImported || *d.CustomerID != 40 || d.Direction != match.DirectionOutbound {
			t.Errorf("subsidiary after the rematch: %+v", d)
		}
		if last := d.History[len(d.History)-1].ParsedDetail(); last.FromReason != match.ReasonInternal {
			t.Errorf("history: %+v", last)
		}
	})
}

// TestPlanRematchWritesNothing: the plan (what `connector rematch --dry-run`
// prints) names the decisions that now match and changes nothing.
func TestPlanRematchWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newRematchFixture(t, st)
		f.deliver(t, inbound("new", newSender))
		if _, err := st.ImportCRM(ctx, &crmfile.File{Customers: []model.Customer{{ID: 20, Number: "20001", Name: "Firma B", Email: "zentrale@firma-b.example"}}}); err != nil {
			t.Fatal(err)
		}
		before := f.decision(t, "new")
		var hits []RematchHit
		stats, err := PlanRematch(ctx, st, f.now.AddDate(0, 0, -30), func(h RematchHit) error { hits = append(hits, h); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if stats.Scanned != 1 || stats.Matched != 1 || len(hits) != 1 || hits[0].Now.Rule != match.RuleCustomerDomain || *hits[0].Now.CustomerID != 20 {
			t.Fatalf("plan: %+v %+v", stats, hits)
		}
		after := f.decision(t, "new")
		if after.Outcome != before.Outcome || len(after.History) != len(before.History) || len(f.queue.tasks) != 0 {
			t.Errorf("the plan wrote: %+v, %d tasks", after, len(f.queue.tasks))
		}
	})
}

// TestRematchDebounce: requests within a window are one task in Redis,
// run when the window ends; a request in the next window is a task of its own.
func TestRematchDebounce(t *testing.T) {
	opt := testenv.Redis(t, testenv.RedisDBJobs)
	redis := asynq.RedisClientOpt{Addr: opt.Addr, Password: opt.Password, DB: opt.DB}
	client := asynq.NewClient(redis)
	defer client.Close()
	inspector := asynq.NewInspector(redis)
	defer inspector.Close()
	// In the next window, so that the task is scheduled, not due.
	start := time.Now().UTC().Truncate(15 * time.Second).Add(15 * time.Second)
	now := start.Add(time.Second)
	r := &Rematcher{Enqueuer: client, Window: 15 * time.Second, Now: func() time.Time { return now }}
	ctx := context.Background()
	for i, cause := range []string{"contact 1 saved", "contact 2 saved", "contact 3 saved"} {
		now = now.Add(time.Duration(i) * 4 * time.Second)
		if err := r.RequestRematch(ctx, cause); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := inspector.ListScheduledTasks(queue.QueueDefault)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].Type != TypeRematch {
		t.Fatalf("%d scheduled tasks after three requests in one window, want 1 rematch", len(tasks))
	}
	var pl RematchPayload
	if err := json.Unmarshal(tasks[0].Payload, &pl); err != nil || pl.Cause != "contact 1 saved" {
		t.Errorf("payload %+v %v", pl, err)
	}
	if want := start.Add(15 * time.Second); !tasks[0].NextProcessAt.Equal(want) {
		t.Errorf("runs at %v, want the end of the window %v", tasks[0].NextProcessAt, want)
	}
	now = now.Add(15 * time.Second)
	if err := r.RequestRematch(ctx, "contact 4 saved"); err != nil {
		t.Fatal(err)
	}
	if tasks, _ := inspector.ListScheduledTasks(queue.QueueDefault); len(tasks) != 2 {
		t.Errorf("%d scheduled tasks after a request in the next window, want 2", len(tasks))
	}
}
