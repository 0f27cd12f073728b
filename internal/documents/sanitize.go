package documents

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MaxNameBytes is the longest file or folder name the layout produces, in
// bytes of UTF-8: Nextcloud's file cache refuses names above 250 bytes.
const MaxNameBytes = 250

// maxExtBytes is the longest suffix (with its dot) that SanitizeName treats
// as an extension worth keeping when it shortens a name; a longer "suffix"
// is just a sentence with a dot in it.
const maxExtBytes = 16

// Fallback names.
const (
	// EmptyFileName replaces a file name that is empty after sanitising.
	EmptyFileName = "Anhang"
	// EmptySubject replaces an empty base subject in a thread folder name.
	EmptySubject = "(ohne Betreff)"
	// UnknownSender replaces an empty sender in a mail folder name.
	UnknownSender = "Unbekannt"
)

// forbiddenChars are refused by Windows; Nextcloud always refuses \ and /
// and admins commonly add the rest.
const forbiddenChars = `\/:*?"<>|`

// SanitizeName makes name safe as one file name on Nextcloud and Windows and
// returns it NFC-normalised and at most MaxNameBytes long. In order:
//
//  1. invalid UTF-8 becomes U+FFFD and the name is normalised to NFC;
//  2. each of \ / : * ? " < > |, each control character (C0, DEL, C1) and
//     each format character (Unicode category Cf: U+202E right-to-left
//     override, U+200B–200F, U+2066–2069, U+FEFF, U+00AD …) becomes "_".
//     Format characters are invisible or reorder what is shown:
//     "Rechnung\u202Efdp.exe" displays as "Rechnungexe.pdf" in Explorer;
//     as "Rechnung_fdp.exe" the real extension is what people see;
//  3. leading white space and trailing white space and dots are removed
//     (Windows drops trailing dots and spaces; "." and ".." become empty);
//  4. an empty name becomes fallback;
//  5. a name starting with a dot (".htaccess", ".user.ini", ".git") gets a
//     "_" in front: dot files are hidden on Nextcloud and Unix clients and
//     some are read as configuration by a web server or PHP; a name ending in ".part"
//     or ".filepart" (any case) gets that dot replaced by "_" ("a.part" →
//     "a_part");
//  6. a Windows device name (CON PRN AUX NUL COM0–9 LPT0–9, COM¹²³ LPT¹²³,
//     CONIN$ CONOUT$, any case) before the first dot gets a "_" in front,
//     so "con.txt" becomes "_con.txt";
//  7. a name longer than MaxNameBytes is cut on a character boundary before
//     its extension (the last dot and up to 15 bytes after it), keeping the
//     extension.
func SanitizeName(name, fallback string) string {
	s := fitName(cleanName(name, fallback), "")
	// A cut can expose a new ".part" ending; clean and fit once more.
	return fitName(cleanName(s, fallback), "")
}

// cleanPart applies steps 1 to 4 of SanitizeName: enough for text that
// becomes part of a name (a subject, a sender, a customer's name).
func cleanPart(name, fallback string) string {
	s := norm.NFC.String(strings.ToValidUTF8(name, "\uFFFD"))
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || strings.ContainsRune(forbiddenChars, r) {
			return '_'
		}
		return r
	}, s)
	if s = trimName(s); s == "" {
		s = fallback
	}
	return s
}

// cleanName applies steps 1 to 6 of SanitizeName.
func cleanName(name, fallback string) string {
	s := cleanPart(name, fallback)
	if strings.HasPrefix(s, ".") {
		s = "_" + s
	}
	for {
		lower := strings.ToLower(s)
		if !strings.HasSuffix(lower, ".part") && !strings.HasSuffix(lower, ".filepart") {
			break
		}
		i := strings.LastIndexByte(s, '.')
		s = s[:i] + "_" + s[i+1:]
	}
	if isReserved(s) {
		s = "_" + s
	}
	return s
}

// trimName removes leading white space and trailing white space and dots.
func trimName(s string) string {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	return strings.TrimRightFunc(s, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
}

// isReserved reports whether the part of s before its first dot (trailing
// spaces ignored) is a Windows device name.
func isReserved(s string) bool {
	stem, _, _ := strings.Cut(s, ".")
	stem = strings.ToUpper(strings.TrimRight(stem, " "))
	switch stem {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if p, d, ok := cutPrefixLen(stem, 3); ok && (p == "COM" || p == "LPT") {
		return d == "¹" || d == "²" || d == "³" || (len(d) == 1 && d[0] >= '0' && d[0] <= '9')
	}
	return false
}

// cutPrefixLen splits s after n bytes.
func cutPrefixLen(s string, n int) (string, string, bool) {
	if len(s) <= n {
		return "", "", false
	}
	return s[:n], s[n:], true
}

// splitExt splits a file name into stem and extension (with its dot). The
// extension is empty when the name has no dot after its first byte or the
// suffix is longer than maxExtBytes or contains a space.
func splitExt(name string) (stem, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || len(name)-i > maxExtBytes || strings.ContainsRune(name[i:], ' ') {
		return name, ""
	}
	return name[:i], name[i:]
}

// fitName returns stem+suffix+ext of name at most MaxNameBytes long, where
// name is already clean: the stem is cut on a normalisation boundary (never
// inside a character, never between a character and its combining marks)
// and trailing spaces and dots of a cut stem are removed. suffix is the
// collision counter such as " (2)" or "".
func fitName(name, suffix string) string {
	stem, ext := splitExt(name)
	room := MaxNameBytes - len(suffix) - len(ext)
	if len(stem) > room {
		stem = cutUTF8(stem, room)
		if t := trimName(stem); t != "" {
			stem = t
		}
	}
	return stem + suffix + ext
}

// cutUTF8 returns the longest prefix of s of at most n bytes that ends on a
// character and normalisation boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	if norm.NFC.FirstBoundaryInString(s[n:]) != 0 {
		// s[n] is a combining mark: back up to the start of its segment.
		if i := norm.NFC.LastBoundary([]byte(s[:n])); i > 0 {
			n = i
		}
	}
	return s[:n]
}

// foldKey is the key under which names collide: Windows and macOS clients
// of Nextcloud treat names differing only in case as one file.
func foldKey(name string) string {
	return norm.NFC.String(cases.Fold().String(name))
}

// uniqueName returns name, or name with " (2)", " (3)" … before its
// extension, whichever is first not in taken (compared by foldKey), and adds
// the result to taken.
func uniqueName(name string, taken map[string]bool) string {
	candidate := name
	for n := 2; taken[foldKey(candidate)]; n++ {
		candidate = fitName(name, " ("+strconv.Itoa(n)+")")
	}
	taken[foldKey(candidate)] = true
	return candidate
}
