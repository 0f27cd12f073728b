package crmhook_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/crmhook"
	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

const waitFor = 60 * time.Second

// TestDeliveryEndToEnd: every change reaches every endpoint subscribed to
// its kind, once, signed so that the Standard Webhooks library verifies it,
// with the thin body of DESIGN §11; the cursor ends after the last change
// and a second dispatcher run enqueues nothing.
func TestDeliveryEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		seedCRM(t, st)
		key := testKey(t)
		all, onlyCreated := newReceiver(t), newReceiver(t)
		epAll, secAll := addEndpoint(t, st, key, all.srv.URL+"/hooks", true)
		_, secCreated := addEndpoint(t, st, key, onlyCreated.srv.URL+"/hooks", true, store.ChangeActivityCreated)
		all.setSecret(secAll)
		onlyCreated.setSecret(secCreated)

		recordMail(t, st, 1, 1)
		recordMail(t, st, 2, 1) // the same e-mail in Peter's mailbox: activity.updated
		a2 := recordMail(t, st, 1, 2)
		doc := store.Document{CustomerID: 10, ActivityID: a2, SourceKey: "a:1", Path: "K-10/x.pdf", Name: "x.pdf", Size: 3, SHA256: "abc"}
		if err := st.RecordDocument(ctx, doc); err != nil {
			t.Fatal(err)
		}
		changes := awaitChanges(t, st, store.Cursor{}, 4)

		opt := redisOpt(t)
		m := metrics.New(prometheus.NewRegistry())
		svc := crmhook.New(crmhook.Config{Store: st, Keys: secret.Ring{Current: key}, Queue: newQueue(t, opt), Log: testLog(t), Metrics: m})
		n, err := svc.Dispatch(ctx)
		if err != nil || n != 6 {
			t.Fatalf("Dispatch = %d, %v; want 6 deliveries (4 + 2 activity.created)", n, err)
		}
		stop := startWorker(t, opt, svc, time.Millisecond, 4)
		got := all.await(4, waitFor)
		gotCreated := onlyCreated.await(2, waitFor)
		stop() // waits for the handlers to finish

		byCursor := map[string]delivery{}
		for _, d := range got {
			byCursor[d.Body.Data.Cursor] = d
		}
		for _, c := range changes {
			d, ok := byCursor[c.Cursor.String()]
			if !ok {
				t.Errorf("change %+v not delivered", c)
				continue
			}
			if d.Body.Type != c.Kind || d.Body.Data.ID != c.ActivityID || d.Body.Data.CustomerID != 10 {
				t.Errorf("event %+v for change %+v", d.Body, c)
			}
			if ts, err := time.Parse(time.RFC3339Nano, d.Body.Timestamp); err != nil || !ts.Equal(c.CreatedAt) {
				t.Errorf("timestamp %q; want %s", d.Body.Timestamp, c.CreatedAt)
			}
			if want := c.DocumentID; (want == nil) != (d.Body.Data.DocumentID == nil) || want != nil && *want != *d.Body.Data.DocumentID {
				t.Errorf("%s: document_id %v; want %v", c.Kind, d.Body.Data.DocumentID, want)
			}
			if !strings.HasPrefix(d.ID, "evt_") {
				t.Errorf("webhook-id %q", d.ID)
			}
		}
		for _, d := range gotCreated {
			if d.Body.Type != store.ChangeActivityCreated {
				t.Errorf("an endpoint for activity.created only got %s", d.Body.Type)
			}
			if byCursor[d.Body.Data.Cursor].ID != d.ID {
				t.Errorf("the same change has webhook-id %s at one endpoint and %s at the other", d.ID, byCursor[d.Body.Data.Cursor].ID)
			}
		}
		if cur, err := st.WebhookCursor(ctx); err != nil || cur != changes[3].Cursor {
			t.Errorf("cursor %+v, %v; want %+v", cur, err, changes[3].Cursor)
		}
		if n, err := svc.Dispatch(ctx); n != 0 || err != nil {
			t.Errorf("second Dispatch = %d, %v; want nothing", n, err)
		}
		if got := testutil.ToFloat64(m.CRMWebhookDeliveries.WithLabelValues(crmhook.OutcomeDelivered)); got != 6 {
			t.Errorf("delivered metric = %v; want 6", got)
		}
		ep, err := st.WebhookEndpoint(ctx, epAll.ID)
		if err != nil || ep.LastSuccessAt == nil || ep.FailingSince != nil {
			t.Errorf("endpoint after deliveries: %+v, %v", ep, err)
		}
		all.check()
		onlyCreated.check()
	})
}

// TestEndpointGetsChangesFromItsCreation: the log holds every activity
// since migration 00007; a new endpoint receives what happens after it was
// added, not the history.
func TestEndpointGetsChangesFromItsCreation(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	seedCRM(t, st)
	clock := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	st.SetClock(func() time.Time { return clock })
	recordMail(t, st, 1, 1)
	clock = clock.Add(time.Minute)
	key := testKey(t)
	rcv := newReceiver(t)
	_, sec := addEndpoint(t, st, key, rcv.srv.URL, true)
	rcv.setSecret(sec)
	clock = clock.Add(time.Minute)
	a2 := recordMail(t, st, 1, 2)
	awaitChanges(t, st, store.Cursor{}, 2)
	opt := redisOpt(t)
	svc := crmhook.New(crmhook.Config{Store: st, Keys: secret.Ring{Current: key}, Queue: newQueue(t, opt), Log: testLog(t)})
	if n, err := svc.Dispatch(ctx); n != 1 || err != nil {
		t.Fatalf("Dispatch = %d, %v; want 1", n, err)
	}
	startWorker(t, opt, svc, time.Millisecond, 2)
	if d := rcv.await(1, waitFor)[0]; d.Body.Data.ID != a2 {
		t.Errorf("delivered activity %d; want %d", d.Body.Data.ID, a2)
	}
}

// TestOutageLosesNothing: a receiver that answers 503 to many attempts
// (a long outage, compressed by a tiny retry delay) and then recovers gets
// every event exactly once per webhook-id. Meanwhile the endpoint shows as
// failing, an alert goes out after an hour of failure and clears with a
// recovery mail when deliveries succeed again.
func TestOutageLosesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		seedCRM(t, st)
		key := testKey(t)
		rcv := newReceiver(t)
		ep, sec := addEndpoint(t, st, key, rcv.srv.URL+"/hooks", true)
		rcv.setSecret(sec)
		var down atomic.Bool
		down.Store(true)
		var failedIDs sync.Map
		rcv.setFail(func(id string) int {
			if down.Load() {
				failedIDs.Store(id, true)
				return 503
			}
			return 0
		})
		const events = 30
		for i := range events {
			recordMail(t, st, 1, i)
		}
		awaitChanges(t, st, store.Cursor{}, events)
		opt := redisOpt(t)
		m := metrics.New(prometheus.NewRegistry())
		log, signals := signalLog("endpoint failing", "endpoint recovered")
		svc := crmhook.New(crmhook.Config{Store: st, Keys: secret.Ring{Current: key}, Queue: newQueue(t, opt), Log: log, Metrics: m})
		stop := startWorker(t, opt, svc, 5*time.Millisecond, 8)
		if n, err := svc.Dispatch(ctx); n != events || err != nil {
			t.Fatalf("Dispatch = %d, %v", n, err)
		}
		rcv.awaitFailures(4*events, waitFor)
		signals.await(t, "endpoint failing")

		failing, err := st.WebhookEndpoint(ctx, ep.ID)
		if err != nil || failing.FailingSince == nil || !strings.Contains(failing.LastError, "HTTP 503") {
			t.Fatalf("endpoint during the outage: %+v, %v", failing, err)
		}
		mails := &mailbox{}
		alerter := alert.NewAlerter(st, mails, testLog(t))
		if err := st.SetSetting(ctx, "alert_recipients", "ops@dedesales.de"); err != nil {
			t.Fatal(err)
		}
		since := *failing.FailingSince
		if err := crmhook.CheckAlerts(ctx, st, alerter, since.Add(59*time.Minute), testLog(t)); err != nil || mails.count() != 0 {
			t.Fatalf("after 59 minutes: %d mails, %v; want none", mails.count(), err)
		}
		for range 2 { // the second check sends nothing more
			if err := crmhook.CheckAlerts(ctx, st, alerter, since.Add(61*time.Minute), testLog(t)); err != nil {
				t.Fatal(err)
			}
		}
		if mails.count() != 1 || !strings.Contains(mails.last(), rcv.srv.URL) {
			t.Fatalf("after 61 minutes: %d mails (%q); want one alert naming the URL", mails.count(), mails.last())
		}

		down.Store(false)
		got := rcv.await(events, waitFor)
		signals.await(t, "endpoint recovered")
		stop()
		seen := map[string]bool{}
		for _, d := range got {
			seen[d.ID] = true
		}
		if len(seen) != events {
			t.Errorf("%d distinct events delivered; want %d", len(seen), events)
		}
		failedIDs.Range(func(id, _ any) bool {
			if !seen[id.(string)] {
				t.Errorf("event %s failed and was retried under another webhook-id", id)
			}
			return true
		})
		rcv.check()
		if got := testutil.ToFloat64(m.CRMWebhookDeliveries.WithLabelValues(crmhook.OutcomeDelivered)); got != events {
			t.Errorf("delivered metric = %v; want %d", got, events)
		}
		if got := testutil.ToFloat64(m.CRMWebhookDeliveries.WithLabelValues(crmhook.OutcomeFailed)); got < 4*events {
			t.Errorf("failed metric = %v; want at least %d", got, 4*events)
		}

		recovered, err := st.WebhookEndpoint(ctx, ep.ID)
		if err != nil || recovered.FailingSince != nil || recovered.LastError != "" || recovered.LastSuccessAt == nil {
			t.Fatalf("endpoint after recovery: %+v, %v", recovered, err)
		}
		if err := crmhook.CheckAlerts(ctx, st, alerter, since.Add(2*time.Hour), testLog(t)); err != nil {
			t.Fatal(err)
		}
		if mails.count() != 2 || !strings.Contains(mails.last(), "Entwarnung") && !strings.Contains(mails.last(), "Resolved") {
			t.Errorf("after recovery: %d mails, last %q; want the recovery mail", mails.count(), mails.last())
		}
		if open, err := st.OpenAlerts(ctx); err != nil || len(open) != 0 {
			t.Errorf("open alerts after recovery: %+v, %v", open, err)
		}
	})
}

// mailbox records alert mails (alert.Sender).
type mailbox struct {
	mu    sync.Mutex
	mails []string
}

func (m *mailbox) Send(_ context.Context, _ []string, subject, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mails = append(m.mails, subject+"\n"+body)
	return nil
}

func (m *mailbox) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.mails)
}

func (m *mailbox) last() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.mails) == 0 {
		return ""
	}
	return m.mails[len(m.mails)-1]
}

// crashingStore dies between enqueueing the deliveries and saving the cursor.
type crashingStore struct{ *store.Store }

func (crashingStore) AdvanceWebhookCursor(context.Context, store.Cursor, store.Cursor) (bool, error) {
	return false, errors.New("the process died before saving the cursor")
}

// TestDispatcherCrashSafety: the cursor moves only after the deliveries are
// in Redis. A dispatcher that dies before saving the cursor, or whose Redis
// is down, loses nothing; running it again enqueues nothing twice, even
// after the first deliveries were made, and each event arrives once.
func TestDispatcherCrashSafety(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		seedCRM(t, st)
		key := testKey(t)
		rcv := newReceiver(t)
		_, sec := addEndpoint(t, st, key, rcv.srv.URL, true)
		rcv.setSecret(sec)
		for i := range 20 {
			recordMail(t, st, 1, i)
		}
		awaitChanges(t, st, store.Cursor{}, 20)
		opt := redisOpt(t)
		q := newQueue(t, opt)
		crashed := crmhook.New(crmhook.Config{Store: crashingStore{st}, Keys: secret.Ring{Current: key}, Queue: q, Log: testLog(t), PageSize: 7})
		if n, err := crashed.Dispatch(ctx); err == nil || n != 7 {
			t.Fatalf("crashing Dispatch = %d, %v; want the first page enqueued and an error", n, err)
		}
		if cur, _ := st.WebhookCursor(ctx); cur != (store.Cursor{}) {
			t.Fatalf("cursor %+v moved although saving it failed", cur)
		}

		svc := crmhook.New(crmhook.Config{Store: st, Keys: secret.Ring{Current: key}, Queue: q, Log: testLog(t), PageSize: 7})
		startWorker(t, opt, svc, time.Millisecond, 4)
		rcv.await(7, waitFor) // the first page is delivered before the dispatcher runs again
		if n, err := svc.Dispatch(ctx); err != nil || n != 13 {
			t.Fatalf("Dispatch after the crash = %d, %v; want only the 13 not enqueued before", n, err)
		}
		rcv.await(13, waitFor)
		last, err := st.WebhookCursor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A cursor put back (a restored backup) re-enqueues nothing delivered within Retention.
		if ok, err := st.AdvanceWebhookCursor(ctx, last, store.Cursor{}); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if n, err := svc.Dispatch(ctx); err != nil || n != 0 {
			t.Fatalf("Dispatch from the start again = %d, %v; want 0", n, err)
		}

		// Redis down: the enqueue fails, the cursor stays, nothing is lost.
		for i := range 3 {
			recordMail(t, st, 1, 100+i)
		}
		before, _ := st.WebhookCursor(ctx)
		awaitChanges(t, st, before, 3)
		deadRedis := asynq.NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: time.Second})
		defer deadRedis.Close()
		down := crmhook.New(crmhook.Config{Store: st, Keys: secret.Ring{Current: key}, Queue: deadRedis, Log: testLog(t)})
		if n, err := down.Dispatch(ctx); err == nil || n != 0 {
			t.Fatalf("Dispatch with Redis down = %d, %v; want an error", n, err)
		}
		if cur, _ := st.WebhookCursor(ctx); cur != before {
			t.Fatalf("cursor moved from %+v to %+v although nothing was enqueued", before, cur)
		}
		if n, err := svc.Dispatch(ctx); err != nil || n != 3 {
			t.Fatalf("Dispatch with Redis back = %d, %v; want 3", n, err)
		}
		rcv.await(3, waitFor)
		rcv.check()
		select {
		case d := <-rcv.delivered:
			t.Errorf("an extra delivery: %+v", d)
		default:
		}
	})
}

// TestRemovedEndpointDropsItsEvents: deliveries queued for an endpoint that
// is removed are dropped, not retried.
func TestRemovedEndpointDropsItsEvents(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	seedCRM(t, st)
	key := testKey(t)
	rcv := newReceiver(t)
	ep, sec := addEndpoint(t, st, key, rcv.srv.URL, true)
	rcv.setSecret(sec)
	recordMail(t, st, 1, 1)
	awaitChanges(t, st, store.Cursor{}, 1)
	opt := redisOpt(t)
	m := metrics.New(prometheus.NewRegistry())
	svc := crmhook.New(crmhook.Config{Store: st, Keys: secret.Ring{Current: key}, Queue: newQueue(t, opt), Log: testLog(t), Metrics: m})
	if n, err := svc.Dispatch(ctx); n != 1 || err != nil {
		t.Fatalf("Dispatch = %d, %v", n, err)
	}
	if err := st.RemoveWebhookEndpoint(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	log, signals := signalLog("event dropped")
	svc = crmhook.New(crmhook.Config{Store: st, Keys: secret.Ring{Current: key}, Queue: newQueue(t, opt), Metrics: m, Log: log})
	startWorker(t, opt, svc, time.Millisecond, 1)
	signals.await(t, "event dropped")
	if got := testutil.ToFloat64(m.CRMWebhookDeliveries.WithLabelValues(crmhook.OutcomeDropped)); got != 1 {
		t.Errorf("dropped metric = %v; want 1", got)
	}
	if rcv.failures != 0 || len(rcv.accepted) != 0 {
		t.Errorf("the removed endpoint's receiver was called")
	}
}

// signalHandler is a slog.Handler that signals on ch[msg] when a record's
// message contains msg (the webhooks log after the store write they report).
type signalHandler map[string]chan struct{}

func signalLog(msgs ...string) (*slog.Logger, signalHandler) {
	h := signalHandler{}
	for _, m := range msgs {
		h[m] = make(chan struct{}, 1)
	}
	return slog.New(h), h
}

// await waits for a record with msg.
func (h signalHandler) await(t testing.TB, msg string) {
	t.Helper()
	select {
	case <-h[msg]:
	case <-time.After(waitFor):
		t.Fatalf("no log record %q within %s", msg, waitFor)
	}
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	for msg, ch := range h {
		if strings.Contains(r.Message, msg) {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

// TestTickerDispatches: with the worker's ticker running, a new change
// reaches the CRM without anybody calling Dispatch, within seconds.
func TestTickerDispatches(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	seedCRM(t, st)
	key := testKey(t)
	rcv := newReceiver(t)
	_, sec := addEndpoint(t, st, key, rcv.srv.URL, true)
	rcv.setSecret(sec)
	opt := redisOpt(t)
	q := newQueue(t, opt)
	svc := crmhook.New(crmhook.Config{Store: st, Keys: secret.Ring{Current: key}, Queue: q, Log: testLog(t)})
	startWorker(t, opt, svc, time.Millisecond, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		crmhook.RunTicker(ctx, q, 100*time.Millisecond, "default", testLog(t))
	}()
	defer func() { cancel(); <-done }()

	start := time.Now()
	id := recordMail(t, st, 1, 1)
	if d := rcv.await(1, waitFor)[0]; d.Body.Data.ID != id {
		t.Errorf("delivered %+v; want activity %d", d.Body, id)
	}
	t.Logf("activity stored → webhook delivered: %s", time.Since(start)) // measured, not asserted
	if err := crmhook.Trigger(context.Background(), q, "default"); err != nil {
		t.Errorf("Trigger: %v", err)
	}
	rcv.check()
}

// TestSecretUnderAnotherKey: a worker without the master key an endpoint's
// secret was sealed under sends nothing and shows why on the endpoint.
func TestSecretUnderAnotherKey(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	seedCRM(t, st)
	rcv := newReceiver(t)
	ep, sec := addEndpoint(t, st, testKey(t), rcv.srv.URL, true)
	rcv.setSecret(sec)
	recordMail(t, st, 1, 1)
	awaitChanges(t, st, store.Cursor{}, 1)
	other, err := secret.NewKey([]byte(strings.Repeat("k", secret.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	opt := redisOpt(t)
	log, signals := signalLog("endpoint failing")
	svc := crmhook.New(crmhook.Config{Store: st, Keys: secret.Ring{Current: other}, Queue: newQueue(t, opt), Log: log})
	if n, err := svc.Dispatch(context.Background()); n != 1 || err != nil {
		t.Fatalf("Dispatch = %d, %v", n, err)
	}
	startWorker(t, opt, svc, time.Hour, 1)
	signals.await(t, "endpoint failing")
	got, err := st.WebhookEndpoint(context.Background(), ep.ID)
	if err != nil || got.FailingSince == nil || !strings.Contains(got.LastError, "different master key") {
		t.Errorf("endpoint %+v, %v; want failing because of the key", got, err)
	}
	if len(rcv.accepted) != 0 || rcv.failures != 0 {
		t.Error("the receiver was called")
	}
}
