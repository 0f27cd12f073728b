package match

import (
	"slices"

	"github.com/dedesales/exchange-connector/internal/address"
	"github.com/dedesales/exchange-connector/internal/model"
)

// owner holds the normalised addresses of the mailbox owner.
type owner struct {
	mailbox string
	others  []string // further addresses, without the mailbox
}

// newOwner normalises mailbox and the owner's further addresses.
func newOwner(mailbox string, others []string) owner {
	var o owner
	o.mailbox, _ = address.Normalize(mailbox)
	for _, raw := range others {
		if a, ok := address.Normalize(raw); ok && !o.is(a) {
			o.others = append(o.others, a)
		}
	}
	return o
}

// is reports whether the normalised address a is the owner's.
func (o owner) is(a string) bool {
	return a == o.mailbox || slices.Contains(o.others, a)
}

// isOwnDomain reports whether d is one of the company's domains.
func (o owner) isOwnDomain(r *Rules, d string) bool {
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
// raw recipient lists, in order. It returns the candidates and the raw
// candidates: every normalised SMTP address before the drops, without
// duplicates, stored so that a decision can be made again when the rules
// change (Redecide).
func collect(o owner, r *Rules, sender string, lists ...[]model.Recipient) (cands, raw []string) {
	n := 0
	if sender != "" {
		n++
	}
	for _, l := range lists {
		n += len(l)
	}
	if n == 0 {
		return nil, nil
	}
	raw = make([]string, 0, n)
	if sender != "" {
		raw = append(raw, sender)
	}
	for _, l := range lists {
		for i := range l {
			if a, ok := address.Normalize(l[i].EmailAddress.Address); ok && !slices.Contains(raw, a) {
				raw = append(raw, a)
			}
		}
	}
	cands = make([]string, 0, len(raw))
	for _, a := range raw {
		cands = keep(o, r, cands, a)
	}
	return cands, raw
}

// keep appends the normalised address a to cands unless rule 3 drops it or
// it is there already.
func keep(o owner, r *Rules, cands []string, a string) []string {
	if o.is(a) || r.isEmployee(a) || o.isOwnDomain(r, address.Domain(a)) || slices.Contains(cands, a) {
		return cands
	}
	return append(cands, a)
}

// dropIgnored applies rule 4; when nothing is dropped it returns cands
// itself.
func dropIgnored(r *Rules, cands []string) []string {
	if !slices.ContainsFunc(cands, r.isIgnored) {
		return cands
	}
	return slices.DeleteFunc(slices.Clone(cands), r.isIgnored)
}

// lookupDomains returns the distinct domains of addrs that rule 6 compares
// by domain (all but the free-mail ones).
func lookupDomains(r *Rules, addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		d := address.Domain(a)
		if !r.isFullMatch(d) && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}
