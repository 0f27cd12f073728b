package documents

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("ä", 200) // 400 bytes
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Angebot 2024.pdf", "Angebot 2024.pdf"},
		{"windows chars", `a\b/c:d*e?f"g<h>i|j.txt`, "a_b_c_d_e_f_g_h_i_j.txt"},
		{"control bytes", "a\x00b\x1fc\x7fd\u0085e.txt", "a_b_c_d_e.txt"},
		{"newline and tab", "line1\nline2\t.txt", "line1_line2_.txt"},
		{"empty", "", "Anhang"},
		{"spaces only", "   ", "Anhang"},
		{"dot", ".", "Anhang"},
		{"dotdot", "..", "Anhang"},
		{"dots", "...", "Anhang"},
		{"trailing dots and spaces", "Bericht. . ", "Bericht"},
		{"leading spaces", "  Bericht.pdf", "Bericht.pdf"},
		{"htaccess", ".htaccess", "_.htaccess"},
		{"HTACCESS", ".HTACCESS", "_.HTACCESS"},
		{"user.ini", ".user.ini", "_.user.ini"},
		{"dot file after spaces", "  .env", "_.env"},
		{"only an extension", ".pdf", "_.pdf"},
		{"dot dot name", "..pdf", "_..pdf"},
		{"right-to-left override", "Rechnung\u202Efdp.exe", "Rechnung_fdp.exe"},
		{"zero width and marks", "a\u200Bb\u200Cc\u200Dd\u200Ee\u200Ff.pdf", "a_b_c_d_e_f.pdf"},
		{"isolates", "\u2066x\u2067y\u2068z\u2069.pdf", "_x_y_z_.pdf"},
		{"embeddings and overrides", "a\u202Ab\u202Bc\u202Cd\u202De.pdf", "a_b_c_d_e.pdf"},
		{"byte order mark", "\uFEFFBericht.pdf", "_Bericht.pdf"},
		{"soft hyphen and word joiner", "Ab\u00ADc\u2060d.pdf", "Ab_c_d.pdf"},
		{"tag characters", "x\U000E0041.pdf", "x_.pdf"},
		{"format char before a dot", "\u200B.htaccess", "_.htaccess"},
		{"part", "download.part", "download_part"},
		{"PART", "download.PART", "download_PART"},
		{"part part", "x.part.part", "x.part_part"},
		{"filepart", "x.filepart", "x_filepart"},
		{"part inside", "x.part.pdf", "x.part.pdf"},
		{"CON", "CON", "_CON"},
		{"con.txt", "con.txt", "_con.txt"},
		{"nul.tar.gz", "nul.tar.gz", "_nul.tar.gz"},
		{"COM1", "COM1.doc", "_COM1.doc"},
		{"lpt9", "lpt9", "_lpt9"},
		{"COM superscript", "COM¹.txt", "_COM¹.txt"},
		{"AUX space", "AUX .txt", "_AUX .txt"},
		{"COM10 is fine", "COM10.txt", "COM10.txt"},
		{"CONFIG is fine", "CONFIG.SYS", "CONFIG.SYS"},
		{"NFD to NFC", "Ma\u0308rz.pdf", "M\u00e4rz.pdf"},
		{"invalid UTF-8", "a\xffb.txt", "a\uFFFDb.txt"},
		{"long ASCII keeps ext", strings.Repeat("x", 300) + ".pdf", strings.Repeat("x", 246) + ".pdf"},
		{"long multibyte", long + ".docx", strings.Repeat("ä", 122) + ".docx"},
		{"long no ext", strings.Repeat("ü", 130), strings.Repeat("ü", 125)},
		{"long sentence dot", strings.Repeat("y", 260) + ". and more", strings.Repeat("y", 250)},
		{"cut inside a 4-byte rune", strings.Repeat("a", 247) + "😀.x", strings.Repeat("a", 247) + ".x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SanitizeName(tt.in, EmptyFileName)
			if got != tt.want {
				t.Errorf("SanitizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(got) > MaxNameBytes || !utf8.ValidString(got) || !norm.NFC.IsNormalString(got) {
				t.Errorf("SanitizeName(%q) = %q: %d bytes, valid %v, NFC %v", tt.in, got, len(got), utf8.ValidString(got), norm.NFC.IsNormalString(got))
			}
			if again := SanitizeName(got, EmptyFileName); again != got {
				t.Errorf("not idempotent: %q → %q", got, again)
			}
		})
	}
}

func TestCutKeepsCombiningMarks(t *testing.T) {
	// "q̈" has no precomposed form: q + U+0308 stay two runes after NFC.
	s := strings.Repeat("a", 249) + "q\u0308.bin"
	got := SanitizeName(s, EmptyFileName)
	if strings.HasSuffix(strings.TrimSuffix(got, ".bin"), "q") {
		t.Errorf("cut between q and its combining mark: %q", got[240:])
	}
}

func TestUniqueName(t *testing.T) {
	taken := map[string]bool{}
	var got []string
	for _, n := range []string{"a.pdf", "A.PDF", "a.pdf", "b", "b", strings.Repeat("z", 246) + ".pdf", strings.Repeat("z", 246) + ".pdf"} {
		got = append(got, uniqueName(n, taken))
	}
	want := []string{"a.pdf", "A (2).PDF", "a (3).pdf", "b", "b (2)", strings.Repeat("z", 246) + ".pdf", strings.Repeat("z", 242) + " (2).pdf"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("uniqueName #%d = %q, want %q", i, got[i], want[i])
		}
	}
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"", "..", "CON.txt", "a/b", "Ma\u0308rz", strings.Repeat("ß", 200) + ".pdf", ".user.ini", "a\u202Efdp.exe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := SanitizeName(in, EmptyFileName)
		if got == "" || got == "." || got == ".." || len(got) > MaxNameBytes || !utf8.ValidString(got) ||
			strings.ContainsAny(got, forbiddenChars) || isReserved(got) || strings.HasPrefix(got, ".") ||
			strings.ContainsFunc(got, func(r rune) bool { return unicode.Is(unicode.Cf, r) || unicode.IsControl(r) }) ||
			strings.HasSuffix(strings.ToLower(got), ".part") || strings.HasSuffix(got, ".") || strings.HasSuffix(got, " ") {
			t.Errorf("SanitizeName(%q) = %q", in, got)
		}
	})
}
