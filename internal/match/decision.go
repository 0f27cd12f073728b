package match

import "encoding/json"

// Outcomes.
const (
	OutcomeImported = "imported"
	OutcomeIgnored  = "ignored"
	// OutcomeDuplicate is set by the pipeline (rule 10), never by Decide.
	OutcomeDuplicate = "duplicate"
)

// Reason codes.
const (
	ReasonMatched        = "matched"
	ReasonExcludedFolder = "excluded_folder"
	ReasonDraft          = "draft"
	ReasonInternal       = "internal"
	ReasonIgnoredDomain  = "ignored_domain"
	ReasonNoMatch        = "no_match"
)

// reasonTexts explain the reason codes to people (connector explain, /ops).
var reasonTexts = map[string]string{
	ReasonMatched:        "a customer matched",
	ReasonExcludedFolder: "in a folder whose mail is never imported: junk, deleted items, drafts, outbox, archive, hidden folders, …",
	ReasonDraft:          "a draft",
	ReasonInternal:       "no external address: only colleagues or own domains",
	ReasonIgnoredDomain:  "every external address is at an ignored domain",
	ReasonNoMatch:        "no contact or customer has these addresses or domains",
}

// ReasonText explains a reason code in a sentence; an unknown code is
// returned as it is.
func ReasonText(reason string) string {
	if t, ok := reasonTexts[reason]; ok {
		return t
	}
	return reason
}

// AmbiguousText explains Decision.Ambiguous (rule 6: several customers).
const AmbiguousText = "several customers matched; the lowest ID was chosen"

// Directions.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
)

// Matching rules that produced a hit.
const (
	RuleContactExact        = "contact_exact"
	RuleCustomerFullAddress = "customer_full_address"
	RuleCustomerDomain      = "customer_domain"
)

// Decision is the matcher's verdict on one message. Empty Direction, Rule
// and MatchedAddress marshal as JSON null; nil IDs mean "none".
type Decision struct {
	Outcome        string   `json:"outcome"`
	Reason         string   `json:"reason"`
	Direction      string   `json:"direction"`
	Rule           string   `json:"rule"`
	MatchedAddress string   `json:"matched_address"`
	CustomerID     *int64   `json:"customer_id"`
	ContactID      *int64   `json:"contact_id"`
	LeadID         *int64   `json:"lead_id"`
	OpportunityID  *int64   `json:"opportunity_id"`
	Ambiguous      bool     `json:"ambiguous"`
	Candidates     []string `json:"candidates"`
	// RawCandidates are the normalised SMTP candidates before the drops of
	// rule 3 (owner, employees, own domains), kept so that the decision can
	// be made again from what is stored (Redecide). Not part of the JSON
	// form (`connector match` prints the decision as DESIGN §4 defines it).
	RawCandidates []string `json:"-"`
}

// Imported reports whether the message is to become an activity.
func (d Decision) Imported() bool { return d.Outcome == OutcomeImported }

// MarshalJSON writes empty strings as null and nil Candidates as [],
// keeping the field order of the type.
func (d Decision) MarshalJSON() ([]byte, error) {
	cands := d.Candidates
	if cands == nil {
		cands = []string{}
	}
	return json.Marshal(wireDecision{
		Outcome:        d.Outcome,
		Reason:         d.Reason,
		Direction:      nullable(d.Direction),
		Rule:           nullable(d.Rule),
		MatchedAddress: nullable(d.MatchedAddress),
		CustomerID:     d.CustomerID,
		ContactID:      d.ContactID,
		LeadID:         d.LeadID,
		OpportunityID:  d.OpportunityID,
		Ambiguous:      d.Ambiguous,
		Candidates:     cands,
	})
}

// wireDecision is Decision as written to JSON.
type wireDecision struct {
	Outcome        string   `json:"outcome"`
	Reason         string   `json:"reason"`
	Direction      *string  `json:"direction"`
	Rule           *string  `json:"rule"`
	MatchedAddress *string  `json:"matched_address"`
	CustomerID     *int64   `json:"customer_id"`
	ContactID      *int64   `json:"contact_id"`
	LeadID         *int64   `json:"lead_id"`
	OpportunityID  *int64   `json:"opportunity_id"`
	Ambiguous      bool     `json:"ambiguous"`
	Candidates     []string `json:"candidates"`
}

// nullable returns nil for "" and &s otherwise.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ignored returns an ignored decision with the given reason.
func ignored(reason, direction string, candidates []string) Decision {
	return Decision{Outcome: OutcomeIgnored, Reason: reason, Direction: direction, Candidates: candidates}
}
