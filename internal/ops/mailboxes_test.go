package ops_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dedesales/exchange-connector/internal/alert"
	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// The store cannot import internal/alert; its copy of the kind must match.
func TestSilentAlertKind(t *testing.T) {
	if store.SilentAlertKind != alert.KindMailboxSilent {
		t.Errorf("store.SilentAlertKind = %q, alert.KindMailboxSilent = %q", store.SilentAlertKind, alert.KindMailboxSilent)
	}
}

var (
	rowAddress = regexp.MustCompile(`<th scope="row">([^<]+)<br>`)
	captionRe  = regexp.MustCompile(`<caption>Mailboxes (\d+)–(\d+) of (\d+)`)
	hrefRe     = regexp.MustCompile(`href="([^"]+)"`)
)

// addresses lists the mailboxes of the table, in order.
func addresses(body string) []string {
	var out []string
	for _, m := range rowAddress.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// summaryCount returns the count the summary line shows for label.
func summaryCount(t *testing.T, body, label string) int {
	t.Helper()
	m := regexp.MustCompile(`<span class="n">(\d+)</span> ` + regexp.QuoteMeta(label) + `</a>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no summary count %q", label)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// linkWith returns the first link whose text is text, unescaped.
func linkWith(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`<a href="([^"]+)"[^>]*id="` + regexp.QuoteMeta(id) + `"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link #%s", id)
	}
	return html.UnescapeString(m[1])
}

func TestMailboxesPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		seed(t, st)
		srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed())})
		b := newBrowser(t, srv)
		b.mustLogin()
		resp, body := b.get("/ops/mailboxes")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/ops/mailboxes: %s\n%s", resp.Status, body)
		}
		if diff := cmp.Diff([]string{"anna.berger@dedenet.de", "olaf.alt@dedenet.de", "peter.kraus@dedenet.de"}, addresses(body)); diff != "" {
			t.Errorf("rows (-want +got)\n%s", diff)
		}
		// The state filter offers every state the store knows.
		for _, s := range store.MailboxStates() {
			if !strings.Contains(body, `<option value="`+s+`">`) {
				t.Errorf("state filter lacks %s", s)
			}
			summaryCount(t, body, s)
		}
		if summaryCount(t, body, "inactive") != 1 || summaryCount(t, body, "in error") != 1 || summaryCount(t, body, "enabled") != 2 {
			t.Errorf("summary counts wrong:\n%s", body)
		}
		if !strings.Contains(body, `<th scope="col" aria-sort="ascending"><a href="/ops/mailboxes?desc=1">Mailbox</a>`) {
			t.Errorf("the address column is not marked as sorted, or its link does not reverse it")
		}
		_, body = b.get("/ops/mailboxes?desc=1&q=%20DEDENET%20")
		if diff := cmp.Diff([]string{"peter.kraus@dedenet.de", "olaf.alt@dedenet.de", "anna.berger@dedenet.de"}, addresses(body)); diff != "" {
			t.Errorf("descending search (-want +got)\n%s", diff)
		}
		// Sort links keep the filter; the filter form keeps the sort.
		for _, want := range []string{`href="/ops/mailboxes?q=DEDENET&amp;sort=state"`, `<input type="hidden" name="desc" value="1">`, `value="DEDENET"`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		_, body = b.get("/ops/mailboxes?errors=1")
		if diff := cmp.Diff([]string{"peter.kraus@dedenet.de"}, addresses(body)); diff != "" {
			t.Errorf("errors (-want +got)\n%s", diff)
		}
		_, body = b.get("/ops/mailboxes?state=inactive&q=anna")
		if len(addresses(body)) != 0 || !strings.Contains(body, `id="no-mailboxes"`) {
			t.Errorf("no match: rows %v", addresses(body))
		}
		// Nonsense falls back to the defaults.
		resp, body = b.get("/ops/mailboxes?state=bogus&sort=bogus&page=-3")
		if resp.StatusCode != http.StatusOK || len(addresses(body)) != 3 {
			t.Errorf("bogus parameters: %s, rows %v", resp.Status, addresses(body))
		}
	})
}

// The shape of seedScale's tenant, computed the same way.
func scaleState(i int) string {
	switch {
	case i%scaleInactive == 0:
		return store.MailboxInactive
	case i%scaleDisabled == 0:
		return store.MailboxDisabled
	case i%scaleAccessDenied == 0:
		return store.MailboxAccessDenied
	}
	return store.MailboxEnabled
}

// At 10,000 mailboxes every /ops page is a page, not everything: at most
// maxPageBytes, with the right rows. (How fast: BenchmarkOpsPages.)
func TestOpsPagesAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10,000 mailboxes")
	}
	const n, m = 10_000, 100_000
	st := scaleStore(t, n, m)
	srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed()), RedisConnOpt: redisOpt(t)})
	b := newBrowser(t, srv)
	b.mustLogin()
	get := func(path string) string {
		t.Helper()
		resp, body := b.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s\n%.2000s", path, resp.Status, body)
		}
		if len(body) > maxPageBytes {
			t.Errorf("%s: %d bytes, want at most %d", path, len(body), maxPageBytes)
		}
		return body
	}
	for _, p := range benchPages {
		if p.name == "message" {
			continue // a 404
		}
		get(p.path)
	}

	byState := map[string]int{}
	var errs, silent, kraus int
	for i := 1; i <= n; i++ {
		byState[scaleState(i)]++
		if i%scaleError == 0 || i%scaleSubFailed == 0 {
			errs++
		}
		if i%scaleSilent == 0 {
			silent++
		}
		if i%5 == 1 {
			kraus++
		}
	}
	body := get("/ops/")
	for s, want := range byState {
		if got := summaryCount(t, body, s); got != want {
			t.Errorf("status summary %s: %d, want %d", s, got, want)
		}
	}
	if got := summaryCount(t, body, "in error"); got != errs {
		t.Errorf("in error: %d, want %d", got, errs)
	}
	if got := summaryCount(t, body, "silent"); got != silent {
		t.Errorf("silent: %d, want %d", got, silent)
	}
	if got := len(addresses(body)); got != 50 || !strings.Contains(body, `id="all-mailboxes"`) {
		t.Errorf("status page: %d mailboxes, want 50 and a link to all", got)
	}
	// The other panels at their largest (scaleStore): a week of charts and
	// every active mailbox in its first sync, of which 20 are listed.
	for _, id := range []string{`id="chart-decisions"`, `id="chart-latency"`, `id="first-syncs"`} {
		if !strings.Contains(body, id) {
			t.Errorf("status page at scale lacks %s", id)
		}
	}
	syncing := n - n/scaleInactive
	if want := fmt.Sprintf("… and %d more first syncs in progress.", syncing-20); !strings.Contains(body, want) {
		t.Errorf("status page at scale: no %q", want)
	}

	// total checks the caption's count and returns the rows' numbers.
	total := func(body string, want int) []int {
		t.Helper()
		c := captionRe.FindStringSubmatch(body)
		if c == nil {
			t.Fatalf("no caption")
		}
		if got, _ := strconv.Atoi(c[3]); got != want {
			t.Errorf("caption %q: total %d, want %d", c[0], got, want)
		}
		var nums []int
		for _, a := range addresses(body) {
			i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(a, "user"), "@dedenet.de"))
			if err != nil {
				t.Fatalf("address %q", a)
			}
			nums = append(nums, i)
		}
		return nums
	}
	seq := func(from, to, step int) []int {
		var out []int
		for i := from; ; i += step {
			out = append(out, i)
			if i == to {
				return out
			}
		}
	}
	// Last sync is i seconds ago: newest first is 1, 2, 3, …
	body = get("/ops/mailboxes?sort=last_sync&desc=1&page=2")
	if diff := cmp.Diff(seq(51, 100, 1), total(body, n)); diff != "" {
		t.Errorf("page 2 by last sync, newest first (-want +got)\n%s", diff)
	}
	next := linkWith(t, body, "mailboxes-next")
	if next != "/ops/mailboxes?desc=1&page=3&sort=last_sync" {
		t.Errorf("next link %q", next)
	}
	if diff := cmp.Diff(seq(101, 150, 1), total(get(next), n)); diff != "" {
		t.Errorf("page 3 (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff(seq(n, n-49, -1), total(get("/ops/mailboxes?sort=last_sync"), n)); diff != "" {
		t.Errorf("oldest sync first (-want +got)\n%s", diff)
	}
	// Past the end: the last page.
	body = get("/ops/mailboxes?sort=last_sync&desc=1&page=9999")
	if diff := cmp.Diff(seq(9951, n, 1), total(body, n)); diff != "" || !strings.Contains(body, "page 200 of 200") {
		t.Errorf("last page (-want +got)\n%s", diff)
	}
	for s, want := range byState {
		body := get("/ops/mailboxes?sort=last_sync&desc=1&state=" + s)
		for _, i := range total(body, want) {
			if scaleState(i) != s {
				t.Errorf("state %s shows user%d, which is %s", s, i, scaleState(i))
			}
		}
	}
	for _, i := range total(get("/ops/mailboxes?errors=1&sort=last_sync&desc=1"), errs) {
		if i%scaleError != 0 && i%scaleSubFailed != 0 {
			t.Errorf("errors shows user%d", i)
		}
	}
	nums := total(get("/ops/mailboxes?silent=1&sort=last_sync&desc=1"), silent)
	if diff := cmp.Diff(seq(scaleSilent, 50*scaleSilent, scaleSilent), nums); diff != "" {
		t.Errorf("silent (-want +got)\n%s", diff)
	}
	for _, i := range total(get("/ops/mailboxes?q=KRAUS&sort=last_sync&desc=1"), kraus) {
		if i%5 != 1 {
			t.Errorf("search kraus shows user%d", i)
		}
	}
	if diff := cmp.Diff([]int{4711}, total(get("/ops/mailboxes?q=user4711@"), 1)); diff != "" {
		t.Errorf("search address (-want +got)\n%s", diff)
	}
	// Combined, and the page keeps every parameter in its links.
	body = get("/ops/mailboxes?state=enabled&errors=1&q=berger&sort=expires&desc=1&page=2")
	for _, h := range hrefRe.FindAllStringSubmatch(body, -1) {
		u := html.UnescapeString(h[1])
		if strings.Contains(u, "page=") && !strings.Contains(u, "errors=1&page=") {
			t.Errorf("pager link %q lost the filter", u)
		}
	}
	for _, i := range total(body, countWhere(n, func(i int) bool {
		return scaleState(i) == store.MailboxEnabled && (i%scaleError == 0 || i%scaleSubFailed == 0) && i%5 == 0
	})) {
		if scaleState(i) != store.MailboxEnabled || i%5 != 0 {
			t.Errorf("combined filter shows user%d", i)
		}
	}

	// The decision list pages back to its bound; a decision shows.
	body = get("/ops/decisions?page=400")
	if got := strings.Count(body, `<a href="/ops/decisions/`); got != 25 {
		t.Errorf("decisions page 400: %d decisions, want 25", got)
	}
	want := fmt.Sprintf("Angebot Nr. %d Wartungsvertrag", m-399*25)
	if !strings.Contains(body, want) {
		t.Errorf("decisions page 400 lacks %q", want)
	}
	body = get("/ops/decisions?q=%3Cm4711%40example.org%3E")
	if got := strings.Count(body, `<a href="/ops/decisions/`); got != 1 || !strings.Contains(body, "Angebot Nr. 4711 ") {
		t.Errorf("message ID search: %d decisions", got)
	}
}

func countWhere(n int, f func(int) bool) int {
	c := 0
	for i := 1; i <= n; i++ {
		if f(i) {
			c++
		}
	}
	return c
}

// Thousands of open alerts (a silent or denied mailbox each) do not make
// the status page thousands of rows long.
func TestStatusPageCapsAlerts(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	var list []ops.OpenAlert
	for i := range 60 {
		list = append(list, ops.OpenAlert{Kind: "mailbox_silent", Subject: fmt.Sprintf("user%d@dedenet.de", i), Message: "silent", Since: testNow})
	}
	srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed()), Alerts: alerts{list: list}})
	b := newBrowser(t, srv)
	b.mustLogin()
	_, body := b.get("/ops/")
	if got := strings.Count(body, "<td class=\"bad\">mailbox_silent</td>"); got != 50 {
		t.Errorf("%d alerts shown, want 50", got)
	}
	if !strings.Contains(body, "… and 10 more open alerts") || !strings.Contains(body, "user49@dedenet.de") || strings.Contains(body, "user50@dedenet.de") {
		t.Errorf("status page does not show the oldest 50 alerts and the number of the others")
	}
}
