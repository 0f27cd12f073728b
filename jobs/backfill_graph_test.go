package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/graph"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// These tests run the sync and message handlers through the real Graph
// client against the simulator, which behaves as Graph does where the
// scripted fakes cannot: a filtered delta returns at most 5,000 messages in
// arbitrary order, $expand works on delta.

const (
	simTenant = "84bd8158-6d4d-4958-8b9f-9d6445542f95"
	simClient = "11111111-2222-3333-4444-555555555555"
	simSecret = "good~secret.value"
	annaAddr  = "anna@firma.example"
)

func startGraphSim(t testing.TB) (*graphsim.Running, *graph.Client) {
	t.Helper()
	sim, err := graphsim.Start("", graphsim.Options{TenantID: simTenant, ClientID: simClient, ClientSecret: simSecret,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if _, err := sim.AddUser(graphsim.UserInput{DisplayName: "Anna", Mail: annaAddr, UserPrincipalName: annaAddr}); err != nil {
		t.Fatal(err)
	}
	return sim, newSimClient(t, sim, 0)
}

// newSimClient is a Graph client of the simulator asking for pages of
// pageSize (0: the client's default).
func newSimClient(t testing.TB, sim *graphsim.Running, pageSize int) *graph.Client {
	t.Helper()
	caFile := t.TempDir() + "/ca.pem"
	if err := sim.CA.WriteFile(caFile); err != nil {
		t.Fatal(err)
	}
	c, err := graph.New(graph.Config{
		Credentials:  graph.Fixed{TenantID: simTenant, ClientID: simClient, Secrets: []graph.Secret{{ID: 1, Value: simSecret}}},
		AuthorityURL: sim.URL, GraphURL: sim.GraphURL(), ExtraCAFile: caFile, DeltaPageSize: pageSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// largeFolder puts inWindow messages received within the last 364 days and
// older messages received 366 to 700 days ago into Anna's inbox, and
// returns the IDs of those in the window.
func largeFolder(t testing.TB, sim *graphsim.Running, inWindow, older int) []string {
	t.Helper()
	no := false
	now := sim.Now()
	ids := make([]string, 0, inWindow)
	for i := range inWindow + older {
		age := time.Duration(i%364)*24*time.Hour + time.Duration(i)*time.Second
		if i >= inWindow {
			age = time.Duration(366+i%334)*24*time.Hour + time.Duration(i)*time.Second
		}
		m, err := sim.CreateMessage(graphsim.MessageInput{Mailbox: annaAddr, Folder: "inbox", Notify: &no, Message: map[string]any{
			"subject":          fmt.Sprintf("Mail %d", i),
			"receivedDateTime": now.Add(-age).UTC().Format(time.RFC3339),
			"from":             map[string]any{"emailAddress": map[string]any{"address": fmt.Sprintf("k%d@kunde%d.example", i%7, i%500)}},
			"body":             map[string]any{"contentType": "text", "content": "Sehr geehrte Damen und Herren, anbei das Angebot."},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if i < inWindow {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

func syncTask(t testing.TB) *asynq.Task {
	t.Helper()
	task, err := queue.NewSyncMailboxTask(queue.SyncMailboxPayload{EmployeeID: 1, Reason: "backfill"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// A folder with 12,000 messages in the backfill window (and 20,000 older
// ones) is backfilled completely, although a filtered delta round returns
// only 5,000 of them; the round's delta link then tracks new mail. Fails
// on a sync that trusts the filtered round.
func TestBackfillAboveFilteredDeltaCap(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("32,000 messages: too slow under -short or -race")
	}
	sim, c := startGraphSim(t)
	want := largeFolder(t, sim, 12000, 20000)
	s := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	h := newTestHandlers(t, s, Deps{Graph: c, Enqueuer: &taskQueue{}})
	if err := s.SetSetting(ctx, "backfill_days", "365"); err != nil {
		t.Fatal(err)
	}
	if err := h.Sync.ProcessTask(ctx, syncTask(t)); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, id := range want {
		if ds, err := s.DecisionsFor(ctx, id); err != nil || len(ds) != 1 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d messages in the backfill window have no (or not one) decision", missing, len(want))
	}
	if n := decisionCount(t, s); n != len(want) {
		t.Errorf("%d decisions, want %d (the window, nothing older)", n, len(want))
	}

	// The stored delta link follows the folder from here on.
	m, err := sim.CreateMessage(graphsim.MessageInput{Mailbox: annaAddr, Folder: "inbox", Notify: new(bool),
		Message: map[string]any{"subject": "new", "from": map[string]any{"emailAddress": map[string]any{"address": customerAddress}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Sync.ProcessTask(ctx, syncTask(t)); err != nil {
		t.Fatal(err)
	}
	decision(t, s, m.ID)
	if n := strings.Count(h.log.String(), "listing the backfill window"); n != 1 {
		t.Errorf("the window was listed %d times, want once (the first round only):\n%s", n, h.log.String())
	}
}

func decisionCount(t testing.TB, s *store.Store) int {
	t.Helper()
	counts, err := s.MailboxDecisionCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range counts {
		n += c.N
	}
	return n
}

// BenchmarkBackfillLargeFolder is the first sync of a mailbox whose inbox
// holds 12,000 messages in a 365-day window and 20,000 older ones, through
// the real client against the simulator with 20 ms latency per request, at
// the client's default page size (500) and at Graph's maximum (1000).
// It reports the Graph requests of that sync, those of the next
// (incremental) sync, which are the folder tree and one round per folder,
// and so the requests spent on the inbox's window ("window-requests" =
// requests - next-sync-requests + 1); compare these with the least any
// correct backfill needs for the window: one request per full page,
// ceil(12,000 / page size).
//
//	go test -run '^$' -bench BackfillLargeFolder -benchtime 1x ./jobs/
func BenchmarkBackfillLargeFolder(b *testing.B) {
	sim, _ := startGraphSim(b)
	largeFolder(b, sim, 12000, 20000)
	sim.SetFaults(graphsim.Faults{LatencyMS: 20})
	ctx := context.Background()
	for _, pageSize := range []int{500, 1000} {
		b.Run(fmt.Sprintf("page=%d", pageSize), func(b *testing.B) {
			c := newSimClient(b, sim, pageSize)
			for range b.N {
				b.StopTimer()
				s := storetest.Open(b, store.SQLite)
				h := newTestHandlers(b, s, Deps{Graph: c, Enqueuer: &taskQueue{}})
				if err := s.SetSetting(ctx, "backfill_days", "365"); err != nil {
					b.Fatal(err)
				}
				before := sim.State().Requests.Graph
				b.StartTimer()
				start := time.Now()
				if err := h.Sync.ProcessTask(ctx, syncTask(b)); err != nil {
					b.Fatal(err)
				}
				elapsed := time.Since(start)
				b.StopTimer()
				first := sim.State().Requests.Graph - before
				if err := h.Sync.ProcessTask(ctx, syncTask(b)); err != nil {
					b.Fatal(err)
				}
				next := sim.State().Requests.Graph - before - first
				if n := decisionCount(b, s); n != 12000 {
					b.Fatalf("%d decisions, want 12000", n)
				}
				b.ReportMetric(elapsed.Seconds(), "s/backfill")
				b.ReportMetric(float64(first), "requests")
				b.ReportMetric(float64(next), "next-sync-requests")
				b.ReportMetric(float64(first-next+1), "window-requests")
				b.ReportMetric(math.Ceil(12000/float64(pageSize)), "window-min-requests")
				b.StartTimer()
			}
		})
	}
}

// A mail from an X.500 sender (an Exchange-internal address; the SMTP
// address is in PidTagSentRepresentingSmtpAddress 0x5D02 or
// PidTagSenderSmtpAddress 0x5D01) gets the same decision whether it arrives
// by notification (GET) or by backfill (delta). Fails when delta does not
// expand the extended properties.
func TestX500SenderSameDecisionOnBothPaths(t *testing.T) {
	const x500 = "/O=EXCHANGELABS/OU=EXCHANGE ADMINISTRATIVE GROUP (FYDIBOHF23SPDLT)/CN=RECIPIENTS/CN=4B2C-SCHULZ"
	ext := func(id, v string) map[string]any { return map[string]any{"id": id, "value": v} }
	x500From := map[string]any{"emailAddress": map[string]any{"name": "Sabine Schulz", "address": x500}}
	msgs := map[string]map[string]any{
		"from 0x5D02": {"from": x500From, "sender": x500From,
			"singleValueExtendedProperties": []any{ext("String 0x5D02", customerAddress), ext("String 0x5D01", customerAddress)}},
		"sender 0x5D01 only": {"from": x500From, "sender": x500From,
			"singleValueExtendedProperties": []any{ext("String 0x5D01", customerAddress)}},
		"unknown SMTP": {"from": x500From,
			"singleValueExtendedProperties": []any{ext("String 0x5D02", "someone@elsewhere.example")}},
		"SMTP sender": {"from": map[string]any{"emailAddress": map[string]any{"address": customerAddress}}},
	}
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			sim, c := startGraphSim(t)
			ctx := context.Background()
			ids := map[string]string{}
			for name, m := range msgs {
				m["subject"] = name
				created, err := sim.CreateMessage(graphsim.MessageInput{Mailbox: annaAddr, Folder: "inbox", Notify: new(bool), Message: m})
				if err != nil {
					t.Fatal(err)
				}
				ids[name] = created.ID
			}
			notified, backfilled := storetest.Open(t, dialect), storetest.Open(t, dialect)
			for _, s := range []*store.Store{notified, backfilled} {
				withCustomer(t, s)
			}
			hn := newTestHandlers(t, notified, Deps{Graph: c, Enqueuer: &taskQueue{}})
			hb := newTestHandlers(t, backfilled, Deps{Graph: c, Enqueuer: &taskQueue{}})
			for _, id := range ids {
				if err := hn.Message.ProcessTask(ctx, messageTask(t, id)); err != nil {
					t.Fatal(err)
				}
			}
			if err := hb.Sync.ProcessTask(ctx, syncTask(t)); err != nil {
				t.Fatal(err)
			}
			for name, id := range ids {
				n, b := decision(t, notified, id), decision(t, backfilled, id)
				got := func(d store.Decision) string {
					return fmt.Sprintf("%s/%s/%s matched=%s customer=%v contact=%v", d.Outcome, d.Reason, d.Rule, d.MatchedAddress, deref(d.CustomerID), deref(d.ContactID))
				}
				if got(n) != got(b) {
					t.Errorf("%s: notified %s, backfilled %s", name, got(n), got(b))
				}
				if name == "from 0x5D02" && n.Outcome != "imported" {
					t.Errorf("%s: %s, want imported", name, got(n))
				}
			}
		})
	}
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// listWindow pages by receivedDateTime; when one instant fills more than a
// page it follows the nextLink, and it imports every message of the window
// once.
func TestListWindowTiesAndBounds(t *testing.T) {
	sim, _ := startGraphSim(t)
	c := newSimClient(t, sim, 100)
	no := false
	now := sim.Now().UTC().Truncate(time.Second)
	var want []string
	for i := range 600 {
		at := now.Add(-time.Hour) // 250 at one instant: more than two pages
		if i >= 250 {
			at = now.Add(-time.Duration(i/3) * time.Minute) // three per instant
		}
		if i >= 500 {
			at = now.Add(-48 * time.Hour) // before the window
		}
		m, err := sim.CreateMessage(graphsim.MessageInput{Mailbox: annaAddr, Folder: "inbox", Notify: &no,
			Message: map[string]any{"subject": fmt.Sprint(i), "receivedDateTime": at.Format(time.RFC3339)}})
		if err != nil {
			t.Fatal(err)
		}
		if i < 500 {
			want = append(want, m.ID)
		}
	}
	s := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	h := newTestHandlers(t, s, Deps{Graph: c, Enqueuer: &taskQueue{}})
	mb, err := s.MailboxByEmployee(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := h.Sync.folders.refresh(ctx, mb)
	if err != nil {
		t.Fatal(err)
	}
	var inbox store.Folder
	for _, f := range tree {
		if f.DisplayName == "Inbox" {
			inbox = f
		}
	}
	n, err := h.Sync.listWindow(ctx, mb, inbox, now.Add(-24*time.Hour), time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Errorf("imported %d, want %d (each message of the window once)", n, len(want))
	}
	for _, id := range want {
		decision(t, s, id)
	}
	if got := decisionCount(t, s); got != len(want) {
		t.Errorf("%d decisions, want %d", got, len(want))
	}
}

// roundOrder bounds the listing by the oldest message of a newest-first
// round, and gives no bound when the round was not in that order.
func TestRoundOrder(t *testing.T) {
	at := func(id string, minutes int) *model.Message {
		ts := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(minutes) * time.Minute)
		return &model.Message{ID: id, ReceivedDateTime: &ts}
	}
	var o roundOrder
	for _, m := range []*model.Message{at("a", 10), at("b", 5), at("c", 1), at("d", 1)} {
		o.see(m)
	}
	until, seen := o.rest()
	if !until.Equal(*at("", 1).ReceivedDateTime) || len(seen) != 2 || !seen["c"] || !seen["d"] {
		t.Errorf("ordered round: until %v, seen %v; want 12:01 and c, d", until, seen)
	}
	o.see(at("e", 3)) // newer after older
	if until, seen := o.rest(); !until.IsZero() || seen != nil {
		t.Errorf("unordered round: until %v, seen %v; want no bound", until, seen)
	}
	var none roundOrder
	none.see(&model.Message{ID: "x"})
	if until, _ := none.rest(); !until.IsZero() {
		t.Errorf("round without receivedDateTime: until %v, want no bound", until)
	}
}
