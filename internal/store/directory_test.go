package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/google/go-cmp/cmp"
)

// The SQL directory must decide exactly like the in-memory one that
// `connector match` uses: every address of the demo CRM, in both directions,
// plus strangers, IDN and free-mail forms.
func TestSQLDirectoryDecidesLikeInMemory(t *testing.T) {
	crm, err := crmfile.ReadFile("../../configs/demo/crm.json")
	if err != nil {
		t.Fatal(err)
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, crm); err != nil {
			t.Fatal(err)
		}
		settings, err := s.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		employees, err := s.EmployeeAddresses(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rules := match.NewRules(settings, employees)
		mem := match.NewDirectory(crm.Employees, crm.Customers, crm.Contacts, crm.Leads, crm.Opportunities)

		var addrs []string
		for _, c := range crm.Contacts {
			addrs = append(addrs, c.Email)
		}
		for _, c := range crm.Customers {
			addrs = append(addrs, c.Email)
			for _, d := range c.Domains {
				addrs = append(addrs, "someone@"+d)
			}
			if _, dom, ok := strings.Cut(c.Email, "@"); ok {
				addrs = append(addrs, "stranger@"+dom, "x@sub."+dom)
			}
		}
		addrs = append(addrs, "nobody@unknown.example", "jonas.weber@gmx.de", "other@gmx.de", "info@xn--mller-landtechnik-22b.de")

		decided := 0
		for i, a := range addrs {
			for _, folder := range []string{"inbox", "sentitems"} {
				in := &match.Input{
					Message: model.Message{ID: fmt.Sprint(i), From: &model.Recipient{EmailAddress: model.EmailAddress{Address: a}},
						ToRecipients: []model.Recipient{{EmailAddress: model.EmailAddress{Address: a}}}},
					Mailbox: "anna.berger@dedenet.de",
					Folder:  []model.FolderRef{{WellKnownName: folder}},
					Rules:   rules,
				}
				if folder == "sentitems" {
					in.Message.From = &model.Recipient{EmailAddress: model.EmailAddress{Address: "anna.berger@dedenet.de"}}
				}
				want := match.Match(in, mem)
				p := match.Prepare(in)
				got := p.Decision
				if !p.Done {
					l, err := s.Lookup(ctx, p)
					if err != nil {
						t.Fatal(err)
					}
					got = match.Decide(in, p, l)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s in %s: mismatch (-in-memory +sql)\n%s", a, folder, diff)
				}
				if got.Imported() {
					decided++
				}
			}
		}
		if decided < len(addrs) {
			t.Errorf("only %d of %d decisions imported: the comparison proves little", decided, 2*len(addrs))
		}
	})
}

// Every branch of the look-up must be an index search, not a table scan.
func TestLookupUsesIndexes(t *testing.T) {
	hits, hitsArgs, err := store.HitsQuery([]string{"a@b.de", "c@d.de"}, []string{"b.de", "d.de"})
	if err != nil {
		t.Fatal(err)
	}
	deals, dealsArgs, err := store.OpenDealsQuery([]int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		for _, q := range []struct {
			query string
			args  []any
		}{{hits, hitsArgs}, {deals, dealsArgs}} {
			plan := explain(t, s, q.query, q.args)
			for _, line := range plan {
				line = strings.TrimSpace(line)
				// SQLite: "SCAN t" is a full scan; PostgreSQL: "Seq Scan on t".
				if strings.HasPrefix(line, "SCAN ") || strings.Contains(line, "Seq Scan") {
					t.Errorf("plan has a table scan: %q\nplan:\n%s", line, strings.Join(plan, "\n"))
				}
			}
		}
	})
}

// explain returns the query plan. On PostgreSQL sequential scans are
// disabled for it: with small tables a scan is cheapest, and the question is
// whether an index path exists at all.
func explain(t *testing.T, s *store.Store, query string, args []any) []string {
	t.Helper()
	ctx := context.Background()
	db := s.DB()
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	prefix := "EXPLAIN QUERY PLAN "
	if s.Dialect() == store.Postgres {
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
		prefix = "EXPLAIN "
	}
	rows, err := tx.QueryxContext(ctx, prefix+db.Rebind(query), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		cols, err := rows.SliceScan()
		if err != nil {
			t.Fatal(err)
		}
		plan = append(plan, fmt.Sprint(cols[len(cols)-1]))
	}
	return plan
}
