package subject

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/unicode/norm"
)

// vector is one line of testdata/subjects.jsonl.
type vector struct {
	In     string `json:"in"`
	Want   string `json:"want"`
	Source string `json:"source"`
}

func readVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("testdata/subjects.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("subjects.jsonl:%d: %v", line, err)
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("subjects.jsonl has no vectors")
	}
	return vs
}

func TestBaseVectors(t *testing.T) {
	for _, v := range readVectors(t) {
		if got := Base(v.In); !strings.EqualFold(got, v.Want) {
			t.Errorf("%s: Base(%q) = %q, want %q (case-insensitive)", v.Source, v.In, got, v.Want)
		}
	}
}

func TestBase(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Localized prefixes, one each.
		{"AW", "AW: Angebot", "Angebot"},
		{"WG", "WG: Angebot", "Angebot"},
		{"SV", "SV: Tilbud", "Tilbud"},
		{"VS", "VS: Tarjous", "Tarjous"},
		{"VL", "VL: Tarjous", "Tarjous"},
		{"TR", "TR: Devis", "Devis"},
		{"RV", "RV: Presupuesto", "Presupuesto"},
		{"RIF", "RIF: Offerta", "Offerta"},
		{"I", "I: Offerta", "Offerta"},
		{"ENC", "ENC: Orçamento", "Orçamento"},
		{"ODP", "ODP: Oferta", "Oferta"},
		{"PD", "PD: Oferta", "Oferta"},
		{"YNT", "YNT: Teklif", "Teklif"},
		{"ILT", "ILT: Teklif", "Teklif"},
		{"İLT", "İLT: Teklif", "Teklif"},
		{"dotless ı is not I", "ı: Teklif", "ı: Teklif"},
		{"Antw", "Antw: Offerte", "Offerte"},
		{"Doorst", "Doorst: Offerte", "Offerte"},
		{"ΑΠ", "ΑΠ: Προσφορά", "Προσφορά"},
		{"ΣΧΕΤ", "ΣΧΕΤ: Προσφορά", "Προσφορά"},
		{"ΠΡΘ", "ΠΡΘ: Προσφορά", "Προσφορά"},
		{"Greek lower case", "απ: σχετ: Προσφορά", "Προσφορά"},
		{"回复", "回复: 报价", "报价"},
		{"答复", "答复: 报价", "报价"},
		{"转发", "转发: 报价", "报价"},
		{"回覆", "回覆: 報價", "報價"},
		{"轉寄", "轉寄: 報價", "報價"},
		{"full-width colon", "回复：报价", "报价"},
		{"full-width colon, nested", "转发：回复： 报价", "报价"},
		{"case", "aW: wG: aNtW: x", "x"},
		{"space before colon", "TR : Devis", "Devis"},

		// Counters.
		{"RE[2]", "RE[2]: Termin", "Termin"},
		{"AW(3)", "AW(3): Termin", "Termin"},
		{"Re^2", "Re^2: Termin", "Termin"},
		{"counter with spaces", "Re [12] : Termin", "Termin"},
		{"RFC blob as counter", "Re [foo]: Termin", "Termin"},
		{"empty parentheses", "Re(): Termin", "Re(): Termin"},
		{"caret without digits", "Re^: Termin", "Re^: Termin"},
		{"letters in parentheses", "Re(a): Termin", "Re(a): Termin"},

		// Nesting.
		{"nesting", "AW: WG: Re: Angebot", "Angebot"},
		{"nesting without spaces", "AW:WG:Re:Angebot", "Angebot"},
		{"mixed languages", "RE: AW: SV: TR: I: Angebot", "Angebot"},
		{"nesting with counters", "AW[2]: WG(3): Re^4: Angebot", "Angebot"},

		// RFC 2047.
		{"UTF-8 Q", "=?UTF-8?Q?AW:_Anfrage_M=C3=BCller?=", "Anfrage Müller"},
		{"UTF-8 B", "=?UTF-8?B?V0c6IEFuZnJhZ2UgTcO8bGxlcg==?=", "Anfrage Müller"},
		{"ISO-8859-1 Q", "=?ISO-8859-1?Q?AW:_Gr=FC=DFe?=", "Grüße"},
		{"ISO-8859-15 Q", "=?ISO-8859-15?Q?Re:_Preis_100_=A4?=", "Preis 100 €"},
		{"windows-1252 Q", "=?windows-1252?Q?Re:_Preis_100_=80?=", "Preis 100 €"},
		{"GB2312 B", "=?gb2312?B?u9i4tDogsai82w==?=", "报价"},
		{"RFC 2231 language", "=?utf-8*de?q?AW:_Gr=C3=BC=C3=9Fe?=", "Grüße"},
		{"encoded words joined", "=?utf-8?q?AW:_Anf?= =?utf-8?q?rage?=", "Anfrage"},
		{"prefix outside the word", "AW: =?utf-8?q?M=C3=BCller?=", "Müller"},
		{"unknown charset", "AW: =?x-unknown?q?abc?=", "=?x-unknown?q?abc?="},
		{"invalid UTF-8", "AW: M\xfcller", "M\uFFFDller"},
		{"NFC", "AW: Mu\u0308ller", "Müller"},

		// Blobs.
		{"blob before prefix", "[EXTERN] AW: Angebot", "Angebot"},
		{"blob after prefix", "AW: [EXTERN] Angebot", "Angebot"},
		{"blobs", "[a] [b] Re: [c] AW: [d] x", "x"},
		{"blob alone", "[xyz]", "[xyz]"},
		{"blobs alone", "[a] [b][c]", "[c]"},
		{"blob inside", "Angebot [EXTERN]", "Angebot [EXTERN]"},
		{"unclosed blob", "[a Re: x", "[a Re: x"},
		{"nested brackets", "[a [b] c] x", "[a [b] c] x"},

		// [fwd: …] and (fwd).
		{"fwd wrapper", "[fwd: Angebot]", "Angebot"},
		{"fwd wrapper with prefixes", "AW: [Fwd: WG: Angebot]", "Angebot"},
		{"fwd wrappers", "re: [fwd: [FWD: re: [fwd: babylon]]]", "babylon"},
		{"empty fwd wrapper", "[fwd:]", ""},
		{"not a fwd wrapper", "[fwd: a] b", "b"},
		{"other wrapper", "[WG: Angebot]", "[WG: Angebot]"},
		{"fwd trailers", "Angebot (fwd) (FWD)(Fwd)", "Angebot"},
		{"fwd trailer inside", "Angebot (fwd) 2", "Angebot (fwd) 2"},

		// White space and empty results.
		{"empty", "", ""},
		{"white space only", " \t\r\n ", ""},
		{"no-break and ideographic space", "AW:\u00a0Angebot\u3000neu", "Angebot neu"},
		{"folded header", "AW: Angebot\r\n\tneu", "Angebot neu"},
		{"prefixes only", "Re: AW: ", ""},
		{"encoded space only", "=?iso-8859-1?q?_?=", ""},

		// A prefix word that is not a leader.
		{"Info", "Info: x", "Info: x"},
		{"IT", "IT: x", "IT: x"},
		{"word starting with a prefix", "Revision: x", "Revision: x"},
		{"Award", "Award: x", "Award: x"},
		{"Trailer", "Trailer: x", "Trailer: x"},
		{"no colon", "AW Angebot", "AW Angebot"},
		{"other word", "Angebot: Projekt X", "Angebot: Projekt X"},
		{"mid-string", "Angebot AW: Termin", "Angebot AW: Termin"},
		{"mid-string I", "Angebot I: Termin", "Angebot I: Termin"},
		{"after other word", "Ad: Re: x", "Ad: Re: x"},
		{"re inside", "Meeting re: budget", "Meeting re: budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Base(tt.in); got != tt.want {
				t.Errorf("Base(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestKey(t *testing.T) {
	groups := [][]string{
		{"Angebot 4711", "AW: ANGEBOT 4711", "wg: re: angebot 4711", "=?utf-8?q?angebot_4711?="},
		{"Straße", "AW: STRASSE", "Re: strasse"},
		{"Προσφορά", "ΑΠ: ΠΡΟΣΦΟΡΆ", "σχετ: προσφορά"},
		{"Müller", "Mu\u0308ller", "AW: MÜLLER"},
	}
	var keys []string
	for _, g := range groups {
		want := Key(g[0])
		for _, s := range g[1:] {
			if got := Key(s); got != want {
				t.Errorf("Key(%q) = %q, want %q as Key(%q)", s, got, want, g[0])
			}
		}
		keys = append(keys, want)
	}
	want := []string{"angebot 4711", "strasse", "προσφορά", "müller"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

func FuzzBase(f *testing.F) {
	for _, v := range readVectors(f) {
		f.Add(v.In)
	}
	for _, s := range []string{
		"", " ", "AW: WG: Re: Angebot", "RE[2]: x", "Re^2: x", "AW(3): x", "[a][b]",
		"[fwd: [fwd: x]]", "回复：报价", "=?utf-8?q?=3D=3Futf-8=3Fq=3FRe:_x=3F=3D?=",
		"x\u0301 (fwd)", "\x00Re:\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if k := Key(in); !utf8.ValidString(k) {
			t.Fatalf("Key(%q) = %q, not valid UTF-8", in, k)
		}
		out := Base(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Base(%q) = %q, not valid UTF-8", in, out)
		}
		if strings.TrimSpace(out) != out || strings.Contains(out, "  ") {
			t.Fatalf("Base(%q) = %q, white space not collapsed", in, out)
		}
		if !norm.NFC.IsNormalString(out) {
			t.Fatalf("Base(%q) = %q, not NFC", in, out)
		}
		if strings.Contains(out, "=?") {
			// The result can hold an encoded-word (one that decoded
			// to another, or one in an unknown charset); Base would
			// decode it again, so idempotence does not hold.
			return
		}
		if again := Base(out); again != out {
			t.Fatalf("Base(%q) = %q, but Base(%q) = %q", in, out, out, again)
		}
	})
}

func BenchmarkBase(b *testing.B) {
	vs := readVectors(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range vs {
			Base(v.In)
		}
	}
}
