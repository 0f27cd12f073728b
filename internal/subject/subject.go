// Package subject computes the base subject of an e-mail subject: what is
// left when the reply and forward markers that mail clients add are removed,
// so that all mails of one conversation share it.
//
// The algorithm is that of RFC 5256 section 2.1, extended by the reply and
// forward prefixes that localized clients (Outlook above all) write. Base
// applies these steps in order:
//
//  1. Decode RFC 2047 encoded-words to UTF-8 (an unknown charset leaves the
//     subject undecoded), replace invalid UTF-8 by U+FFFD, normalise to NFC,
//     turn every white-space or control character into a space, collapse runs
//     of spaces into one and trim both ends.
//  2. Remove trailers at the end, repeatedly: "(fwd)" and spaces.
//  3. Remove leaders at the start, repeatedly: a space, or a prefix with any
//     number of blobs before it. A blob is "[", text without brackets, "]" and
//     the spaces after it. A prefix is one of the words below, then optional
//     spaces, an optional counter (a blob such as "[2]", or "(2)", or "^2"),
//     optional spaces and a colon, ":" or the full-width "：".
//  4. Remove a blob at the start if text remains after it; go back to step 3
//     until neither step 3 nor step 4 removes anything.
//  5. If the result is "[fwd:" … "]", remove that wrapper and go back to
//     step 2.
//
// The prefix words, matched case-insensitively and only at the start of what
// is left, are those of RFC 5256 (re, fw, fwd) and: AW, WG (German); SV
// (Scandinavian reply); VS (Danish forward, Finnish reply); VL (Finnish
// forward); TR (French forward); RV (Spanish forward); RIF, I (Italian); ENC
// (Portuguese forward); ODP, PD (Polish); YNT, ILT, İLT (Turkish); Antw, Doorst
// (Dutch); ΑΠ, ΣΧΕΤ, ΠΡΘ (Greek); 回复, 答复, 转发 (Chinese) and 回覆, 轉寄
// (traditional Chinese). So "I: Offerta" is a reply, "Info: x" and "IT: x"
// are not, and "Angebot: Projekt X" stays as it is.
//
// Base keeps the original case; compare base subjects case-insensitively,
// or compare their Key.
package subject

import (
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Base returns the base subject of subject (see the package comment): in its
// original case, NFC-normalised, with white space collapsed and trimmed. It is
// empty if nothing but markers and white space is left.
func Base(subject string) string {
	s := normalize(decode(subject))
	for {
		s = stripLeaders(stripTrailers(s))
		inner, ok := unwrapFwd(s)
		if !ok {
			return s
		}
		s = inner
	}
}

// Key returns Base(subject) case-folded (full Unicode folding, then NFC), for
// deciding whether two mails belong to the same thread and for grouping.
func Key(subject string) string {
	return norm.NFC.String(cases.Fold().String(Base(subject)))
}

// stripTrailers removes "(fwd)" and spaces from the end of s (step 2).
func stripTrailers(s string) string {
	const fwd = "(fwd)"
	for {
		switch {
		case strings.HasSuffix(s, " "):
			s = s[:len(s)-1]
		case len(s) >= len(fwd) && strings.EqualFold(s[len(s)-len(fwd):], fwd):
			s = s[:len(s)-len(fwd)]
		default:
			return s
		}
	}
}

// stripLeaders removes spaces, prefixes with their blobs, and leading blobs
// from the start of s (steps 3 and 4).
func stripLeaders(s string) string {
	for {
		s = strings.TrimLeft(s, " ")
		end, last, isLeader := scanLeader(s)
		switch {
		case isLeader:
			s = s[end:]
		case end == 0:
			return s
		case end < len(s):
			// Step 4 would remove these blobs one by one, as none of
			// them is followed by a prefix and text follows them all.
			s = s[end:]
		default:
			// Only blobs are left: step 4 removes all but the last.
			return s[last:]
		}
	}
}

// unwrapFwd returns what is inside s if s is "[fwd:" … "]" (step 5).
func unwrapFwd(s string) (string, bool) {
	const hdr = "[fwd:"
	if !hasPrefixFold(s, hdr) || !strings.HasSuffix(s, "]") {
		return s, false
	}
	return s[len(hdr) : len(s)-1], true
}
