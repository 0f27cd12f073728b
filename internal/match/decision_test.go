package match

import "testing"

// Every reason code has a sentence for people; an unknown code shows as it is.
func TestReasonText(t *testing.T) {
	for _, r := range []string{ReasonMatched, ReasonExcludedFolder, ReasonDraft, ReasonInternal, ReasonIgnoredDomain, ReasonNoMatch} {
		if got := ReasonText(r); got == r || got == "" {
			t.Errorf("ReasonText(%q) = %q, want a sentence", r, got)
		}
	}
	if len(reasonTexts) != 6 {
		t.Errorf("%d reason texts for 6 reason codes: add the new code to the list above", len(reasonTexts))
	}
	if got := ReasonText("from_the_future"); got != "from_the_future" {
		t.Errorf("unknown code: %q", got)
	}
}
