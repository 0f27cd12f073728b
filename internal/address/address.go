// Package address normalises e-mail addresses and domains to the one
// canonical form the matcher and the store compare: a plain SMTP address
// (no display name), lower-case, with the domain in its ASCII (punycode)
// form. It is pure and cheap: an address that is already canonical is
// returned without allocating.
package address

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// idnaProfile converts Unicode domains to punycode. It is lenient: it maps
// for lookup (case folding, width mapping) but accepts underscores and other
// characters outside STD3, and it does not verify DNS lengths. Domains it
// still rejects fall back to lower-case.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
	idna.VerifyDNSLength(false),
)

// Normalize returns the canonical form of raw, an e-mail address as found in
// a Graph message or a CRM record, and true; or "", false when raw holds no
// usable SMTP address (empty, X.500 DN, no or several '@', empty local part
// or domain, invalid UTF-8, characters no plain address contains).
//
// It accepts surrounding white space and display-name forms such as
// `"Name" <a@b>` and `Name <a@b>`. Normalize never panics and is idempotent:
// Normalize(x) of a canonical x returns x.
func Normalize(raw string) (string, bool) {
	if a, ok := fast(raw); ok {
		return a, true
	}
	return normalizeSlow(raw)
}

// fast handles the common case in one scan: a plain ASCII address with one
// '@', a domain of letters, digits, '-', '_' and single inner dots, and no
// leading '/' (X.500). It reports false when the slow path must decide.
func fast(s string) (string, bool) {
	if len(s) < 3 || s[0] == '/' {
		return "", false
	}
	at, upper := -1, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_':
		case 'A' <= c && c <= 'Z':
			upper = true
		case c == '.':
			if at >= 0 && (i == at+1 || s[i-1] == '.' || i == len(s)-1) {
				return "", false
			}
		case c == '@':
			if at >= 0 || i == 0 || i == len(s)-1 {
				return "", false
			}
			at = i
		case at >= 0 || c >= utf8.RuneSelf || special(c):
			return "", false
		}
	}
	if at < 0 {
		return "", false
	}
	if upper {
		return lowerASCII(s), true
	}
	return s, true
}

// normalizeSlow is Normalize for everything fast does not accept.
func normalizeSlow(raw string) (string, bool) {
	s := strings.TrimSpace(raw)
	if s == "" || isX500(s) {
		return "", false
	}
	if isPlain(s) {
		if a, ok := canonical(s); ok {
			return a, true
		}
	}
	return salvage(s)
}

// Domain returns the domain of a normalised address (the part after the last
// '@'), or "" when addr has no '@'.
func Domain(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return addr[i+1:]
}

// IsX500 reports whether raw is an Exchange X.500 distinguished name
// (`/o=ExchangeLabs/ou=…/cn=…`, optionally prefixed with `EX:`) rather than
// an SMTP address.
func IsX500(raw string) bool {
	return isX500(strings.TrimSpace(raw))
}

// isX500 is IsX500 of a trimmed string.
func isX500(s string) bool {
	if len(s) < 3 || s[0] != '/' && s[0]|0x20 != 'e' {
		return false // fast path for SMTP addresses
	}
	if hasPrefixFold(s, "ex:") {
		s = s[3:]
	}
	return hasPrefixFold(s, "/o=")
}

// NormalizeDomain returns the canonical form of a domain as written in
// settings or CRM records: white space, a leading '@' (or "*." / "."
// wildcard marker) and trailing dots are removed, the rest is lower-cased and
// converted to punycode. It returns "" for an empty domain.
func NormalizeDomain(d string) string {
	d = strings.TrimSpace(d)
	d = strings.TrimPrefix(d, "@")
	d = strings.TrimPrefix(d, "*.")
	d = strings.TrimLeft(d, ".")
	return canonicalDomain(d)
}

// InDomain reports whether domain equals parent or is a subdomain of it.
// Both must already be normalised; an empty parent contains nothing.
func InDomain(domain, parent string) bool {
	if parent == "" || len(domain) < len(parent) {
		return false
	}
	if len(domain) == len(parent) {
		return domain == parent
	}
	n := len(domain) - len(parent)
	return domain[n-1] == '.' && domain[n:] == parent
}

// special reports whether b may not appear in a plain canonical address.
// Non-ASCII bytes are allowed (internationalised local parts and domains).
func special(b byte) bool {
	if b <= ' ' || b == 0x7f {
		return true
	}
	switch b {
	case '<', '>', '(', ')', '[', ']', '\\', ',', ';', ':', '"':
		return true
	}
	return false
}

// isPlain reports whether s contains no character that needs parsing.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if special(s[i]) {
			return false
		}
	}
	return true
}

// salvage finds a plain address in a display-name or otherwise decorated
// form. It tries the common `Name <addr>` shape, then net/mail, then the text
// between the last '<' and the next '>', then s stripped of quotes and a
// "mailto:" prefix.
func salvage(s string) (string, bool) {
	if lt := strings.LastIndexByte(s, '<'); lt >= 0 && s[len(s)-1] == '>' {
		if c, ok := plainCanonical(s[lt+1 : len(s)-1]); ok {
			return c, true
		}
	}
	if a, err := mail.ParseAddress(s); err == nil {
		if c, ok := plainCanonical(a.Address); ok {
			return c, true
		}
	}
	if lt := strings.LastIndexByte(s, '<'); lt >= 0 {
		s = s[lt+1:]
		if gt := strings.IndexByte(s, '>'); gt >= 0 {
			s = s[:gt]
		}
	}
	s = strings.Trim(s, " \t\r\n\"'")
	if hasPrefixFold(s, "mailto:") {
		s = s[len("mailto:"):]
	}
	return plainCanonical(s)
}

// plainCanonical canonicalises s if it is a plain SMTP address.
func plainCanonical(s string) (string, bool) {
	if s == "" || IsX500(s) || !isPlain(s) {
		return "", false
	}
	return canonical(s)
}

// canonical lower-cases the plain address s and canonicalises its domain.
func canonical(s string) (string, bool) {
	s = strings.TrimRight(s, ".")
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return "", false
	}
	if isASCII(s) {
		out := lowerASCII(s) // no allocation when already lower-case
		if !validDomain(out[at+1:]) {
			return "", false
		}
		return out, true
	}
	if !validText(s) {
		return "", false
	}
	d := canonicalDomain(s[at+1:])
	if !validDomain(d) {
		return "", false
	}
	return lower(s[:at]) + "@" + d, true
}

// validDomain reports whether d is usable as the domain of an address.
func validDomain(d string) bool {
	if d == "" || d[0] == '.' || strings.Contains(d, "..") {
		return false
	}
	if isASCII(d) {
		for i := 0; i < len(d); i++ {
			if c := d[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
				return false
			}
		}
		return true
	}
	return isPlain(d) && strings.IndexByte(d, '@') < 0 && validText(d)
}

// validText reports whether s is valid UTF-8 without white space, control
// or format characters (which trimming or IDNA mapping would change).
func validText(s string) bool {
	if isASCII(s) {
		return true
	}
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

// canonicalDomain returns the lower-case punycode form of d without trailing
// dots. ASCII input is only lower-cased. Unicode input goes through the
// lenient IDNA profile (first as is, then lower-cased); if both fail, the
// lower-cased Unicode is kept. The order makes the function idempotent.
func canonicalDomain(d string) string {
	d = strings.TrimRight(d, ".")
	if isASCII(d) {
		return lowerASCII(d)
	}
	if a, ok := toASCII(d); ok {
		return a
	}
	l := strings.ToLower(d)
	if a, ok := toASCII(l); ok {
		return a
	}
	return l
}

// toASCII converts d with the IDNA profile and accepts only a result that
// is plain ASCII and a valid domain.
func toASCII(d string) (string, bool) {
	a, err := idnaProfile.ToASCII(d)
	if err != nil || !isASCII(a) {
		return "", false
	}
	a = strings.TrimRight(lowerASCII(a), ".")
	return a, validDomain(a)
}

// lower lower-cases s, avoiding an allocation when nothing changes.
func lower(s string) string {
	if isASCII(s) {
		return lowerASCII(s)
	}
	return strings.ToLower(s)
}

// lowerASCII lower-cases the ASCII letters of s; it returns s itself when it
// has no upper-case letter.
func lowerASCII(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// isASCII reports whether s has only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// hasPrefixFold reports whether s begins with the ASCII prefix p, ignoring case.
func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}
