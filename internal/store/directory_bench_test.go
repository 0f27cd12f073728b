package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// bigCRM is a directory of 20,000 customers and 100,000 contacts (five per
// customer), with two leads and an opportunity for every tenth customer.
func bigCRM() *crmfile.File {
	f := &crmfile.File{Employees: []model.Employee{{ID: 1, Name: "Anna", Email: "anna@dedenet.de", Active: true}}}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for c := int64(1); c <= 20000; c++ {
		f.Customers = append(f.Customers, model.Customer{ID: c, Number: fmt.Sprint(10000 + c), Name: fmt.Sprintf("Kunde %d", c), Email: fmt.Sprintf("info@kunde%d.de", c)})
		for k := int64(0); k < 5; k++ {
			id := c*5 + k
			f.Contacts = append(f.Contacts, model.Contact{ID: id, CustomerID: c, Name: fmt.Sprintf("Kontakt %d", id), Email: fmt.Sprintf("kontakt%d@kunde%d.de", k, c)})
		}
		if c%10 == 0 {
			f.Leads = append(f.Leads,
				model.Lead{ID: c * 2, CustomerID: c, Status: model.LeadInProgress, CreatedAt: created},
				model.Lead{ID: c*2 + 1, CustomerID: c, Status: model.LeadWon, CreatedAt: created})
			f.Opportunities = append(f.Opportunities, model.Opportunity{ID: c, CustomerID: c, Status: model.OpportunityInProgress, CreatedAt: created})
		}
	}
	return f
}

// BenchmarkMatchWithSQL measures a whole decision (Prepare, the SQL look-up,
// Decide) per message against a 100,000-contact directory; messages/s is
// the figure DESIGN's target is stated in. Run it with
// go test -run '^$' -bench MatchWithSQL -benchtime 20000x ./internal/store/
func BenchmarkMatchWithSQL(b *testing.B) {
	crm := bigCRM()
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			s := storetest.Open(b, dialect)
			ctx := context.Background()
			if _, err := s.ImportCRM(ctx, crm); err != nil {
				b.Fatal(err)
			}
			settings, _ := s.Settings(ctx)
			employees, _ := s.EmployeeAddresses(ctx)
			rules := match.NewRules(settings, employees)
			// A mix: exact contacts, unknown people at customer domains, strangers.
			senders := make([]string, 0, 3000)
			for i := 1; i <= 1000; i++ {
				c := (i*7919)%20000 + 1
				senders = append(senders, fmt.Sprintf("kontakt%d@kunde%d.de", i%5, c), fmt.Sprintf("neu%d@kunde%d.de", i, c), fmt.Sprintf("x%d@fremd%d.com", i, i))
			}
			b.ResetTimer()
			start := time.Now()
			var n int64
			// A worker runs many tasks at once; the look-up waits on the database.
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					in := &match.Input{
						Message: model.Message{From: &model.Recipient{EmailAddress: model.EmailAddress{Address: senders[i%len(senders)]}}},
						Mailbox: "anna@dedenet.de",
						Folder:  []model.FolderRef{{WellKnownName: "inbox"}},
						Rules:   rules,
					}
					i++
					p := match.Prepare(in)
					if p.Done {
						b.Errorf("unexpected early decision %+v", p.Decision)
						return
					}
					l, err := s.Lookup(ctx, p)
					if err != nil {
						b.Error(err)
						return
					}
					_ = match.Decide(in, p, l)
				}
			})
			n = int64(b.N)
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

var _ = store.Postgres
