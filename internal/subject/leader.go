package subject

import "strings"

// prefixes are the words that, followed by a colon, mark a reply or forward.
var prefixes = []string{
	// RFC 5256
	"re", "fw", "fwd",
	// German
	"aw", "wg",
	// Scandinavian and Finnish
	"sv", "vs", "vl",
	// French, Spanish
	"tr", "rv",
	// Italian
	"rif", "i",
	// Portuguese
	"enc",
	// Polish
	"odp", "pd",
	// Turkish; Outlook writes İLT, and İ does not fold to I
	"ynt", "ilt", "İlt",
	// Dutch
	"antw", "doorst",
	// Greek
	"απ", "σχετ", "πρθ",
	// Chinese, then traditional Chinese
	"回复", "答复", "转发", "回覆", "轉寄",
}

// scanLeader scans the blobs at the start of s. If a prefix follows them, it
// returns the offset after the prefix and isLeader true; otherwise the offset
// after the blobs. last is the offset of the last blob scanned.
func scanLeader(s string) (end, last int, isLeader bool) {
	for {
		if n := prefixLen(s[end:]); n > 0 {
			return end + n, last, true
		}
		n := blobLen(s[end:])
		if n == 0 {
			return end, last, false
		}
		last, end = end, end+n
	}
}

// prefixLen returns the length of the prefix at the start of s: a prefix
// word, optional spaces, an optional counter, optional spaces and a colon.
// It returns 0 if s does not start with a prefix.
func prefixLen(s string) int {
	for _, w := range prefixes {
		if !hasPrefixFold(s, w) {
			continue
		}
		n := len(w)
		n += spaces(s[n:])
		n += counterLen(s[n:])
		n += spaces(s[n:])
		if c := colonLen(s[n:]); c > 0 {
			return n + c
		}
	}
	return 0
}

// counterLen returns the length of the counter at the start of s: a blob
// such as "[2]" (RFC 5256 allows any blob there), or "(2)" or "^2". It
// returns 0 if there is none.
func counterLen(s string) int {
	switch {
	case strings.HasPrefix(s, "["):
		return blobLen(s)
	case strings.HasPrefix(s, "("):
		if d := digits(s[1:]); d > 0 && strings.HasPrefix(s[1+d:], ")") {
			return d + 2
		}
	case strings.HasPrefix(s, "^"):
		if d := digits(s[1:]); d > 0 {
			return d + 1
		}
	}
	return 0
}

// blobLen returns the length of the blob at the start of s: "[", text
// without brackets, "]" and the spaces after it; 0 if there is none.
func blobLen(s string) int {
	if !strings.HasPrefix(s, "[") {
		return 0
	}
	i := strings.IndexAny(s[1:], "[]")
	if i < 0 || s[1+i] != ']' {
		return 0
	}
	n := i + 2
	return n + spaces(s[n:])
}

// colonLen returns the length of the colon, ASCII or full-width, at the
// start of s; 0 if there is none.
func colonLen(s string) int {
	for _, c := range []string{":", "："} {
		if strings.HasPrefix(s, c) {
			return len(c)
		}
	}
	return 0
}

// spaces returns the number of spaces at the start of s.
func spaces(s string) int {
	return len(s) - len(strings.TrimLeft(s, " "))
}

// digits returns the number of ASCII digits at the start of s.
func digits(s string) int {
	n := 0
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	return n
}

// hasPrefixFold reports whether s starts with prefix under Unicode case
// folding. It compares len(prefix) bytes, so it misses the rare case variants
// of another UTF-8 length, such as the long s "ſ" for "s".
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
