package subject

import (
	"io"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/unicode/norm"
)

// wordDecoder decodes RFC 2047 encoded-words. It holds no state, so it is
// safe for concurrent use.
var wordDecoder = mime.WordDecoder{CharsetReader: charsetReader}

// decode decodes the RFC 2047 encoded-words in s. If one of them names a
// charset that is not known, it returns s as it is.
func decode(s string) string {
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// charsetReader converts from the charsets mime.WordDecoder does not know
// itself (it knows utf-8, iso-8859-1 and us-ascii). It accepts the labels of
// the WHATWG Encoding Standard, which mail clients write too: iso-8859-15,
// windows-1252 and the other single-byte charsets, gb2312, gbk, big5,
// shift_jis, iso-2022-jp, euc-kr, ks_c_5601-1987, koi8-r and more. An RFC
// 2231 language suffix ("utf-8*de") is ignored.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	charset, _, _ = strings.Cut(charset, "*")
	e, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return e.NewDecoder().Reader(input), nil
}

// normalize makes s valid UTF-8 in NFC, turns white-space and control
// characters into spaces, collapses runs of spaces and trims both ends.
func normalize(s string) string {
	s = norm.NFC.String(strings.ToValidUTF8(s, string(utf8.RuneError)))
	if isCollapsed(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if isSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// isCollapsed reports whether normalize would leave s as it is: it has no
// white space but single spaces between other characters.
func isCollapsed(s string) bool {
	prev := ' ' // a space at the start is not collapsed
	for _, r := range s {
		if isSpace(r) && (r != ' ' || prev == ' ') {
			return false
		}
		prev = r
	}
	return prev != ' '
}

// isSpace reports whether r counts as white space in a subject.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r)
}
