package store

import (
	"fmt"
	"strings"
)

// Explain describes a decision for people, line by line: what
// `connector explain` prints and the status page shows.
func (d Decision) Explain() string {
	var b strings.Builder
	p := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "  %-18s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(&b, "message %s (employee %d)\n", d.GraphMessageID, d.EmployeeID)
	p("subject", "%s", d.Subject)
	p("folder", "%s", d.Folder)
	// In UTC: SQLite hands back UTC, pgx local time.
	p("decided", "%s", d.CreatedAt.UTC().Format("2006-01-02 15:04:05 MST"))
	p("outcome", "%s (%s)", d.Outcome, ReasonText(d.Reason))
	if d.Direction != "" {
		p("direction", "%s", d.Direction)
	}
	p("candidates", "%s", d.Candidates)
	if d.Rule != "" {
		p("rule", "%s, matched %s", d.Rule, d.MatchedAddress)
	}
	for _, id := range []struct {
		label string
		v     *int64
	}{{"customer", d.CustomerID}, {"contact", d.ContactID}, {"lead", d.LeadID}, {"opportunity", d.OpportunityID}, {"activity", d.ActivityID}} {
		if id.v != nil {
			p(id.label, "%d", *id.v)
		}
	}
	if d.Ambiguous {
		p("note", "several customers matched; the lowest ID was chosen")
	}
	if d.Note != "" {
		p("seen by", "%s", d.Note)
	}
	if len(d.History) > 0 {
		fmt.Fprintf(&b, "  history:\n")
		for _, e := range d.History {
			fmt.Fprintf(&b, "    %s  %s\n", e.At.UTC().Format("2006-01-02 15:04:05"), e.Text())
		}
	}
	return b.String()
}

// ReasonText explains a reason code.
func ReasonText(reason string) string {
	switch reason {
	case "matched":
		return "a customer matched"
	case "excluded_folder":
		return "in a folder whose mail is never imported: junk, deleted items, drafts, outbox, archive, …"
	case "draft":
		return "a draft"
	case "internal":
		return "no external address: only colleagues or own domains"
	case "ignored_domain":
		return "every external address is at an ignored domain"
	case "no_match":
		return "no contact or customer has these addresses or domains"
	default:
		return reason
	}
}
