package match

// Stored is what a stored decision keeps about a message, enough to decide it
// again when the CRM's master data or the settings change (retroactive
// matching, DESIGN §11): the message itself is not needed, and neither is a
// Graph request.
type Stored struct {
	// Direction is the direction recorded (rule 2 does not depend on the
	// directory or the settings).
	Direction string
	// Mailbox and OwnerAddresses are the owner's addresses, as for Input.
	Mailbox        string
	OwnerAddresses []string
	// Raw are the normalised candidates before the drops of rule 3
	// (Decision.RawCandidates); nil when the decision predates their
	// recording.
	Raw []string
	// Candidates are the candidates recorded (after the drops of rule 3),
	// used when Raw is nil. An internal decision recorded none, so without
	// Raw it stays internal.
	Candidates []string
}

// Redecidable reports whether a decision with this reason may turn out
// differently after a change of master data or settings: the ignored
// reasons that depend on them. excluded_folder and draft depend on the
// message only.
func Redecidable(reason string) bool {
	return reason == ReasonNoMatch || reason == ReasonIgnoredDomain || reason == ReasonInternal
}

// PrepareStored applies rules 3 and 4 with the current rules to what a
// decision stored, like Prepare does to a message: the drops of rule 3 are
// made again (an address may have become an employee's, a domain the
// company's own), then the ignored domains. The caller looks up the result
// as after Prepare (batching the look-ups of many decisions is fine: Lookups
// are keyed by address, domain and customer) and calls Decide.
func PrepareStored(r *Rules, s Stored) Prepared {
	o := newOwner(s.Mailbox, s.OwnerAddresses)
	src := s.Raw
	if src == nil {
		src = s.Candidates
	}
	p := Prepared{Direction: s.Direction, Raw: s.Raw}
	for _, a := range src {
		p.Candidates = keep(o, r, p.Candidates, a)
	}
	return finish(r, p)
}

// Redecide decides a stored message again: PrepareStored, then Decide with
// the caller's look-ups.
func Redecide(r *Rules, s Stored, l Lookups) Decision {
	p := PrepareStored(r, s)
	if p.Done {
		return p.Decision
	}
	return Decide(&Input{Rules: r}, p, l)
}
