// Package explain describes stored decisions for people: the text that
// `connector explain`, the /ops decision pages and the CRM API show. The
// sentences about reason codes come from internal/match, next to the codes;
// the store only returns data.
package explain

import (
	"fmt"
	"strings"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/store"
)

// Decision describes a stored decision line by line.
func Decision(d store.Decision) string {
	var b strings.Builder
	p := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "  %-18s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(&b, "message %s (employee %d)\n", d.GraphMessageID, d.EmployeeID)
	p("subject", "%s", d.Subject)
	p("folder", "%s", d.Folder)
	// In UTC: SQLite hands back UTC, pgx local time.
	p("decided", "%s", d.CreatedAt.UTC().Format("2006-01-02 15:04:05 MST"))
	p("outcome", "%s (%s)", d.Outcome, match.ReasonText(d.Reason))
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
		p("note", "%s", match.AmbiguousText)
	}
	if d.Note != "" {
		p("seen by", "%s", d.Note)
	}
	if len(d.History) > 0 {
		fmt.Fprintf(&b, "  history:\n")
		for _, e := range d.History {
			fmt.Fprintf(&b, "    %s  %s\n", e.At.UTC().Format("2006-01-02 15:04:05"), Event(e))
		}
	}
	return b.String()
}

// Event describes one event of a decision's history.
func Event(e store.DecisionEvent) string {
	d := e.ParsedDetail()
	verdict := func() string {
		s := d.Outcome + " (" + d.Reason
		if d.Rule != "" {
			s += ", " + d.Rule
		}
		if d.CustomerID != nil {
			s += fmt.Sprintf(", customer %d", *d.CustomerID)
		}
		return s + ")"
	}
	via := ""
	if d.Via != "" {
		via = " via " + d.Via
	}
	switch e.Kind {
	case store.EventDecided:
		return fmt.Sprintf("decided %s in %s%s", verdict(), d.Folder, via)
	case store.EventRedecided:
		return fmt.Sprintf("decided again %s, was %s (%s), in %s%s", verdict(), d.FromOutcome, d.FromReason, d.Folder, via)
	case store.EventMoved:
		return fmt.Sprintf("moved from %s to %s%s; still %s", d.FromFolder, d.Folder, via, verdict())
	case store.EventRetroactive:
		s := fmt.Sprintf("decided again after a change (%s): %s, was %s", d.Cause, verdict(), d.FromReason)
		if d.Outcome != "ignored" {
			s = "imported retroactively after a change (" + d.Cause + "): " + verdict() + ", was " + d.FromReason
		}
		if d.ActivityID != nil {
			s += fmt.Sprintf(", activity %d", *d.ActivityID)
		}
		return s
	case store.EventFileFiled:
		return fmt.Sprintf("attachment filed: %s (%d bytes)", d.Path, d.Size)
	case store.EventFileMoved:
		return fmt.Sprintf("attachment moved: %s → %s", d.FromPath, d.Path)
	case store.EventNote:
		return d.Text
	default:
		return e.Kind + " " + string(e.Detail)
	}
}
