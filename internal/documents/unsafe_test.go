package documents

import (
	"errors"
	"path"
	"strings"
	"testing"
	"unicode"
)

func defaultBlocked(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, e := range DefaultBlocked {
		n, err := NormalizeBlocked(e)
		if err != nil || n != e {
			t.Fatalf("DefaultBlocked entry %q is not normalised: %q, %v", e, n, err)
		}
		out = append(out, n)
	}
	return out
}

// Dangerous file types are renamed with ".blocked"; harmless ones, and the
// connector's own .eml and .url files, are not.
func TestLayoutBlockedTypes(t *testing.T) {
	blocked := defaultBlocked(t)
	atts := []Attachment{
		file("a1", "Rechnung.exe"),
		file("a2", "desktop.ini"),
		file("a3", "Desktop.INI"),
		file("a4", "Ordner.lnk"),
		file("a5", "x.scf"),
		file("a6", "Dokumente.library-ms"),
		file("a7", "Link.url"), // a .url attached as a file: the sender's, not ours
		file("a8", "Rechnung\u202Efdp.exe"),
		file("a9", "setup.MSI."),
		file("b1", "Angebot.pdf"),
		file("b2", "Rechnung.exe"), // collides with a1
		{ID: "c1", Name: "Cloud.url", Kind: KindReference},
		{ID: "c2", Name: "Weitergeleitet.exe", Kind: KindItem},
		file("d1", "suche.search-ms"),
		file("d2", "x.settingcontent-ms"),
		file("d3", "a.hta"), file("d4", "a.js"), file("d5", "a.vbs"), file("d6", "a.bat"), file("d7", "a.cmd"),
		file("d8", "a.ps1"), file("d9", "a.com"), file("e1", "a.pif"), file("e2", "a.reg"), file("e3", "a.jar"),
		file("e4", "a.iso"), file("e5", "a.scr"),
	}
	plan, err := Layout(Request{Root: "Kunden", Customer: cust, Mail: mail("A", t1, "Anna Alt"), Attachments: atts, Blocked: blocked})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{ // ID → name, blocking entry
		"a1": {"Rechnung.exe.blocked", ".exe"},
		"a2": {"desktop.ini.blocked", "desktop.ini"},
		"a3": {"Desktop.INI (2).blocked", "desktop.ini"}, // collides with a2, ignoring case
		"a4": {"Ordner.lnk.blocked", ".lnk"},
		"a5": {"x.scf.blocked", ".scf"},
		"a6": {"Dokumente.library-ms.blocked", ".library-ms"},
		"a7": {"Link.url.blocked", ".url"},
		"a8": {"Rechnung_fdp.exe.blocked", ".exe"},
		"a9": {"setup.MSI.blocked", ".msi"},
		"b1": {"Angebot.pdf", ""},
		"b2": {"Rechnung.exe (2).blocked", ".exe"},
		"c1": {"Cloud.url", ""},
		"c2": {"Weitergeleitet.exe.eml", ""},
		"d1": {"suche.search-ms.blocked", ".search-ms"},
		"d2": {"x.settingcontent-ms.blocked", ".settingcontent-ms"},
	}
	for _, p := range plan.Files {
		name := path.Base(p.Path)
		if w, ok := want[p.AttachmentID]; ok {
			if name != w[0] || p.Blocked != w[1] {
				t.Errorf("%s: %q blocked by %q; want %q by %q", p.AttachmentID, name, p.Blocked, w[0], w[1])
			}
		} else if !strings.HasSuffix(name, BlockedSuffix) || p.Blocked == "" {
			t.Errorf("%s: %q (blocked by %q) filed unchanged", p.AttachmentID, name, p.Blocked)
		}
	}
	// Without the setting nothing is renamed.
	plan, err = Layout(Request{Customer: cust, Mail: mail("A", t1, "Anna Alt"), Attachments: atts[:1]})
	if err != nil || path.Base(plan.Files[0].Path) != "Rechnung.exe" || plan.Files[0].Blocked != "" {
		t.Errorf("empty block list: %+v, %v", plan.Files, err)
	}
}

func TestNormalizeBlocked(t *testing.T) {
	for in, want := range map[string]string{"exe": ".exe", ".EXE": ".exe", "*.Lnk": ".lnk", " Desktop.ini ": "desktop.ini", ".library-ms": ".library-ms"} {
		if got, err := NormalizeBlocked(in); err != nil || got != want {
			t.Errorf("NormalizeBlocked(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "*", "a b", "x/y", `\exe`, "exe.", "e\u202Exe", "a\nb"} {
		if got, err := NormalizeBlocked(in); err == nil {
			t.Errorf("NormalizeBlocked(%q) = %q, want an error", in, got)
		}
	}
}

// Invisible formatting characters in subjects, senders and customer names
// do not reach folder names, and no folder starts with a dot.
func TestLayoutFolderNamesFormatChars(t *testing.T) {
	evil := Mail{ID: "B", Date: t2, SenderName: "Anna\u202E\u200Blla", BaseSubject: "\uFEFFAngebot\u2066 fdp.exe\u2069"}
	history := []FiledMail{{ID: "A", Date: t1, SenderName: "\u200FBernd", Files: []string{"_.x/E-Mail Attachments/2024-05-01 a/x.pdf"}}}
	c := Customer{ID: 1, Number: ".x", Name: "\u202Eevil"}
	for _, req := range []Request{
		{Customer: c, CustomerFolder: "{number}", Mail: evil, Attachments: []Attachment{file("a1", "a.pdf")}},
		{Customer: c, CustomerFolder: "{name}/{number}", Mail: evil, History: history, Attachments: []Attachment{file("a1", "a.pdf")}},
	} {
		plan, err := Layout(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, seg := range strings.Split(plan.Files[0].Path, "/") {
			if strings.HasPrefix(seg, ".") || strings.ContainsFunc(seg, func(r rune) bool { return unicode.Is(unicode.Cf, r) }) {
				t.Errorf("path %q: segment %q", plan.Files[0].Path, seg)
			}
		}
		if req.History == nil && plan.ThreadDir != "_.x/E-Mail Attachments/2024-05-03 _Angebot_ fdp.exe_" {
			t.Errorf("thread folder %q", plan.ThreadDir)
		}
		if req.History != nil && plan.MailDir != "_.x/E-Mail Attachments/2024-05-01 a/2024-05-03 12.40 Anna__lla" {
			t.Errorf("mail folder %q", plan.MailDir)
		}
	}
	if got := MailFolderName(t1, "\u200FBernd"); got != "2024-05-01 07.15 _Bernd" {
		t.Errorf("MailFolderName = %q", got)
	}
	if got, _ := CustomerFolder("{name}", Customer{ID: 3, Name: ".htaccess"}); got != "_.htaccess" {
		t.Errorf("customer folder %q", got)
	}
}

func TestInternetShortcut(t *testing.T) {
	good := map[string]string{
		"https://schulz.sharepoint.com/hallenplan.dwg": "https://schulz.sharepoint.com/hallenplan.dwg",
		"HTTPS://Example.com/a b?x=1#f":                "https://Example.com/a%20b?x=1#f",
		"http://example.com/ä":                         "http://example.com/%C3%A4",
		`https://example.com/\\evil\share`:             "https://example.com/%5C%5Cevil%5Cshare",
	}
	for in, want := range good {
		got, err := InternetShortcut(in)
		if err != nil || got != "[InternetShortcut]\r\nURL="+want+"\r\n" {
			t.Errorf("InternetShortcut(%q) = %q, %v; want URL=%s", in, got, err, want)
		}
	}
	for _, in := range []string{
		"https://example.com/x\r\nIconFile=\\\\evil\\share\\i.ico\r\nIconIndex=1",
		"https://example.com/x\nIconFile=\\\\evil\\share",
		"https://example.com/\u202Efdp.exe",
		"file://///evil/share/x.exe",
		"file:///C:/Windows/System32/calc.exe",
		`\\evil\share\x`,
		"javascript:alert(1)",
		"ms-msdt:/id PCWDiagnostic",
		"search-ms:query=x&crumb=location:\\\\evil\\share",
		"https:evil",
		"https:///path",
		"https://user:pass@evil.example/",
		"https://evil.example:port/",
		"https://[evil/",
		"",
	} {
		got, err := InternetShortcut(in)
		if !errors.Is(err, ErrUnsafeLink) {
			t.Errorf("InternetShortcut(%q) = %q, %v; want ErrUnsafeLink", in, got, err)
		} else if strings.Contains(err.Error(), "evil") {
			t.Errorf("InternetShortcut(%q): the error names the address: %v", in, err)
		}
	}
}

func FuzzInternetShortcut(f *testing.F) {
	for _, s := range []string{"https://a.b/c", "https://a/\r\nIconFile=x", "file:///x", "http://[::1]:80/%0d%0a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := InternetShortcut(in)
		if err != nil {
			return
		}
		body, ok := strings.CutPrefix(got, "[InternetShortcut]\r\nURL=")
		if !ok || strings.Count(got, "\n") != 2 || strings.ContainsAny(strings.TrimSuffix(body, "\r\n"), "\r\n") ||
			!(strings.HasPrefix(body, "http://") || strings.HasPrefix(body, "https://")) {
			t.Errorf("InternetShortcut(%q) = %q", in, got)
		}
	})
}
