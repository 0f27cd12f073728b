package match

import (
	"strings"

	"github.com/dedesales/exchange-connector/internal/address"
	"github.com/dedesales/exchange-connector/internal/model"
)

// Rules is the compiled, normalised form of the settings and the employee
// addresses. Build it once per settings change with NewRules and pass it in
// Input.Rules; it is read-only and safe for concurrent use.
type Rules struct {
	employees     map[string]struct{}
	own           domainSet
	ownDerived    bool // own domains came from the employees' addresses
	ignored       domainSet
	fullMatch     map[string]struct{}
	opportunities bool
}

// NewRules compiles settings and the addresses of all employees (e-mails and
// mailboxes). When s.OwnDomains is empty the own domains are the domains of
// employeeAddresses, except free-mail domains listed in s.FullMatchDomains
// (an employee's private Gmail address must not make gmail.com internal).
func NewRules(s model.Settings, employeeAddresses []string) *Rules {
	r := &Rules{
		employees:     make(map[string]struct{}, len(employeeAddresses)),
		own:           newDomainSet(s.OwnDomains),
		ignored:       newDomainSet(s.IgnoredDomains),
		fullMatch:     newDomainSet(s.FullMatchDomains),
		opportunities: s.OpportunitiesModule,
	}
	for _, raw := range employeeAddresses {
		if a, ok := address.Normalize(raw); ok {
			r.employees[a] = struct{}{}
		}
	}
	if len(r.own) == 0 {
		r.ownDerived = true
		for a := range r.employees {
			r.addDerivedOwn(address.Domain(a))
		}
	}
	return r
}

// addDerivedOwn adds d to the own domains unless it is a free-mail domain.
func (r *Rules) addDerivedOwn(d string) {
	if _, free := r.fullMatch[d]; !free && d != "" {
		r.own[d] = struct{}{}
	}
}

// isEmployee reports whether the normalised address a belongs to an employee.
func (r *Rules) isEmployee(a string) bool {
	_, ok := r.employees[a]
	return ok
}

// isIgnored reports whether the normalised address a is at an ignored
// domain or one of its subdomains (rule 4).
func (r *Rules) isIgnored(a string) bool {
	return r.ignored.contains(address.Domain(a))
}

// isFullMatch reports whether d is a free-mail domain (full_match_domains).
func (r *Rules) isFullMatch(d string) bool {
	_, ok := r.fullMatch[d]
	return ok
}

// domainSet is a set of normalised domains that also contains their
// subdomains.
type domainSet map[string]struct{}

// newDomainSet normalises domains into a set, skipping empty entries.
func newDomainSet(domains []string) domainSet {
	s := make(domainSet, len(domains))
	for _, d := range domains {
		if n := address.NormalizeDomain(d); n != "" {
			s[n] = struct{}{}
		}
	}
	return s
}

// contains reports whether d or one of its parent domains is in s.
func (s domainSet) contains(d string) bool {
	if len(s) == 0 {
		return false
	}
	for d != "" {
		if _, ok := s[d]; ok {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return false
		}
		d = d[i+1:]
	}
	return false
}
