package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// openInput opens a file named on the command line with an error that names it.
func openInput(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return f, nil
}

// termSafe makes a value from mail, Graph or the CRM safe to print on an
// operator's terminal: control characters (ESC, BEL, CR, tab, newline, the
// C1 range), invisible formatting characters (bidi overrides such as
// U+202E, zero-width characters, U+FEFF), line separators and invalid
// UTF-8 are written as Go escapes (\x1b, \u202e), so that a subject cannot
// retitle or clear the terminal, hide text or fake lines. Every command
// prints such data through it (or termSafeText for a block of lines).
func termSafe(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// termSafeText is termSafe for text made of lines: the newlines stay.
func termSafeText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = termSafe(l)
	}
	return strings.Join(lines, "\n")
}

// unsafeRune reports whether r must not reach a terminal as it is.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp)
}

// termSafeWriter passes text through termSafeText on its way to w, for
// output written by other packages (connector check).
type termSafeWriter struct{ w io.Writer }

func (t termSafeWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(t.w, termSafeText(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
