package match

import (
	"strings"

	"github.com/dedesales/exchange-connector/internal/address"
	"github.com/dedesales/exchange-connector/internal/model"
)

// Input is everything the matcher needs about one message except the
// directory look-ups.
type Input struct {
	Message        model.Message     // Graph message
	Mailbox        string            // owner's mailbox SMTP address
	OwnerAddresses []string          // further addresses of the owner (employee e-mail)
	Folder         []model.FolderRef // path below msgfolderroot, top-level first
	// Rules are the compiled settings and employee addresses (NewRules);
	// required. Build them once per settings change, not per message.
	Rules *Rules
}

// Prepared is the result of rules 1–4. When Done, Decision holds the final
// (ignored) decision. Otherwise the caller looks up Addresses and Domains
// and passes the result to Decide.
type Prepared struct {
	Done     bool
	Decision Decision
	// Direction is inbound or outbound once the folder rule passed.
	Direction string
	// Candidates are the normalised candidates after rule 3 (recorded in the
	// decision).
	Candidates []string
	// Raw are the normalised candidates before the drops of rule 3 (recorded
	// in the decision for deciding again, see Redecide).
	Raw []string
	// Addresses are the candidates left after rule 4, in order: look up
	// contacts and customers whose normalised e-mail equals each.
	Addresses []string
	// Domains are the distinct domains of Addresses, without free-mail
	// (full_match_domains) domains, which rule 6 never compares by domain:
	// look up customers whose e-mail domain or extra domain equals each.
	Domains []string
}

// Prepare applies rules 1–4.
func Prepare(in *Input) Prepared {
	if ExcludedFolder(in.Folder) {
		return done(ignored(ReasonExcludedFolder, "", nil), nil)
	}
	if in.Message.IsDraft {
		return done(ignored(ReasonDraft, "", nil), nil)
	}
	r := in.Rules
	o := newOwner(in.Mailbox, in.OwnerAddresses)
	sender, _ := address.Normalize(senderAddress(&in.Message))
	dir := direction(in.Folder, o, sender)
	p := Prepared{Direction: dir}
	if dir == DirectionInbound {
		p.Candidates, p.Raw = collect(o, r, sender)
	} else {
		p.Candidates, p.Raw = collect(o, r, "", in.Message.ToRecipients, in.Message.CcRecipients)
	}
	return finish(r, p)
}

// finish applies rule 4 to p's candidates and lists the look-ups.
func finish(r *Rules, p Prepared) Prepared {
	if len(p.Candidates) == 0 {
		return done(ignored(ReasonInternal, p.Direction, p.Candidates), p.Raw)
	}
	p.Addresses = dropIgnored(r, p.Candidates)
	if len(p.Addresses) == 0 {
		return done(ignored(ReasonIgnoredDomain, p.Direction, p.Candidates), p.Raw)
	}
	p.Domains = lookupDomains(r, p.Addresses)
	return p
}

// done wraps a final decision.
func done(d Decision, raw []string) Prepared {
	d.RawCandidates = raw
	return Prepared{Done: true, Decision: d, Direction: d.Direction, Candidates: d.Candidates, Raw: raw}
}

// direction applies rule 2 to a considered folder; sender is normalised.
func direction(path []model.FolderRef, o owner, sender string) string {
	switch wk := topWellKnown(path); {
	case strings.EqualFold(wk, "inbox"):
		return DirectionInbound
	case strings.EqualFold(wk, "sentitems"):
		return DirectionOutbound
	}
	if sender != "" && o.is(sender) {
		return DirectionOutbound
	}
	return DirectionInbound
}

// senderAddress returns the raw sender address: from, else sender. An X.500
// address is replaced by the SMTP address in the extended properties:
// PidTagSentRepresentingSmtpAddress (0x5D02, the from address) when from is
// used, then PidTagSenderSmtpAddress (0x5D01).
func senderAddress(m *model.Message) string {
	raw, isFrom := "", false
	if m.From != nil && strings.TrimSpace(m.From.EmailAddress.Address) != "" {
		raw, isFrom = m.From.EmailAddress.Address, true
	} else if m.Sender != nil {
		raw = m.Sender.EmailAddress.Address
	}
	if !address.IsX500(raw) {
		return raw
	}
	if isFrom {
		if v := extendedProperty(m, "String 0x5D02"); v != "" {
			return v
		}
	}
	if v := extendedProperty(m, "String 0x5D01"); v != "" {
		return v
	}
	return raw
}

// extendedProperty returns the value of the single-value extended property
// with the given ID (compared case-insensitively), or "".
func extendedProperty(m *model.Message, id string) string {
	for _, p := range m.SingleValueExtendedProperties {
		if strings.EqualFold(strings.TrimSpace(p.ID), id) {
			return strings.TrimSpace(p.Value)
		}
	}
	return ""
}
