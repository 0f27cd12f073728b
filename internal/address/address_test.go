package address

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		want   string
		wantOK bool
	}{
		{"plain", "a.b@example.com", "a.b@example.com", true},
		{"upper case", "Jonas.Weber@GMX.de", "jonas.weber@gmx.de", true},
		{"surrounding space", " \t a@b.de \r\n", "a@b.de", true},
		{"quoted display name", `"Müller, Thomas" <T.Mueller@Mueller-Bau.de>`, "t.mueller@mueller-bau.de", true},
		{"bare display name", "Thomas Müller <t.mueller@mueller-bau.de>", "t.mueller@mueller-bau.de", true},
		{"angle only", "<a@b.de>", "a@b.de", true},
		{"display name rejected by net/mail", "Müller, Thomas <t@m.de>", "t@m.de", true},
		{"unterminated angle", "Name <a@b.de", "a@b.de", true},
		{"quoted whole address", `"a@b.de"`, "a@b.de", true},
		{"single quoted", "'a@b.de'", "a@b.de", true},
		{"mailto", "mailto:A@B.de", "a@b.de", true},
		{"quoted local part", `"john.doe"@example.com`, "john.doe@example.com", true},
		{"trailing dot", "a@example.com.", "a@example.com", true},
		{"unicode domain", "info@Müller-Bau.de", "info@xn--mller-bau-q9a.de", true},
		{"punycode domain", "info@XN--MLLER-BAU-Q9A.DE", "info@xn--mller-bau-q9a.de", true},
		{"unicode local part", "Jürgen@example.com", "jürgen@example.com", true},
		{"fullwidth dot", "a@müller。de", "a@xn--mller-kva.de", true},
		{"sharp s kept", "a@straße.de", "a@xn--strae-oqa.de", true},
		{"underscore domain", "a@my_host.example.com", "a@my_host.example.com", true},
		{"x500", "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=abc-anna", "", false},
		{"x500 upper", "/O=FIRMA/OU=X/CN=RECIPIENTS/CN=ANNA", "", false},
		{"x500 in angle", "Anna </o=ExchangeLabs/cn=anna>", "", false},
		{"empty", "", "", false},
		{"blank", "  \t ", "", false},
		{"no at", "example.com", "", false},
		{"two ats", "a@b@c.de", "", false},
		{"empty local", "@b.de", "", false},
		{"empty domain", "a@", "", false},
		{"only dots domain", "a@...", "", false},
		{"leading dot domain", "a@.b.de", "", false},
		{"double dot domain", "a@b..de", "", false},
		{"space inside", "a b@c.de", "", false},
		{"domain literal", "a@[192.0.2.1]", "", false},
		{"invalid utf8", "a\xff@b.de", "", false},
		{"list", "a@b.de, c@d.de", "", false},
		{"display name without address", `"Anna Berger"`, "", false},
		{"ideographic space", "a@b\u3000c", "", false},
		{"trailing ideographic space", "a@b.de\u3000", "a@b.de", true},
		{"apostrophe local part", "o'brien@example.ie", "o'brien@example.ie", true},
		{"bad domain character", "a@b!c.de", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Normalize(tt.raw)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestNormalizeNoAllocCanonical(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := Normalize("anna.berger@dedenet.de"); !ok {
			t.Fatal("not ok")
		}
	})
	if allocs != 0 {
		t.Errorf("Normalize of a canonical address allocates %v times, want 0", allocs)
	}
}

func TestDomain(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"a@b.de", "b.de"},
		{"nope", ""},
		{"a@", ""},
	}
	for _, tt := range tests {
		if got := Domain(tt.addr); got != tt.want {
			t.Errorf("Domain(%q) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestIsX500(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{"/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=x", true},
		{" /O=ORG/OU=SITE/CN=RECIPIENTS/CN=X", true},
		{"EX:/o=Org/cn=x", true},
		{"a@b.de", false},
		{"/ou=x", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsX500(tt.raw); got != tt.want {
			t.Errorf("IsX500(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestNormalizeDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Example.COM", "example.com"},
		{"@example.com", "example.com"},
		{" example.com. ", "example.com"},
		{"*.example.com", "example.com"},
		{".example.com", "example.com"},
		{"Müller-Bau.de", "xn--mller-bau-q9a.de"},
		{"xn--mller-bau-q9a.de", "xn--mller-bau-q9a.de"},
		{"", ""},
		{"@", ""},
	}
	for _, tt := range tests {
		if got := NormalizeDomain(tt.in); got != tt.want {
			t.Errorf("NormalizeDomain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestInDomain(t *testing.T) {
	tests := []struct {
		domain, parent string
		want           bool
	}{
		{"example.com", "example.com", true},
		{"mail.example.com", "example.com", true},
		{"a.b.example.com", "example.com", true},
		{"badexample.com", "example.com", false},
		{"example.com", "mail.example.com", false},
		{"example.com", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := InDomain(tt.domain, tt.parent); got != tt.want {
			t.Errorf("InDomain(%q, %q) = %v, want %v", tt.domain, tt.parent, got, tt.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"a@b.de", `"Name" <A@B.de>`, "Name <a@Müller.de>", "/o=x/cn=y", "a@b@c",
		"a@xn--mller-kva.de", "a@straẞe.de", "a@b。", "mailto:x@y.z", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := Normalize(raw)
		if slow, slowOK := normalizeSlow(raw); slow != got || slowOK != ok {
			t.Fatalf("Normalize(%q) = %q, %v; slow path gives %q, %v", raw, got, ok, slow, slowOK)
		}
		if !ok {
			if got != "" {
				t.Fatalf("Normalize(%q) = %q, false; want empty string", raw, got)
			}
			return
		}
		again, ok2 := Normalize(got)
		if !ok2 || again != got {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q, %v", raw, got, again, ok2)
		}
		if strings.Count(got, "@") != 1 || Domain(got) == "" || strings.HasPrefix(got, "@") {
			t.Fatalf("Normalize(%q) = %q: not a plain address", raw, got)
		}
		if d := Domain(got); NormalizeDomain(d) != d {
			t.Fatalf("NormalizeDomain(%q) = %q, want unchanged", d, NormalizeDomain(d))
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	for _, raw := range []string{"anna.berger@dedenet.de", "Jonas.Weber@GMX.de", `"Thomas Müller" <t.mueller@müller-bau.de>`} {
		b.Run(raw, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Normalize(raw)
			}
		})
	}
}
