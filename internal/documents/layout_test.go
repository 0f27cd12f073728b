package documents

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	berlin, _ = time.LoadLocation("Europe/Berlin")
	cust      = Customer{ID: 42, Number: "10001", Name: "Müller GmbH"}
	// Mail times are in UTC; folder names use Europe/Berlin (UTC+2 in May).
	t1 = time.Date(2024, 5, 1, 7, 15, 0, 0, time.UTC)
	t2 = time.Date(2024, 5, 3, 12, 40, 0, 0, time.UTC)
	t3 = time.Date(2024, 5, 6, 8, 5, 30, 0, time.UTC)
)

const thread = "Kunden/10001/E-Mail Attachments/2024-05-01 Angebot"

func mail(id string, at time.Time, sender string) Mail {
	return Mail{ID: id, Date: at, SenderName: sender, SenderAddress: strings.ToLower(sender) + "@example.com", BaseSubject: "Angebot"}
}

func file(id, name string) Attachment {
	return Attachment{ID: id, Name: name, ContentType: "application/pdf", Size: 1000, Kind: KindFile}
}

func filed(m Mail, files ...string) FiledMail {
	return FiledMail{ID: m.ID, Date: m.Date, SenderName: m.SenderName, SenderAddress: m.SenderAddress, Files: files}
}

func places(dir string, names ...string) []Placement {
	var out []Placement
	for i, n := range names {
		p := Placement{AttachmentID: "a" + string(rune('1'+i))}
		if n == "" {
			p.Skipped = true
		} else {
			p.Path = dir + "/" + n
		}
		out = append(out, p)
	}
	return out
}

func TestLayout(t *testing.T) {
	mA, mB, mC := mail("A", t1, "Anna Alt"), mail("B", t2, "Bernd Bauer"), mail("C", t3, "Anna Alt")
	dirA, dirB, dirC := thread+"/2024-05-01 09.15 Anna Alt", thread+"/2024-05-03 14.40 Bernd Bauer", thread+"/2024-05-06 10.05 Anna Alt"
	tests := []struct {
		name string
		req  Request
		want Plan
	}{{
		name: "first mail: files directly in the thread folder",
		req:  Request{Mail: mA, Attachments: []Attachment{file("a1", "Angebot.pdf"), file("a2", "AGB.pdf")}},
		want: Plan{ThreadDir: thread, MailDir: thread, Files: places(thread, "Angebot.pdf", "AGB.pdf")},
	}, {
		name: "second mail joins: both get subfolders, the first mail's files move",
		req: Request{Mail: mB, Attachments: []Attachment{file("a1", "Angebot v2.pdf")},
			History: []FiledMail{filed(mA, thread+"/Angebot.pdf", thread+"/AGB.pdf")}},
		want: Plan{ThreadDir: thread, MailDir: dirB, Files: places(dirB, "Angebot v2.pdf"), Moves: []Move{
			{MailID: "A", From: thread + "/AGB.pdf", To: dirA + "/AGB.pdf"},
			{MailID: "A", From: thread + "/Angebot.pdf", To: dirA + "/Angebot.pdf"},
		}},
	}, {
		name: "third mail: existing subfolders stay, no moves",
		req: Request{Mail: mC, Attachments: []Attachment{file("a1", "Angebot.pdf")},
			History: []FiledMail{filed(mA, dirA+"/Angebot.pdf"), filed(mB, dirB+"/Angebot v2.pdf")}},
		want: Plan{ThreadDir: thread, MailDir: dirC, Files: places(dirC, "Angebot.pdf")},
	}, {
		name: "interrupted moves: only what is left moves, into the same folder",
		req: Request{Mail: mB, Attachments: []Attachment{file("a1", "Angebot v2.pdf")},
			History: []FiledMail{filed(mA, dirA+"/Angebot.pdf", thread+"/AGB.pdf")}},
		want: Plan{ThreadDir: thread, MailDir: dirB, Files: places(dirB, "Angebot v2.pdf"), Moves: []Move{
			{MailID: "A", From: thread + "/AGB.pdf", To: dirA + "/AGB.pdf"},
		}},
	}, {
		name: "retried first mail: same names, its own files are no collision",
		req: Request{Mail: mA, Attachments: []Attachment{file("a1", "Angebot.pdf"), file("a2", "AGB.pdf")},
			History: []FiledMail{filed(mA, thread+"/Angebot.pdf")}},
		want: Plan{ThreadDir: thread, MailDir: thread, Files: places(thread, "Angebot.pdf", "AGB.pdf")},
	}, {
		name: "retried second mail after its moves: same folder",
		req: Request{Mail: mB, Attachments: []Attachment{file("a1", "Angebot v2.pdf")},
			History: []FiledMail{filed(mA, dirA+"/Angebot.pdf"), filed(mB, dirB+"/Angebot v2.pdf")}},
		want: Plan{ThreadDir: thread, MailDir: dirB, Files: places(dirB, "Angebot v2.pdf")},
	}, {
		name: "thread folder is never renamed: other case, earlier date, new template",
		req: Request{Mail: Mail{ID: "Z", Date: t1.Add(-48 * time.Hour), SenderName: "Zoe", BaseSubject: "ANGEBOT"},
			CustomerFolder: "{number} {name}", Attachments: []Attachment{file("a1", "x.pdf")},
			History: []FiledMail{filed(mA, thread+"/Angebot.pdf")}},
		want: Plan{ThreadDir: thread, MailDir: thread + "/2024-04-29 09.15 Zoe", Files: places(thread+"/2024-04-29 09.15 Zoe", "x.pdf"),
			Moves: []Move{{MailID: "A", From: thread + "/Angebot.pdf", To: dirA + "/Angebot.pdf"}}},
	}, {
		name: "duplicate names within one mail, case-insensitive",
		req:  Request{Mail: mA, Attachments: []Attachment{file("a1", "scan.pdf"), file("a2", "Scan.PDF"), file("a3", "scan.pdf"), file("a4", "")}},
		want: Plan{ThreadDir: thread, MailDir: thread, Files: places(thread, "scan.pdf", "Scan (2).PDF", "scan (3).pdf", "Anhang.pdf")},
	}, {
		name: "names taken by foreign files are numbered around",
		req: Request{Mail: mA, Attachments: []Attachment{file("a1", "scan.pdf")},
			Taken: []string{thread + "/scan.pdf", thread + "/scan (2).pdf", "elsewhere/scan (3).pdf"}},
		want: Plan{ThreadDir: thread, MailDir: thread, Files: places(thread, "scan (3).pdf")},
	}, {
		name: "same sender in the same minute: folder (2)",
		req: Request{Mail: Mail{ID: "A2", Date: t1.Add(20 * time.Second), SenderName: "Anna Alt", BaseSubject: "Angebot"},
			Attachments: []Attachment{file("a1", "b.pdf")}, History: []FiledMail{filed(mA, thread+"/a.pdf")}},
		want: Plan{ThreadDir: thread, MailDir: dirA + " (2)", Files: places(dirA+" (2)", "b.pdf"),
			Moves: []Move{{MailID: "A", From: thread + "/a.pdf", To: dirA + "/a.pdf"}}},
	}, {
		name: "a mail folder name taken by a file in the thread folder",
		req: Request{Mail: mB, Attachments: []Attachment{file("a1", "b.pdf")},
			History: []FiledMail{filed(mA, thread+"/2024-05-01 09.15 Anna Alt")}},
		want: Plan{ThreadDir: thread, MailDir: dirB, Files: places(dirB, "b.pdf"), Moves: []Move{
			{MailID: "A", From: thread + "/2024-05-01 09.15 Anna Alt", To: dirA + " (2)/2024-05-01 09.15 Anna Alt"},
		}},
	}, {
		name: "inline skipped, attached mail as .eml, cloud link as .url",
		req: Request{Mail: mA, SkipInline: true, Attachments: []Attachment{
			{ID: "a1", Name: "logo.png", Kind: KindFile, Inline: true},
			{ID: "a2", Name: "AW: Angebot?", Kind: KindItem},
			{ID: "a3", Name: "Preisliste.xlsx", Kind: KindReference},
			{ID: "a4", Name: "mail.EML", Kind: KindItem},
			{ID: "a5", Name: "", Kind: KindItem},
		}},
		want: Plan{ThreadDir: thread, MailDir: thread, Files: places(thread, "", "AW_ Angebot_.eml", "Preisliste.xlsx.url", "mail.EML", "Anhang.eml")},
	}, {
		name: "inline kept when not skipping",
		req:  Request{Mail: mA, Attachments: []Attachment{{ID: "a1", Name: "logo.png", Kind: KindFile, Inline: true}}},
		want: Plan{ThreadDir: thread, MailDir: thread, Files: places(thread, "logo.png")},
	}, {
		name: "only inline attachments: nothing to file, no folders",
		req:  Request{Mail: mB, SkipInline: true, Attachments: []Attachment{{ID: "a1", Name: "logo.png", Inline: true}}, History: []FiledMail{filed(mA, thread+"/a.pdf")}},
		want: Plan{Files: places("", "")},
	}, {
		name: "empty subject, NFD subject, hostile sender",
		req:  Request{Mail: Mail{ID: "E", Date: t1, BaseSubject: ""}, Attachments: []Attachment{file("a1", "x.pdf")}},
		want: Plan{ThreadDir: "Kunden/10001/E-Mail Attachments/2024-05-01 (ohne Betreff)", MailDir: "Kunden/10001/E-Mail Attachments/2024-05-01 (ohne Betreff)",
			Files: places("Kunden/10001/E-Mail Attachments/2024-05-01 (ohne Betreff)", "x.pdf")},
	}, {
		name: "NFD subject becomes NFC, slashes and colons replaced",
		req:  Request{Mail: Mail{ID: "N", Date: t1, BaseSubject: "Ma\u0308rz: Lieferung 1/2"}, Attachments: []Attachment{file("a1", "x.pdf")}},
		want: Plan{ThreadDir: "Kunden/10001/E-Mail Attachments/2024-05-01 M\u00e4rz_ Lieferung 1_2", MailDir: "Kunden/10001/E-Mail Attachments/2024-05-01 M\u00e4rz_ Lieferung 1_2",
			Files: places("Kunden/10001/E-Mail Attachments/2024-05-01 M\u00e4rz_ Lieferung 1_2", "x.pdf")},
	}, {
		name: "date in the configured zone: 23:30 UTC is the next day in Berlin",
		req:  Request{Mail: Mail{ID: "L", Date: time.Date(2024, 5, 1, 23, 30, 0, 0, time.UTC), BaseSubject: "Angebot"}, Attachments: []Attachment{file("a1", "x.pdf")}},
		want: Plan{ThreadDir: "Kunden/10001/E-Mail Attachments/2024-05-02 Angebot", MailDir: "Kunden/10001/E-Mail Attachments/2024-05-02 Angebot",
			Files: places("Kunden/10001/E-Mail Attachments/2024-05-02 Angebot", "x.pdf")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if req.Root == "" {
				req.Root = "/Kunden/"
			}
			if req.Location == nil {
				req.Location = berlin
			}
			if req.Customer == (Customer{}) {
				req.Customer = cust
			}
			got, err := Layout(req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Layout mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLayoutLongSubjectAndNames(t *testing.T) {
	subj := strings.Repeat("Ä", 200) // 400 bytes
	got, err := Layout(Request{Customer: cust, Mail: Mail{ID: "X", Date: t1, BaseSubject: subj},
		Attachments: []Attachment{file("a1", strings.Repeat("ß", 200)+".pdf"), file("a2", strings.Repeat("ß", 200)+".pdf")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append([]string{got.ThreadDir}, got.Files[0].Path, got.Files[1].Path) {
		for _, seg := range strings.Split(p, "/") {
			if len(seg) > MaxNameBytes {
				t.Errorf("segment of %d bytes: %q", len(seg), seg)
			}
		}
	}
	if want := "2024-05-01 " + strings.Repeat("Ä", 119); !strings.HasSuffix(got.ThreadDir, want) {
		t.Errorf("thread folder %q, want …%q", got.ThreadDir, want)
	}
	if want := strings.Repeat("ß", 121) + " (2).pdf"; !strings.HasSuffix(got.Files[1].Path, "/"+want) {
		t.Errorf("second file %q, want …%q", got.Files[1].Path, want)
	}
}

// TestLayoutConcurrentMails: B and C of one thread arrive at once. The
// caller serialises them (lock on customer + subject key); whichever runs
// first, each call is deterministic and the end state is the same.
func TestLayoutConcurrentMails(t *testing.T) {
	mA, mB, mC := mail("A", t1, "Anna Alt"), mail("B", t2, "Bernd Bauer"), mail("C", t3, "Carla Clever")
	run := func(first, second Mail) map[string][]string {
		state := map[string][]string{"A": {thread + "/a.pdf"}}
		history := func() []FiledMail {
			var h []FiledMail
			for _, m := range []Mail{mA, mB, mC} {
				if files := state[m.ID]; files != nil {
					h = append(h, filed(m, files...))
				}
			}
			return h
		}
		for _, m := range []Mail{first, second} {
			req := Request{Root: "Kunden", Location: berlin, Customer: cust, Mail: m, History: history(), Attachments: []Attachment{file("a1", "doc.pdf")}}
			p1, err1 := Layout(req)
			p2, err2 := Layout(req)
			if err1 != nil || err2 != nil || !cmp.Equal(p1, p2) {
				t.Fatalf("Layout not deterministic: %v %v\n%s", err1, err2, cmp.Diff(p1, p2))
			}
			for _, mv := range p1.Moves {
				for i, f := range state[mv.MailID] {
					if f == mv.From {
						state[mv.MailID][i] = mv.To
					}
				}
			}
			state[m.ID] = append(state[m.ID], p1.Files[0].Path)
		}
		return state
	}
	bc, cb := run(mB, mC), run(mC, mB)
	if diff := cmp.Diff(bc, cb); diff != "" {
		t.Errorf("end state depends on the order (-B first +C first):\n%s", diff)
	}
	want := map[string][]string{
		"A": {thread + "/2024-05-01 09.15 Anna Alt/a.pdf"},
		"B": {thread + "/2024-05-03 14.40 Bernd Bauer/doc.pdf"},
		"C": {thread + "/2024-05-06 10.05 Carla Clever/doc.pdf"},
	}
	if diff := cmp.Diff(want, bc); diff != "" {
		t.Errorf("end state mismatch (-want +got):\n%s", diff)
	}
}

func TestCustomerFolder(t *testing.T) {
	c := Customer{ID: 42, Number: "10001", Name: "Müller / Söhne: GmbH."}
	tests := []struct {
		tmpl, want, err string
	}{
		{"", "10001", ""},
		{"{number}", "10001", ""},
		{"{number} {name}", "10001 Müller _ Söhne_ GmbH", ""},
		{"Kunden/{name} ({id})", "Kunden/Müller _ Söhne_ GmbH (42)", ""},
		{"../{number}", "10001", ""},
		{"{nummer}", "", "unknown placeholder"},
		{"{number", "", "unbalanced"},
		{"number}", "", "unbalanced"},
	}
	for _, tt := range tests {
		got, err := CustomerFolder(tt.tmpl, c)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("CustomerFolder(%q) error = %v, want %q", tt.tmpl, err, tt.err)
			}
			if ValidateTemplate(tt.tmpl) == nil {
				t.Errorf("ValidateTemplate(%q) = nil", tt.tmpl)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CustomerFolder(%q) = %q, %v; want %q", tt.tmpl, got, err, tt.want)
		}
	}
	if got, _ := CustomerFolder("{number}", Customer{ID: 7}); got != "7" {
		t.Errorf("empty number: %q, want the ID", got)
	}
	if _, err := Layout(Request{Root: "../x", Mail: Mail{ID: "m"}, Attachments: []Attachment{file("a", "b")}}); err == nil {
		t.Errorf("root with .. accepted")
	}
}
