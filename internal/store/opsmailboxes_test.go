package store_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// seedOpsMailboxes gives sampleCRM's mailboxes one state each: Anna
// enabled with an active subscription, Peter access denied with a failed
// one, Olaf's mailbox disabled, plus the inactive employee's.
func seedOpsMailboxes(t *testing.T, s *store.Store) []store.Mailbox {
	t.Helper()
	ctx := context.Background()
	seedOpsDecisions(t, s)
	mbs, err := s.Mailboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return mbs
}

// The state the database computes is the state Mailbox.State computes, for
// every state there is; a state without a case here fails the test.
func TestMailboxPageStatesMatchMailboxState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		mbs := seedOpsMailboxes(t, s)
		if len(mbs) < 2 {
			t.Fatalf("sample CRM has %d mailboxes, want at least 2", len(mbs))
		}
		// set puts mailbox 0 into a state, mailbox 1 stays as it is.
		set := map[string]func(id int64){
			store.MailboxEnabled: func(int64) {},
			store.MailboxDisabled: func(id int64) {
				if err := s.SetMailboxDisabled(ctx, id, true); err != nil {
					t.Fatal(err)
				}
			},
			store.MailboxAccessDenied: func(id int64) {
				if err := s.MarkMailboxAccessDenied(ctx, id, "ErrorAccessDenied"); err != nil {
					t.Fatal(err)
				}
			},
			store.MailboxNotFound: func(id int64) {
				if err := s.MarkMailboxNotFound(ctx, id, "ErrorInvalidUser"); err != nil {
					t.Fatal(err)
				}
			},
			store.MailboxInactive: func(id int64) {
				if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`UPDATE employees SET active = FALSE WHERE id = ?`), id); err != nil {
					t.Fatal(err)
				}
			},
		}
		for _, state := range store.MailboxStates() {
			setState, ok := set[state]
			if !ok {
				t.Errorf("state %q has no case in this test", state)
				continue
			}
			id := mbs[0].EmployeeID
			setState(id)
			rows, _, err := s.MailboxPage(ctx, store.MailboxPageQuery{MailboxFilter: store.MailboxFilter{State: state}, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range rows {
				if r.MailboxState != state || r.State() != state {
					t.Errorf("filter %s: %s has database state %s, State() %s", state, r.Address, r.MailboxState, r.State())
				}
				found = found || r.EmployeeID == id
			}
			if !found {
				t.Errorf("filter %s lacks mailbox %d", state, id)
			}
			// Back to enabled for the next state.
			if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`UPDATE employees SET active = TRUE WHERE id = ?`), id); err != nil {
				t.Fatal(err)
			}
			if err := s.SetMailboxDisabled(ctx, id, false); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestMailboxPageAndSummary(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		mbs := seedOpsMailboxes(t, s)
		anna, peter := mbs[0], mbs[1]
		if err := s.SaveSubscription(ctx, anna.EmployeeID, model.Subscription{ID: "sub-a", Resource: "/r", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.SubscriptionFailedNow(ctx, peter.EmployeeID, "validation failed"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkMailboxAccessDenied(ctx, peter.EmployeeID, "ErrorAccessDenied"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OpenAlert(ctx, store.SilentAlertKind, anna.Address, "", "silent"); err != nil {
			t.Fatal(err)
		}
		addrs := func(q store.MailboxPageQuery) ([]string, int) {
			t.Helper()
			rows, total, err := s.MailboxPage(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range rows {
				out = append(out, r.Address)
			}
			return out, total
		}
		all, total := addrs(store.MailboxPageQuery{})
		if total != len(mbs) || len(all) != len(mbs) {
			t.Fatalf("all: %v of %d, want %d", all, total, len(mbs))
		}
		for i, mb := range mbs { // Mailboxes is by address too
			if all[i] != mb.Address {
				t.Errorf("row %d: %s, want %s", i, all[i], mb.Address)
			}
		}
		desc, _ := addrs(store.MailboxPageQuery{Desc: true})
		if desc[0] != all[len(all)-1] {
			t.Errorf("descending starts with %s, want %s", desc[0], all[len(all)-1])
		}
		page2, total := addrs(store.MailboxPageQuery{Limit: 1, Offset: 1})
		if diff := cmp.Diff(all[1:2], page2); diff != "" || total != len(mbs) {
			t.Errorf("page 2: total %d, mismatch (-want +got)\n%s", total, diff)
		}
		tests := []struct {
			name string
			f    store.MailboxFilter
			want []string
		}{
			{"errors", store.MailboxFilter{Errors: true}, []string{peter.Address}},
			{"silent", store.MailboxFilter{Silent: true}, []string{anna.Address}},
			{"access denied", store.MailboxFilter{State: store.MailboxAccessDenied}, []string{peter.Address}},
			{"search name, any case", store.MailboxFilter{Search: strings.ToUpper(anna.Name[:4])}, []string{anna.Address}},
			{"search address", store.MailboxFilter{Search: peter.Address[2:8]}, []string{peter.Address}},
			{"wildcards are literal", store.MailboxFilter{Search: "%"}, nil},
		}
		for _, tt := range tests {
			got, n := addrs(store.MailboxPageQuery{MailboxFilter: tt.f})
			if diff := cmp.Diff(tt.want, got); diff != "" || n != len(tt.want) {
				t.Errorf("%s: total %d, mismatch (-want +got)\n%s", tt.name, n, diff)
			}
		}
		rows, _, err := s.MailboxPage(ctx, store.MailboxPageQuery{MailboxFilter: store.MailboxFilter{Search: anna.Address}})
		if err != nil || len(rows) != 1 {
			t.Fatalf("anna: %v, %v", rows, err)
		}
		if r := rows[0]; r.SubStatus == nil || *r.SubStatus != store.SubscriptionActive || r.SubExpiresAt == nil || !r.Silent {
			t.Errorf("anna's row: %+v", r)
		}
		if _, _, err := s.MailboxPage(ctx, store.MailboxPageQuery{Sort: "nonsense"}); err == nil {
			t.Error("unknown sort: no error")
		}
		if _, _, err := s.MailboxPage(ctx, store.MailboxPageQuery{MailboxFilter: store.MailboxFilter{State: "nonsense"}}); err == nil {
			t.Error("unknown state: no error")
		}
		for _, key := range store.MailboxSortKeys {
			for _, desc := range []bool{false, true} {
				got, _ := addrs(store.MailboxPageQuery{Sort: key, Desc: desc})
				if len(got) != len(mbs) {
					t.Errorf("sort %s desc=%v: %d rows, want %d", key, desc, len(got), len(mbs))
				}
			}
		}
		sum, err := s.MailboxSummaries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Total != len(mbs) || sum.Errors != 1 || sum.Silent != 1 || sum.ByState[store.MailboxAccessDenied] != 1 {
			t.Errorf("summary: %+v", sum)
		}
		n := 0
		for _, st := range store.MailboxStates() {
			c, ok := sum.ByState[st]
			if !ok {
				t.Errorf("summary lacks state %s", st)
			}
			n += c
		}
		if n != sum.Total {
			t.Errorf("states add up to %d, total %d", n, sum.Total)
		}
	})
}

func TestDecisionCountsOf(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		seedOpsDecisions(t, s)
		ctx := context.Background()
		all, err := s.MailboxDecisionCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.DecisionCountsOf(ctx, []int64{1, 2, 99})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(all, got); diff != "" {
			t.Errorf("mismatch (-all +of)\n%s", diff)
		}
		one, err := s.DecisionCountsOf(ctx, []int64{2})
		if err != nil || len(one) != 1 || one[0].EmployeeID != 2 {
			t.Errorf("mailbox 2: %+v, %v", one, err)
		}
		if none, err := s.DecisionCountsOf(ctx, nil); err != nil || len(none) != 0 {
			t.Errorf("no mailboxes: %+v, %v", none, err)
		}
	})
}

func TestDecisionsOfMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		seedOpsDecisions(t, s)
		hits, err := s.DecisionsOfMessage(context.Background(), "<m1@schulz-technik.com>", 50)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range hits {
			got = append(got, h.GraphMessageID)
		}
		if diff := cmp.Diff([]string{"AAMk-peter-1", "AAMk-anna-1"}, got); diff != "" {
			t.Errorf("mismatch (-want +got)\n%s", diff)
		}
	})
}

// Every query of the /ops pages reads decisions through an index, never in
// full. The mailbox queries read the mailboxes (one row each in employees,
// mailbox_states and subscriptions; the counts on top need every one), but
// never the decisions; silent alerts are looked up by their unique key.
func TestOpsQueriesUseIndexes(t *testing.T) {
	cutoff := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	type query struct {
		name  string
		query string
		args  []any
	}
	var queries []query
	for _, q := range []store.DecisionQuery{{}, {Outcome: "ignored", Offset: 9975}, {Text: "angebot"}, {Text: "<m1@x.de>", Outcome: "imported"}} {
		sql, args := store.SearchDecisionsQuery(q, &cutoff)
		queries = append(queries, query{"search " + q.Text + " " + q.Outcome, sql, args})
	}
	queries = append(queries,
		query{"text search cutoff", store.TextSearchCutoffQuery, []any{store.TextSearchWindow - 1}},
		query{"decisions of message", store.DecisionsOfMessageQuery, []any{"<m1@x.de>", 50}},
		query{"decision counts of a page", store.DecisionCountsQuery(3), []any{1, 2, 3}})
	for _, q := range []store.MailboxPageQuery{{}, {Sort: "name", Desc: true, Offset: 9950},
		{MailboxFilter: store.MailboxFilter{State: store.MailboxAccessDenied, Errors: true, Silent: true, Search: "kraus"}, Sort: "last_sync"}} {
		page, pageArgs, count, countArgs, err := store.MailboxPageQueries(q)
		if err != nil {
			t.Fatal(err)
		}
		queries = append(queries, query{"mailbox page", page, pageArgs}, query{"mailbox count", count, countArgs})
	}
	queries = append(queries, query{"mailbox summary", store.MailboxSummaryQuery(), nil})
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, q := range queries {
			plan := explain(t, s, q.query, q.args)
			for _, line := range plan {
				line = strings.TrimSpace(line)
				// SQLite: "SCAN d"/"SCAN decisions" is a full scan, except
				// along the (created_at, id) index: that walk is newest
				// first and stops at LIMIT + OFFSET (at most 10,025 on
				// /ops/decisions). PostgreSQL: "Seq Scan on decisions".
				ordered := strings.Contains(line, "INDEX decisions_recent")
				if strings.Contains(line, "Seq Scan on decisions") || strings.Contains(line, "Seq Scan on alerts") ||
					(line == "SCAN d" || strings.HasPrefix(line, "SCAN d ") || strings.HasPrefix(line, "SCAN decisions")) && !ordered ||
					strings.HasPrefix(line, "SCAN al") {
					t.Errorf("%s: plan reads a whole table: %q\nplan:\n%s", q.name, line, strings.Join(plan, "\n"))
				}
			}
			t.Logf("%s:\n%s", q.name, strings.Join(plan, "\n"))
		}
	})
}

// Every Mailbox… state constant of mailboxes.go is in MailboxStates, so that
// a new state reaches the /ops filter and counts (and the test above asks
// for its case).
func TestMailboxStatesListsEveryStateConstant(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "mailboxes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Mailbox") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					consts = append(consts, v)
				}
			}
		}
	}
	if len(consts) < 4 {
		t.Fatalf("found %d state constants in mailboxes.go: %v", len(consts), consts)
	}
	for _, c := range consts {
		if !slices.Contains(store.MailboxStates(), c) {
			t.Errorf("state %q is not in store.MailboxStates: add it to mailboxStateConds (opsmailboxes.go)", c)
		}
	}
}
