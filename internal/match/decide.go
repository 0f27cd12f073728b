package match

import (
	"github.com/dedesales/exchange-connector/internal/address"
	"github.com/dedesales/exchange-connector/internal/model"
)

// Lookups are the directory records the caller found for a Prepared.
type Lookups struct {
	// ContactsByAddress: contacts whose normalised e-mail equals the key.
	ContactsByAddress map[string][]model.Contact
	// CustomersByAddress: customers whose normalised e-mail equals the key
	// (full-address rule).
	CustomersByAddress map[string][]model.Customer
	// CustomersByDomain: customers whose e-mail domain or an extra domain
	// equals the key.
	CustomersByDomain map[string][]model.Customer
	// Leads: every lead of every customer named above, including the
	// customers of the contacts (any status; Decide filters).
	Leads map[int64][]model.Lead
	// Opportunities: every opportunity of those customers.
	Opportunities map[int64][]model.Opportunity
}

// hit is the result of rules 5 and 6.
type hit struct {
	rule       string
	address    string
	customerID int64
	contactID  int64 // 0 for customer rules
	ambiguous  bool
}

// Decide applies rules 5–9 to a Prepared and the caller's look-ups.
func Decide(in *Input, p Prepared, l Lookups) Decision {
	if p.Done {
		return p.Decision
	}
	r := in.Rules
	h, ok := matchContact(p.Addresses, l)
	if !ok {
		h, ok = matchCustomer(r, p.Addresses, l)
	}
	var d Decision
	if ok {
		d = imported(r, p, l, h)
	} else {
		d = ignored(ReasonNoMatch, p.Direction, p.Candidates)
	}
	d.RawCandidates = p.Raw
	return d
}

// imported builds the decision for a hit, choosing lead and opportunity.
func imported(r *Rules, p Prepared, l Lookups, h hit) Decision {
	ids := new([4]int64) // one allocation for all IDs
	d := Decision{
		Outcome:        OutcomeImported,
		Reason:         ReasonMatched,
		Direction:      p.Direction,
		Rule:           h.rule,
		MatchedAddress: h.address,
		Ambiguous:      h.ambiguous,
		Candidates:     p.Candidates,
	}
	ids[0] = h.customerID
	d.CustomerID = &ids[0]
	if h.contactID != 0 {
		ids[1] = h.contactID
		d.ContactID = &ids[1]
	}
	if id, ok := firstLead(l.Leads[h.customerID]); ok {
		ids[2] = id
		d.LeadID = &ids[2]
	}
	if r.opportunities {
		if id, ok := firstOpportunity(l.Opportunities[h.customerID]); ok {
			ids[3] = id
			d.OpportunityID = &ids[3]
		}
	}
	return d
}

// matchContact applies rule 5.
func matchContact(addrs []string, l Lookups) (hit, bool) {
	if len(l.ContactsByAddress) == 0 {
		return hit{}, false
	}
	for _, a := range addrs {
		cs := l.ContactsByAddress[a]
		if len(cs) == 0 {
			continue
		}
		best := cs[0]
		ambiguous := false
		for _, c := range cs[1:] {
			ambiguous = ambiguous || c.CustomerID != best.CustomerID
			if c.ID < best.ID {
				best = c
			}
		}
		return hit{rule: RuleContactExact, address: a, customerID: best.CustomerID, contactID: best.ID, ambiguous: ambiguous}, true
	}
	return hit{}, false
}

// matchCustomer applies rule 6.
func matchCustomer(r *Rules, addrs []string, l Lookups) (hit, bool) {
	for _, a := range addrs {
		d := address.Domain(a)
		rule, cs := RuleCustomerDomain, l.CustomersByDomain[d]
		if r.isFullMatch(d) {
			rule, cs = RuleCustomerFullAddress, l.CustomersByAddress[a]
		}
		if id, ambiguous, ok := lowestCustomer(cs); ok {
			return hit{rule: rule, address: a, customerID: id, ambiguous: ambiguous}, true
		}
	}
	return hit{}, false
}

// lowestCustomer returns the lowest customer ID in cs and whether cs names
// more than one customer.
func lowestCustomer(cs []model.Customer) (id int64, ambiguous, ok bool) {
	if len(cs) == 0 {
		return 0, false, false
	}
	id = cs[0].ID
	for _, c := range cs[1:] {
		if c.ID != id {
			ambiguous = true
		}
		id = min(id, c.ID)
	}
	return id, ambiguous, true
}

// firstLead returns the oldest open lead (in_progress or deferred; ties by
// lowest ID).
func firstLead(leads []model.Lead) (int64, bool) {
	var best *model.Lead
	for i := range leads {
		c := &leads[i]
		if c.Status != model.LeadInProgress && c.Status != model.LeadDeferred {
			continue
		}
		if best == nil || c.CreatedAt.Before(best.CreatedAt) || c.CreatedAt.Equal(best.CreatedAt) && c.ID < best.ID {
			best = c
		}
	}
	if best == nil {
		return 0, false
	}
	return best.ID, true
}

// firstOpportunity returns the oldest in_progress opportunity (ties by
// lowest ID).
func firstOpportunity(opps []model.Opportunity) (int64, bool) {
	var best *model.Opportunity
	for i := range opps {
		c := &opps[i]
		if c.Status != model.OpportunityInProgress {
			continue
		}
		if best == nil || c.CreatedAt.Before(best.CreatedAt) || c.CreatedAt.Equal(best.CreatedAt) && c.ID < best.ID {
			best = c
		}
	}
	if best == nil {
		return 0, false
	}
	return best.ID, true
}
