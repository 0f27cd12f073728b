package match

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dedesales/exchange-connector/internal/model"
)

// ignoreRaw leaves Decision.RawCandidates out of comparisons that are about
// the verdict (TestRedecide checks it).
var ignoreRaw = cmpopts.IgnoreFields(Decision{}, "RawCandidates")

// crm is a directory's records, so that a test can change them.
type crm struct {
	employees []model.Employee
	customers []model.Customer
	contacts  []model.Contact
	leads     []model.Lead
}

func (c crm) directory() *Directory {
	return NewDirectory(c.employees, c.customers, c.contacts, c.leads, nil)
}

// TestRedecide: deciding again from what a decision stored gives the same
// verdict as deciding the message itself, before and after each kind of
// change that retroactive matching reacts to.
func TestRedecide(t *testing.T) {
	base := crm{
		employees: []model.Employee{
			{ID: 1, Email: anna, ExchangeMailbox: ptr(anna)},
			{ID: 2, Email: "peter@dedenet.de", ExchangeMailbox: ptr("peter@dedenet.de")},
		},
		customers: []model.Customer{{ID: 10, Email: "info@kunde.example"}},
		contacts:  []model.Contact{{ID: 100, CustomerID: 10, Email: "hans@kunde.example"}},
		leads:     []model.Lead{{ID: 5, CustomerID: 20, Status: model.LeadInProgress}},
	}
	settings := model.Settings{IgnoredDomains: []string{"newsletter.example"}, FullMatchDomains: []string{"gmx.de"}}
	messages := []struct {
		name   string
		folder []model.FolderRef
		msg    model.Message
	}{
		{"unknown sender", inbox, from("neu@firma-b.example")},
		{"free-mail sender", inbox, from("privat@gmx.de")},
		{"newsletter", inbox, from("info@newsletter.example")},
		{"sent to colleague and unknown", sent, to([]string{"peter@dedenet.de", "x@firma-b.example"}, "y@partner.example")},
		{"sent to colleague only", sent, to([]string{"peter@dedenet.de"})},
		{"sent to own subsidiary", sent, to([]string{"team@tochter.example"})},
		{"known contact", inbox, from("hans@kunde.example")},
		{"no sender", inbox, model.Message{}},
	}
	changes := []struct {
		name     string
		crm      func(c *crm)
		settings func(s *model.Settings)
	}{
		{name: "none"},
		{name: "contact added", crm: func(c *crm) {
			c.customers = append(c.customers, model.Customer{ID: 20, Email: "zentrale@firma-b.example"})
			c.contacts = append(c.contacts, model.Contact{ID: 200, CustomerID: 20, Email: "Neu@Firma-B.example"})
		}},
		{name: "customer with free-mail address", crm: func(c *crm) {
			c.customers = append(c.customers, model.Customer{ID: 30, Email: "privat@gmx.de"})
		}},
		{name: "extra domain", crm: func(c *crm) {
			c.customers[0].Domains = []string{"partner.example", "newsletter.example"}
		}},
		{name: "ignored domain removed", settings: func(s *model.Settings) { s.IgnoredDomains = nil }, crm: func(c *crm) {
			c.customers[0].Domains = []string{"newsletter.example"}
		}},
		{name: "own domains set", settings: func(s *model.Settings) { s.OwnDomains = []string{"tochter.example"} }},
		{name: "colleague leaves", crm: func(c *crm) {
			c.employees = c.employees[:1]
			c.customers = append(c.customers, model.Customer{ID: 40, Email: "x@dedenet.de"})
		}, settings: func(s *model.Settings) { s.OwnDomains = []string{"tochter.example"} }},
		{name: "customer for subsidiary", crm: func(c *crm) {
			c.customers = append(c.customers, model.Customer{ID: 50, Email: "info@tochter.example"})
		}, settings: func(s *model.Settings) { s.OwnDomains = []string{"dedenet.de"} }},
	}
	for _, m := range messages {
		bd := base.directory()
		in := &Input{Message: m.msg, Mailbox: anna, Folder: m.folder, Rules: NewRules(settings, bd.EmployeeAddresses())}
		stored := Match(in, bd)
		if stored.Reason != ReasonNoMatch && stored.Reason != ReasonInternal && stored.Reason != ReasonIgnoredDomain && stored.Reason != ReasonMatched {
			t.Fatalf("%s: unexpected first decision %+v", m.name, stored)
		}
		for _, c := range changes {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				next, s := base, settings
				next.employees = append([]model.Employee(nil), base.employees...)
				next.customers = append([]model.Customer(nil), base.customers...)
				next.contacts = append([]model.Contact(nil), base.contacts...)
				if c.crm != nil {
					c.crm(&next)
				}
				if c.settings != nil {
					c.settings(&s)
				}
				d := next.directory()
				r := NewRules(s, d.EmployeeAddresses())
				want := Match(&Input{Message: m.msg, Mailbox: anna, Folder: m.folder, Rules: r}, d)
				st := Stored{Direction: stored.Direction, Mailbox: anna, OwnerAddresses: d.OwnerAddresses(anna),
					Raw: stored.RawCandidates, Candidates: stored.Candidates}
				p := PrepareStored(r, st)
				got := p.Decision
				if !p.Done {
					got = Decide(&Input{Rules: r}, p, d.Lookup(p))
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("Redecide mismatch (-from the message +from the stored decision):\n%s", diff)
				}
				if diff := cmp.Diff(want, Redecide(r, st, d.Lookup(p)), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("Redecide mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestRedecideWithoutRaw: decisions stored before raw candidates were
// recorded are decided from their candidates; an internal one stays internal.
func TestRedecideWithoutRaw(t *testing.T) {
	d := NewDirectory(nil, []model.Customer{{ID: 7, Email: "a@kunde.example"}}, nil, nil, nil)
	r := NewRules(model.Settings{}, nil)
	got := Redecide(r, Stored{Direction: DirectionInbound, Mailbox: anna, Candidates: []string{"x@kunde.example"}},
		d.Lookup(PrepareStored(r, Stored{Candidates: []string{"x@kunde.example"}})))
	if got.Reason != ReasonMatched || *got.CustomerID != 7 {
		t.Errorf("no_match without raw candidates: got %+v, want customer 7", got)
	}
	if got := Redecide(r, Stored{Direction: DirectionOutbound, Mailbox: anna}, Lookups{}); got.Reason != ReasonInternal {
		t.Errorf("internal without raw candidates: got %s", got.Reason)
	}
}

func TestRawCandidates(t *testing.T) {
	in := &Input{Folder: sent, Mailbox: anna, Rules: NewRules(testSettings(), testDirectory().EmployeeAddresses()),
		Message: to([]string{"Peter.Kraus@dedenet.de", "a@kunde.example", "/o=ExchangeLabs/cn=x", "A@Kunde.example"}, anna, "b@dedenet.de")}
	got := Match(in, testDirectory())
	want := []string{"peter.kraus@dedenet.de", "a@kunde.example", anna, "b@dedenet.de"}
	if diff := cmp.Diff(want, got.RawCandidates); diff != "" {
		t.Errorf("RawCandidates mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a@kunde.example"}, got.Candidates); diff != "" {
		t.Errorf("Candidates mismatch (-want +got):\n%s", diff)
	}
}
