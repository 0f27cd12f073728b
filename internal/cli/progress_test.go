package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/dedesales/exchange-connector/internal/testenv"
)

// lineWriter collects what a command writes while it runs and lets the
// test await a text in it.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func newLineWriter() *lineWriter { return &lineWriter{wrote: make(chan struct{}, 1)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return w.buf.Write(p)
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// await returns once the output contains want; the failsafe only keeps a
// broken command from hanging the test.
func (w *lineWriter) await(t *testing.T, want string) {
	t.Helper()
	failsafe := time.After(time.Minute)
	for !strings.Contains(w.String(), want) {
		select {
		case <-w.wrote:
		case <-failsafe:
			t.Fatalf("never printed %q:\n%s", want, w.String())
		}
	}
}

// mailbox resync --wait on a writer that is no terminal writes a plain
// line as each folder finishes and a last one when the sync is done; the
// test plays the worker through the store, which the command reads.
func TestMailboxResyncWaitShowsProgress(t *testing.T) {
	setup(t, "sqlite")
	opt := testenv.Redis(t, testenv.RedisDBCLI)
	t.Setenv("CONNECTOR_REDIS_URL", fmt.Sprintf("redis://%s/%d", opt.Addr, opt.DB))
	defer func(poll, every time.Duration) { waitPoll, printEvery = poll, every }(waitPoll, printEvery)
	waitPoll, printEvery = 5*time.Millisecond, time.Hour // a line per finished folder only
	mustRun(t, "import", "--crm", "crm.json")
	ctx := context.Background()
	worker, err := store.Open(ctx, store.SQLite, "var/connector.db")
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Close()

	out, errOut := newLineWriter(), new(bytes.Buffer)
	code := make(chan int, 1)
	go func() {
		code <- Run([]string{"mailbox", "resync", "--fresh", "--wait", "anna.berger@dedenet.de"}, strings.NewReader(""), out, errOut)
	}()
	out.await(t, "waiting for the sync of anna.berger@dedenet.de")
	if _, err := worker.StartFirstSync(ctx, 1, store.FirstSyncStart{FoldersTotal: 3, ItemsTotal: 40}); err != nil {
		t.Fatal(err)
	}
	out.await(t, "folders 0/3")
	if err := worker.RecordFirstSync(ctx, 1, store.FirstSyncStep{FoldersDone: 1, MessagesSeen: 12, MessagesDone: 12, ItemsDone: 20}); err != nil {
		t.Fatal(err)
	}
	out.await(t, "folders 1/3")
	if err := worker.FirstSyncFailed(ctx, 1, "Graph: 503 Service Unavailable"); err != nil {
		t.Fatal(err)
	}
	if err := worker.RecordFirstSync(ctx, 1, store.FirstSyncStep{FoldersDone: 2, MessagesSeen: 20, MessagesDone: 20, ItemsDone: 35}); err != nil {
		t.Fatal(err)
	}
	out.await(t, "folders 2/3")
	if err := worker.FinishFirstSync(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := worker.MailboxSynced(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if c := <-code; c != 0 {
		t.Fatalf("exit %d: %s\n%s", c, errOut, out)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"sync of anna.berger@dedenet.de queued",
		"waiting for the sync of anna.berger@dedenet.de…",
		"anna.berger@dedenet.de: folders 0/3, 0 messages, at most 40 messages left",
		"anna.berger@dedenet.de: folders 1/3, 12 messages, about 12 messages left",
		"anna.berger@dedenet.de: folders 2/3, 20 messages, about 3 messages left, last error: Graph: 503 Service Unavailable",
		"anna.berger@dedenet.de: first sync done: folders 3/3, 20 messages",
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, l := range lines {
		// The rate and the duration depend on the wall clock between the writes.
		if !strings.HasPrefix(stripRate(l), want[i]) {
			t.Errorf("line %d:\n got %q\nwant %q…", i+1, l, want[i])
		}
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("a bar redraw on a writer that is no terminal")
	}

	// connector report lists the running first syncs, not finished ones.
	if r := mustRun(t, "report"); !strings.Contains(r, "First syncs in progress: none") {
		t.Errorf("report with no first sync running:\n%s", r)
	}
	if _, err := worker.StartFirstSync(ctx, 2, store.FirstSyncStart{FoldersTotal: 4, ItemsTotal: 100}); err != nil {
		t.Fatal(err)
	}
	if err := worker.RecordFirstSync(ctx, 2, store.FirstSyncStep{FoldersDone: 1, MessagesSeen: 7, MessagesDone: 7, ItemsDone: 10}); err != nil {
		t.Fatal(err)
	}
	if err := worker.FirstSyncFailed(ctx, 2, "Graph: throttled"); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, "report")
	if !strings.Contains(r, "First syncs in progress: 1 (oldest first)") {
		t.Errorf("report lacks the count of first syncs:\n%s", r)
	}
	row := ""
	for _, l := range strings.Split(r, "\n") {
		if strings.HasPrefix(l, "peter.kraus@dedenet.de") && strings.Contains(l, "/4") {
			row = strings.Join(strings.Fields(l), " ")
		}
	}
	if !strings.Contains(row, " 1/4 7 ") || !strings.Contains(row, "about 63 messages left") || !strings.HasSuffix(row, "Graph: throttled") {
		t.Errorf("report row of Peter's first sync: %q\n%s", row, r)
	}
}

// stripRate drops ", 1.5/s" and " in 3s" from a progress line.
func stripRate(l string) string {
	fields := strings.Split(l, ", ")
	var keep []string
	for _, f := range fields {
		if !strings.HasSuffix(f, "/s") {
			keep = append(keep, f)
		}
	}
	l = strings.Join(keep, ", ")
	if i := strings.LastIndex(l, " in "); i > 0 {
		l = l[:i]
	}
	return l
}

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{{0, "[----------]"}, {0.42, "[####------]"}, {1, "[##########]"}, {1.5, "[##########]"}, {-1, "[----------]"}} {
		if got := bar(tc.f, 10); got != tc.want {
			t.Errorf("bar(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

// On a terminal the waiter redraws one line (carriage return, bar, clear
// to the end of the line) and ends it before the last line.
func TestResyncWaitRedrawsOnATerminal(t *testing.T) {
	defer func(poll time.Duration) { waitPoll = poll }(waitPoll)
	waitPoll = 5 * time.Millisecond
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite)
	mb := "anna@firma.example"
	if _, err := st.ImportCRM(ctx, &crmfile.File{Employees: []model.Employee{{ID: 1, Name: "Anna", Email: mb, ExchangeMailbox: &mb, Active: true}}}); err != nil {
		t.Fatal(err)
	}
	m, err := st.MailboxByEmployee(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	out := newLineWriter()
	w := &resyncWaiter{st: st, mb: m, out: out, tty: true, now: time.Now}
	done := make(chan error, 1)
	go func() { done <- w.wait(ctx, time.Time{}) }()
	if _, err := st.StartFirstSync(ctx, 1, store.FirstSyncStart{FoldersTotal: 2, ItemsTotal: 10}); err != nil {
		t.Fatal(err)
	}
	out.await(t, "folders 0/2")
	if err := st.RecordFirstSync(ctx, 1, store.FirstSyncStep{FoldersDone: 1, MessagesSeen: 5, MessagesDone: 5, ItemsDone: 5}); err != nil {
		t.Fatal(err)
	}
	out.await(t, "folders 1/2")
	if err := st.FinishFirstSync(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := st.MailboxSynced(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"\r[------------------------]   0% folders 0/2", "\r[############------------]  50% folders 1/2, 5 messages", "\x1b[K\nanna@firma.example: first sync done: folders 2/2"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%q", want, got)
		}
	}
	if n := strings.Count(got, "\n"); n != 3 {
		t.Errorf("%d lines, want 3 (waiting…, the bar, done): the bar is one redrawn line\n%q", n, got)
	}
}
