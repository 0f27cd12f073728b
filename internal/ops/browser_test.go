package ops_test

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// chromiumPath is Debian's chromium (apt-get install chromium);
// OPS_CHROMIUM overrides it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("OPS_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("chromium is required for the browser test (apt-get install chromium): %v", err)
		}
		t.Skipf("no chromium (%v); apt-get install chromium, or set REQUIRE_INTEGRATION=1 to fail instead", err)
	}
	return p
}

// TestBrowser drives the pages with a real headless chromium: the login
// redirect, the status page, a search, a decision's details and asynqmon's
// dashboard, which must render under our Content-Security-Policy.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	exe := chromiumPath(t)
	opt := redisOpt(t)
	enqueue(t, opt)
	st := storetest.Open(t, store.SQLite)
	seed(t, st)
	// 120 more mailboxes, after the seeded ones by address: the mailbox
	// table has three pages.
	more := &crmfile.File{}
	for i := range 120 {
		addr := fmt.Sprintf("zz-browser-%03d@dedenet.de", i)
		more.Employees = append(more.Employees, model.Employee{ID: int64(1000 + i), Name: fmt.Sprintf("Browser %03d", i), Email: addr, ExchangeMailbox: &addr, Active: true})
	}
	if _, err := st.ImportCRM(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed()), RedisConnOpt: opt})

	// The whole walk, the mailbox pages included; generous for -race on a
	// loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	allocOpts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1400, 1000),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, allocOpts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer bcancel()

	// The console, with CSP violations, from the first page on.
	var (
		mu        sync.Mutex
		console   []string // console messages, browser log entries, uncaught exceptions
		violation []string // CSP violations other than Google Fonts
	)
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, m.String())
			if strings.Contains(m.Text, "Content Security Policy") && !strings.Contains(m.Text, "fonts.googleapis.com") {
				violation = append(violation, m.String())
			}
			mu.Unlock()
		}
	}()
	fail := func(step string, err error) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%s: %v\nconsole:\n%s", step, err, strings.Join(console, "\n"))
	}
	text := func(sel chromedp.ID) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(sel))
		if err != nil {
			fail("text of "+string(sel), err)
		}
		return s
	}

	// /ops/ sends the browser to the login form.
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/ops/"), chromedp.WaitVisible(chromedp.ID("password"))); err != nil {
		fail("open /ops/", err)
	}
	if loc, err := chromedp.Run(bctx, chromedp.Location()); err != nil || !strings.Contains(loc, "/ops/login?next=%2Fops%2F") {
		t.Errorf("/ops/ without a session went to %s (%v)", loc, err)
	}

	// Log in: the status page lists the seeded mailboxes.
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.ID("password"), testPassword), chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("mailboxes"))); err != nil {
		fail("log in", err)
	}
	mailboxes := text("mailboxes")
	for _, want := range []string{"anna.berger@dedenet.de", "peter.kraus@dedenet.de", "olaf.alt@dedenet.de"} {
		if !strings.Contains(mailboxes, want) {
			t.Errorf("mailbox table lacks %s:\n%s", want, mailboxes)
		}
	}
	statusShot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		fail("screenshot of /ops/", err)
	}
	// The charts render, with a size, and draw something besides the
	// background (the seeded decisions and the notified one's latency).
	chartShots := map[string][]byte{}
	for _, id := range []string{"chart-decisions", "chart-latency"} {
		if err := chromedp.Do(bctx, chromedp.ScrollIntoView(chromedp.ID(id))); err != nil {
			fail("scroll to #"+id, err)
		}
		box, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](`(r => [r.width, r.height])(document.getElementById("`+id+`").getBoundingClientRect())`))
		if err != nil {
			fail("size of #"+id, err)
		}
		if len(box) != 2 || box[0] < 100 || box[1] < 50 {
			t.Errorf("#%s is %v CSS pixels: not rendered", id, box)
		}
		shot, err := chromedp.Run(bctx, chromedp.Screenshot(chromedp.ID(id)))
		if err != nil {
			fail("screenshot of #"+id, err)
		}
		if n := drawnPixels(t, shot); n < 50 {
			t.Errorf("#%s: %d pixels not background: nothing drawn", id, n)
		}
		chartShots["ops-"+id+".png"] = shot
	}

	// Search a decision, unfold it and open its details.
	// (#decisions is on the status page too: wait for the results page.)
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.ID("q"), "Wartungsvertrag"), chromedp.Click(chromedp.ID("search")),
		chromedp.WaitVisible(chromedp.ID("results-for")), chromedp.WaitVisible(chromedp.ID("decisions"))); err != nil {
		fail("search", err)
	}
	rows, err := chromedp.Run(bctx, chromedp.Nodes(chromedp.CSSAll("#decisions tbody tr")))
	if results := text("decisions"); err != nil || len(rows) != 2 || !strings.Contains(results, "AW: Angebot Wartungsvertrag") {
		t.Errorf("search found %d rows (%v):\n%s", len(rows), err, results)
	}
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#decisions summary")), chromedp.Click(chromedp.CSS("#decisions details a")),
		chromedp.WaitVisible(chromedp.ID("explain"))); err != nil {
		fail("decision details", err)
	}
	if explain := text("explain"); !strings.Contains(explain, "(a customer matched)") {
		t.Errorf("decision details:\n%s", explain)
	}

	// The mailbox table: from the status page to all 123 mailboxes, 50 a
	// page, the next page, a sort by a column and a search.
	caption := func(want string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.Search(`//table[@id="mailboxes"]/caption[contains(., "` + want + `")]`))
	}
	countRows := func(step string, want int) {
		t.Helper()
		rows, err := chromedp.Run(bctx, chromedp.Nodes(chromedp.CSSAll("#mailboxes tbody tr")))
		if err != nil || len(rows) != want {
			t.Errorf("%s: %d mailbox rows (%v), want %d", step, len(rows), err, want)
		}
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/ops/"), chromedp.WaitVisible(chromedp.ID("mailbox-summary")),
		chromedp.Click(chromedp.ID("all-mailboxes")), caption("Mailboxes 1–50 of 123, page 1 of 3")); err != nil {
		fail("all mailboxes", err)
	}
	countRows("page 1", 50)
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("mailboxes-next")), caption("Mailboxes 51–100 of 123, page 2 of 3")); err != nil {
		fail("next page of mailboxes", err)
	}
	countRows("page 2", 50)
	// Sorting by address again reverses it and starts at page 1.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.Search(`//th[@aria-sort="ascending"]/a[normalize-space(.)="Mailbox"]`)),
		chromedp.WaitVisible(chromedp.Search(`//th[@aria-sort="descending"]`)), caption("Mailboxes 1–50 of 123, page 1 of 3")); err != nil {
		fail("sort mailboxes", err)
	}
	if first := text("mailboxes"); !strings.Contains(first, "zz-browser-119@dedenet.de") || strings.Contains(first, "anna.berger") {
		t.Errorf("descending first page:\n%s", first)
	}
	mailboxesShot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		fail("screenshot of /ops/mailboxes", err)
	}
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.ID("mailbox-q"), "kraus"), chromedp.Click(chromedp.ID("mailbox-filter")),
		caption("Mailboxes 1–1 of 1")); err != nil {
		fail("search mailboxes", err)
	}
	if found := text("mailboxes"); !strings.Contains(found, "peter.kraus@dedenet.de") {
		t.Errorf("search kraus:\n%s", found)
	}

	// asynqmon's dashboard renders under our CSP and lists the queue.
	qctx, qcancel := context.WithTimeout(bctx, 8*time.Second)
	defer qcancel()
	if err := chromedp.Do(qctx, chromedp.Navigate(srv.URL+"/ops/queues/"),
		// The side bar's "Queues", the chart headings, and the queue in the table.
		chromedp.WaitVisible(chromedp.Search(`//*[normalize-space(text())="Queues"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h6[normalize-space(.)="Queue Size"]`)),
		chromedp.WaitVisible(chromedp.Search(`//table//*[normalize-space(text())="default"]`))); err != nil {
		tables, _ := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("table")))
		t.Logf("table: %s", tables)
		fail("queue dashboard", err)
	}
	queuesShot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		fail("screenshot of /ops/queues/", err)
	}
	mu.Lock()
	if len(violation) > 0 {
		t.Errorf("Content-Security-Policy violations:\n%s", strings.Join(violation, "\n"))
	}
	mu.Unlock()
	chartShots["ops-status.png"], chartShots["ops-mailboxes.png"], chartShots["ops-queues.png"] = statusShot, mailboxesShot, queuesShot
	for name, png := range chartShots {
		saveScreenshot(t, name, png)
	}
}

// drawnPixels counts the pixels of a PNG that differ from its top-left
// pixel (the background).
func drawnPixels(t *testing.T, b []byte) int {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot is not a PNG (%d bytes): %v", len(b), err)
	}
	r := img.Bounds()
	bg := color.RGBAModel.Convert(img.At(r.Min.X, r.Min.Y))
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) != bg {
				n++
			}
		}
	}
	return n
}

// saveScreenshot writes a screenshot to the test's directory and, with
// OPS_SCREENSHOT_DIR set, there too.
func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	dirs := []string{t.TempDir()}
	if d := os.Getenv("OPS_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
}
