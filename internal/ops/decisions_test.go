package ops_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// detailLinks are the decision IDs a list links to, in order.
var detailLinks = regexp.MustCompile(`href="/ops/decisions/(\d+)"`)

func links(body string) []string {
	var out []string
	for _, m := range detailLinks.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestDecisionSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		seed(t, st)
		srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed())})
		b := newBrowser(t, srv)
		b.mustLogin()
		ids := map[string]string{} // Graph message ID → decision ID
		for _, g := range []string{"AAMk-anna-1", "AAMk-peter-1", "AAMk-anna-2"} {
			_, body := b.get("/ops/decisions?q=" + g)
			l := links(body)
			if len(l) != 1 {
				t.Fatalf("search %s: links %v", g, l)
			}
			ids[g] = l[0]
		}
		tests := []struct {
			q    string
			want []string
		}{
			{"", []string{ids["AAMk-anna-2"], ids["AAMk-peter-1"], ids["AAMk-anna-1"]}},
			{"angebot", []string{ids["AAMk-peter-1"], ids["AAMk-anna-1"]}},
			{"<angebot-1@schulz-technik.com>", []string{ids["AAMk-peter-1"], ids["AAMk-anna-1"]}},
			{"info@newsletter-versand.de", []string{ids["AAMk-anna-2"]}},
			{"peter.kraus@dedenet.de", []string{ids["AAMk-peter-1"]}},
			{"nothing like it", nil},
		}
		for _, tt := range tests {
			resp, body := b.get("/ops/decisions?q=" + url.QueryEscape(tt.q))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("search %q: %s", tt.q, resp.Status)
			}
			if diff := cmp.Diff(tt.want, links(body)); diff != "" {
				t.Errorf("search %q: mismatch (-want +got)\n%s", tt.q, diff)
			}
			if tt.want == nil && !strings.Contains(body, "No decision matches") {
				t.Errorf("search %q: no explanation of the empty result", tt.q)
			}
		}
		// Each row unfolds to what `connector explain` prints.
		_, body := b.get("/ops/decisions?q=AAMk-anna-1")
		for _, want := range []string{"<details>", "message AAMk-anna-1 (employee 1)", "outcome:           imported (a customer matched)",
			"rule:              contact_exact, matched sabine.schulz@schulz-technik.com", "customer:          10"} {
			if !strings.Contains(body, want) {
				t.Errorf("row lacks %q:\n%s", want, body)
			}
		}
		// The outcome filter.
		_, body = b.get("/ops/decisions?outcome=ignored")
		if diff := cmp.Diff([]string{ids["AAMk-anna-2"]}, links(body)); diff != "" {
			t.Errorf("outcome=ignored: mismatch (-want +got)\n%s", diff)
		}
	})
}

func TestDecisionPages(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	seed(t, st) // three decisions
	srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed())})
	b := newBrowser(t, srv)
	b.mustLogin()
	// 25 per page: more decisions make a second page.
	if err := seedMany(st, 30); err != nil {
		t.Fatal(err)
	}
	_, first := b.get("/ops/decisions?q=bulk")
	_, second := b.get("/ops/decisions?q=bulk&page=2")
	if n1, n2 := len(links(first)), len(links(second)); n1 != 25 || n2 != 5 {
		t.Errorf("pages of 30 hits: %d + %d, want 25 + 5", n1, n2)
	}
	if !strings.Contains(first, `href="/ops/decisions?page=2&amp;q=bulk"`) || strings.Contains(first, "newer") {
		t.Errorf("first page's pager is wrong")
	}
	if !strings.Contains(second, `href="/ops/decisions?q=bulk"`) || strings.Contains(second, `id="older"`) {
		t.Errorf("second page's pager is wrong:\n%s", second)
	}
	if resp, _ := b.get("/ops/decisions?page=-3&outcome=nonsense"); resp.StatusCode != http.StatusOK {
		t.Errorf("bad page and outcome: %s", resp.Status)
	}
}

func TestDecisionDetail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		seed(t, st)
		srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed())})
		b := newBrowser(t, srv)
		b.mustLogin()
		_, body := b.get("/ops/decisions?q=AAMk-anna-1")
		id := links(body)[0]
		_, body = b.get("/ops/decisions?q=AAMk-peter-1")
		peter := links(body)[0]

		resp, body := b.get("/ops/decisions/" + id)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("detail: %s\n%s", resp.Status, body)
		}
		explain := regexp.MustCompile(`(?s)<pre id="explain">(.*?)</pre>`).FindStringSubmatch(body)
		if explain == nil {
			t.Fatalf("no explain block:\n%s", body)
		}
		want := strings.Join([]string{
			"message AAMk-anna-1 (employee 1)",
			"  subject:           AW: Angebot Wartungsvertrag",
			"  folder:            Inbox",
			"  decided:           " + testNow.Add(-60*60e9).UTC().Format("2006-01-02 15:04:05 MST"),
			"  outcome:           imported (a customer matched)",
			"  direction:         inbound",
			"  candidates:        [&#34;sabine.schulz@schulz-technik.com&#34;]",
			"  rule:              contact_exact, matched sabine.schulz@schulz-technik.com",
			"  customer:          10",
			"  contact:           100",
			"  activity:          1",
			"  seen by:           notification",
			"  history:",
			"    " + testNow.Add(-time.Hour).UTC().Format("2006-01-02 15:04:05") + "  decided imported (matched, contact_exact, customer 10) in Inbox via notification",
			""}, "\n")
		if diff := cmp.Diff(want, explain[1]); diff != "" {
			t.Errorf("explain: mismatch (-want +got)\n%s", diff)
		}
		history := regexp.MustCompile(`(?s)<table id="history">.*?<td>decided</td><td>decided imported \(matched, contact_exact, customer 10\) in Inbox via notification</td>`)
		if !history.MatchString(body) {
			t.Errorf("detail lacks the history table:\n%s", body)
		}
		for _, w := range []string{"The same e-mail in other mailboxes", fmt.Sprintf(`href="/ops/decisions/%s">peter.kraus@dedenet.de</a>: duplicate`, peter)} {
			if !strings.Contains(body, w) {
				t.Errorf("detail lacks %q", w)
			}
		}
		for path, code := range map[string]int{"/ops/decisions/999999": http.StatusNotFound, "/ops/decisions/abc": http.StatusNotFound, "/ops/decisions/-1": http.StatusNotFound} {
			if resp, _ := b.get(path); resp.StatusCode != code {
				t.Errorf("%s: %s, want %d", path, resp.Status, code)
			}
		}
	})
}
