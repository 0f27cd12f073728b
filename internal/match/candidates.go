package match

import (
	"github.com/dedesales/exchange-connector/internal/address"
	"github.com/dedesales/exchange-connector/internal/model"
)

// owner holds the normalised addresses of the mailbox owner. The first
// few live in an array so that Prepare does not allocate for them.
type owner struct {
	mailbox string
	inline  [3]string
	n       int      // used entries of inline
	extra   []string // the rest
}

// init normalises mailbox and the owner's further addresses into o.
func (o *owner) init(mailbox string, others []string) {
	o.mailbox, _ = address.Normalize(mailbox)
	for _, raw := range others {
		if raw == mailbox {
			continue // common: the employee e-mail is the mailbox
		}
		a, ok := address.Normalize(raw)
		switch {
		case !ok || o.is(a):
		case o.n < len(o.inline):
			o.inline[o.n] = a
			o.n++
		default:
			o.extra = append(o.extra, a)
		}
	}
}

// is reports whether the normalised address a is the owner's.
func (o *owner) is(a string) bool {
	return a == o.mailbox || contains(o.inline[:o.n], a) || contains(o.extra, a)
}

// isOwnDomain reports whether d is one of the company's domains.
func (o *owner) isOwnDomain(r *Rules, d string) bool {
	if r.own.contains(d) {
		return true
	}
	if !r.ownDerived || o.mailbox == "" {
		return false
	}
	md := address.Domain(o.mailbox)
	return !r.isFullMatch(md) && address.InDomain(d, md)
}

// collect applies rule 3 to the normalised sender (when not empty) and the
// raw recipient lists. It returns the candidates, the raw candidates (every
// normalised SMTP address before the drops, without duplicates; stored so
// that a decision can be made again when the rules change) and an empty
// slice with room for as many strings, which Prepare uses for the domains:
// one allocation serves the whole message.
func collect(o *owner, r *Rules, sender string, lists ...[]model.Recipient) (cands, raw, spare []string) {
	n := 0
	if sender != "" {
		n++
	}
	for _, l := range lists {
		n += len(l)
	}
	if n == 0 {
		return nil, nil, nil
	}
	buf := make([]string, 3*n)
	cands, raw = buf[:0:n], buf[n:n:2*n]
	if sender != "" {
		raw = append(raw, sender)
	}
	for _, l := range lists {
		for i := range l {
			if a, ok := address.Normalize(l[i].EmailAddress.Address); ok && !contains(raw, a) {
				raw = append(raw, a)
			}
		}
	}
	for _, a := range raw {
		cands = keep(o, r, cands, a)
	}
	return cands, raw, buf[2*n : 2*n]
}

// keep appends the normalised address a to cands unless rule 3 drops it.
func keep(o *owner, r *Rules, cands []string, a string) []string {
	if o.is(a) || r.isEmployee(a) || o.isOwnDomain(r, address.Domain(a)) {
		return cands
	}
	for _, c := range cands {
		if c == a {
			return cands
		}
	}
	return append(cands, a)
}

// dropIgnored applies rule 4. It returns cands itself when nothing is
// dropped.
func dropIgnored(r *Rules, cands []string) []string {
	first := -1
	for i, c := range cands {
		if r.ignored.contains(address.Domain(c)) {
			first = i
			break
		}
	}
	if first < 0 {
		return cands
	}
	out := make([]string, first, len(cands))
	copy(out, cands[:first])
	for _, c := range cands[first+1:] {
		if !r.ignored.contains(address.Domain(c)) {
			out = append(out, c)
		}
	}
	return out
}

// lookupDomains appends the distinct non-free-mail domains of addrs to buf.
func lookupDomains(r *Rules, addrs, buf []string) []string {
	out := buf[:0]
	for _, a := range addrs {
		d := address.Domain(a)
		if r.isFullMatch(d) || contains(out, d) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
