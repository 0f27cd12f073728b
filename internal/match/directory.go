package match

import (
	"slices"

	"github.com/dedesales/exchange-connector/internal/address"
	"github.com/dedesales/exchange-connector/internal/model"
)

// Directory is an in-memory CRM directory: the offline `connector match`
// command and the tests use it where the worker uses SQL look-ups. It is
// read-only after NewDirectory and safe for concurrent use.
type Directory struct {
	employeeAddresses  []string
	ownerAddresses     map[string][]string // normalised mailbox → e-mail
	contactsByAddress  map[string][]model.Contact
	customersByAddress map[string][]model.Customer
	customersByDomain  map[string][]model.Customer
	leads              map[int64][]model.Lead
	opportunities      map[int64][]model.Opportunity
}

// NewDirectory indexes the given records by normalised address and domain.
// Addresses that do not normalise are not indexed.
func NewDirectory(employees []model.Employee, customers []model.Customer, contacts []model.Contact,
	leads []model.Lead, opportunities []model.Opportunity) *Directory {
	d := &Directory{
		ownerAddresses:     map[string][]string{},
		contactsByAddress:  map[string][]model.Contact{},
		customersByAddress: map[string][]model.Customer{},
		customersByDomain:  map[string][]model.Customer{},
		leads:              map[int64][]model.Lead{},
		opportunities:      map[int64][]model.Opportunity{},
	}
	d.addEmployees(employees)
	d.addCustomers(customers)
	for _, c := range contacts {
		if a, ok := address.Normalize(c.Email); ok {
			d.contactsByAddress[a] = append(d.contactsByAddress[a], c)
		}
	}
	for _, l := range leads {
		d.leads[l.CustomerID] = append(d.leads[l.CustomerID], l)
	}
	for _, o := range opportunities {
		d.opportunities[o.CustomerID] = append(d.opportunities[o.CustomerID], o)
	}
	return d
}

// addEmployees records the employees' e-mails and mailboxes.
func (d *Directory) addEmployees(employees []model.Employee) {
	for _, e := range employees {
		email, okEmail := address.Normalize(e.Email)
		if okEmail {
			d.employeeAddresses = append(d.employeeAddresses, email)
		}
		if e.ExchangeMailbox == nil {
			continue
		}
		if mbox, ok := address.Normalize(*e.ExchangeMailbox); ok {
			d.employeeAddresses = append(d.employeeAddresses, mbox)
			if okEmail && email != mbox {
				d.ownerAddresses[mbox] = append(d.ownerAddresses[mbox], email)
			}
		}
	}
}

// addCustomers indexes customers by e-mail, e-mail domain and extra domains.
func (d *Directory) addCustomers(customers []model.Customer) {
	for _, c := range customers {
		var domains []string
		if a, ok := address.Normalize(c.Email); ok {
			d.customersByAddress[a] = append(d.customersByAddress[a], c)
			domains = append(domains, address.Domain(a))
		}
		for _, x := range c.Domains {
			if n := address.NormalizeDomain(x); n != "" && !slices.Contains(domains, n) {
				domains = append(domains, n)
			}
		}
		for _, dom := range domains {
			d.customersByDomain[dom] = append(d.customersByDomain[dom], c)
		}
	}
}

// EmployeeAddresses returns the normalised e-mails and mailboxes of all
// employees, for NewRules.
func (d *Directory) EmployeeAddresses() []string { return slices.Clone(d.employeeAddresses) }

// OwnerAddresses returns the further addresses (the employee e-mail) of the
// employee whose Exchange mailbox is mailbox, for Input.OwnerAddresses.
func (d *Directory) OwnerAddresses(mailbox string) []string {
	m, _ := address.Normalize(mailbox)
	return slices.Clone(d.ownerAddresses[m])
}

// Lookup performs the look-ups Prepared asks for, as the SQL store does.
func (d *Directory) Lookup(p Prepared) Lookups {
	l := Lookups{
		ContactsByAddress:  map[string][]model.Contact{},
		CustomersByAddress: map[string][]model.Customer{},
		CustomersByDomain:  map[string][]model.Customer{},
		Leads:              map[int64][]model.Lead{},
		Opportunities:      map[int64][]model.Opportunity{},
	}
	var customers []int64
	for _, a := range p.Addresses {
		if cs := d.contactsByAddress[a]; len(cs) > 0 {
			l.ContactsByAddress[a] = cs
			for _, c := range cs {
				customers = append(customers, c.CustomerID)
			}
		}
		if cs := d.customersByAddress[a]; len(cs) > 0 {
			l.CustomersByAddress[a] = cs
			customers = appendIDs(customers, cs)
		}
	}
	for _, dom := range p.Domains {
		if cs := d.customersByDomain[dom]; len(cs) > 0 {
			l.CustomersByDomain[dom] = cs
			customers = appendIDs(customers, cs)
		}
	}
	for _, id := range customers {
		if ls := d.leads[id]; len(ls) > 0 {
			l.Leads[id] = ls
		}
		if os := d.opportunities[id]; len(os) > 0 {
			l.Opportunities[id] = os
		}
	}
	return l
}

// appendIDs appends the IDs of cs to ids.
func appendIDs(ids []int64, cs []model.Customer) []int64 {
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

// Match runs Prepare, d.Lookup and Decide. When in leaves OwnerAddresses
// nil, the e-mail of the employee owning in.Mailbox is used; in itself is
// not modified. in.Rules are required: NewRules(settings, d.EmployeeAddresses()).
func Match(in *Input, d *Directory) Decision {
	c := *in
	if c.OwnerAddresses == nil {
		c.OwnerAddresses = d.ownerAddresses[normalized(c.Mailbox)]
	}
	p := Prepare(&c)
	if p.Done {
		return p.Decision
	}
	return Decide(&c, p, d.Lookup(p))
}

// normalized returns the normalised address or "".
func normalized(raw string) string {
	a, _ := address.Normalize(raw)
	return a
}
