package explain

import (
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/store"
)

// The store hands back data; the sentences come from match.
func TestDecision(t *testing.T) {
	cust := int64(10)
	d := store.Decision{GraphMessageID: "AAMk-1", EmployeeID: 1, Subject: "Angebot", Folder: "Inbox",
		Outcome: match.OutcomeImported, Reason: match.ReasonMatched, Direction: match.DirectionInbound,
		Rule: match.RuleCustomerDomain, MatchedAddress: "a@kunde.example", CustomerID: &cust, Ambiguous: true,
		Candidates: `["a@kunde.example"]`, Note: "notification"}
	out := Decision(d)
	for _, want := range []string{
		"message AAMk-1 (employee 1)",
		"outcome:           imported (" + match.ReasonText(match.ReasonMatched) + ")",
		"rule:              customer_domain, matched a@kunde.example",
		"customer:          10",
		"note:              " + match.AmbiguousText,
		"seen by:           notification",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explanation lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "contact:") {
		t.Errorf("explanation shows an absent contact:\n%s", out)
	}
}
