package match

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dedesales/exchange-connector/internal/model"
)

const anna = "anna.berger@dedenet.de"

func ptr[T any](v T) *T { return &v }

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// testDirectory is a small CRM: see the comments on each record.
func testDirectory() *Directory {
	employees := []model.Employee{
		{ID: 1, Name: "Anna Berger", Email: anna, ExchangeMailbox: ptr(anna), Active: true},
		{ID: 2, Name: "Peter Kraus", Email: "peter.kraus@dedenet.de", ExchangeMailbox: ptr("Peter.Kraus@dedenet.de"), Active: true},
		// Mailbox and e-mail differ.
		{ID: 3, Name: "Lisa Schmidt", Email: "lisa@dedenet.de", ExchangeMailbox: ptr("lisa.schmidt@dedenet.onmicrosoft.com"), Active: true},
		// A private free-mail e-mail must not make gmail.com an own domain.
		{ID: 4, Name: "Max Aushilfe", Email: "max.privat@gmail.com", Active: false},
	}
	customers := []model.Customer{
		{ID: 10, Number: "K10", Name: "Müller Bau GmbH", Email: "info@mueller-bau.de"},
		{ID: 20, Number: "K20", Name: "Schulz Technik", Email: "service@schulz-technik.com", Domains: []string{"@Schulz-Service.de"}},
		{ID: 30, Number: "K30", Name: "Jonas Weber", Email: "Jonas.Weber@gmx.de"},
		{ID: 41, Number: "K41", Name: "Holding Nord", Email: "nord@holding.example"},
		{ID: 40, Number: "K40", Name: "Holding Süd", Email: "sued@holding.example"},
		{ID: 50, Number: "K50", Name: "Müller Bau (Unicode)", Email: "info@müller-bau.de"},
		{ID: 51, Number: "K51", Name: "Müller (punycode)", Email: "x@example.org", Domains: []string{"xn--mller-kva.de"}},
		{ID: 60, Number: "K60", Name: "Newsletter Co", Email: "info@newsletter.example"},
		{ID: 70, Number: "K70", Name: "Kunde mit Gmail", Email: "kunde70@gmail.com"},
		{ID: 80, Number: "K80", Name: "Shared A", Email: "a@shared-a.example"},
		{ID: 81, Number: "K81", Name: "Shared B", Email: "b@shared-b.example"},
	}
	contacts := []model.Contact{
		{ID: 100, CustomerID: 10, Name: "Thomas Müller", Email: "T.Mueller@mueller-bau.de"},
		{ID: 101, CustomerID: 20, Name: "Hans", Email: "hans@schulz-technik.com"},
		{ID: 103, CustomerID: 80, Name: "Einkauf A", Email: "einkauf@shared.example"},
		{ID: 102, CustomerID: 81, Name: "Einkauf B", Email: "einkauf@shared.example"},
		{ID: 105, CustomerID: 10, Name: "Büro 2", Email: "office@mueller-bau.de"},
		{ID: 104, CustomerID: 10, Name: "Büro 1", Email: "office@mueller-bau.de"},
	}
	leads := []model.Lead{
		{ID: 1, CustomerID: 10, Status: model.LeadWon, CreatedAt: day("2025-01-01")},
		{ID: 3, CustomerID: 10, Status: model.LeadDeferred, CreatedAt: day("2026-02-01")},
		{ID: 2, CustomerID: 10, Status: model.LeadInProgress, CreatedAt: day("2026-02-01")},
		{ID: 4, CustomerID: 10, Status: model.LeadInProgress, CreatedAt: day("2026-03-01")},
		{ID: 5, CustomerID: 20, Status: model.LeadLost, CreatedAt: day("2025-01-01")},
		{ID: 6, CustomerID: 20, Status: model.LeadCancelled, CreatedAt: day("2025-02-01")},
		{ID: 21, CustomerID: 30, Status: model.LeadInProgress, CreatedAt: day("2025-06-01")},
		{ID: 20, CustomerID: 30, Status: model.LeadDeferred, CreatedAt: day("2025-01-01")},
	}
	opportunities := []model.Opportunity{
		{ID: 7, CustomerID: 10, Status: model.OpportunityWon, CreatedAt: day("2024-01-01")},
		{ID: 9, CustomerID: 10, Status: model.OpportunityInProgress, CreatedAt: day("2026-05-01")},
		{ID: 8, CustomerID: 10, Status: model.OpportunityInProgress, CreatedAt: day("2026-04-01")},
		{ID: 10, CustomerID: 20, Status: model.OpportunityInProgress, CreatedAt: day("2026-01-01")},
		{ID: 31, CustomerID: 30, Status: model.OpportunityInProgress, CreatedAt: day("2026-01-01")},
		{ID: 32, CustomerID: 30, Status: model.OpportunityInProgress, CreatedAt: day("2025-01-01")},
		{ID: 33, CustomerID: 30, Status: model.OpportunityLost, CreatedAt: day("2020-01-01")},
	}
	return NewDirectory(employees, customers, contacts, leads, opportunities)
}

func testSettings() model.Settings {
	return model.Settings{
		IgnoredDomains:      []string{"newsletter.example", "@LinkedIn.com"},
		FullMatchDomains:    []string{"gmail.com", "gmx.de", "web.de", "t-online.de", "outlook.com"},
		OpportunitiesModule: true,
	}
}

var (
	inbox    = []model.FolderRef{{WellKnownName: "inbox"}}
	sent     = []model.FolderRef{{WellKnownName: "sentitems"}}
	userPath = []model.FolderRef{{ID: "u1", DisplayName: "Kunden"}}
)

func folder(wk string, sub ...string) []model.FolderRef {
	p := []model.FolderRef{{WellKnownName: wk}}
	for _, s := range sub {
		p = append(p, model.FolderRef{DisplayName: s})
	}
	return p
}

func addr(a string) *model.Recipient {
	return &model.Recipient{EmailAddress: model.EmailAddress{Address: a}}
}

func rcpts(as ...string) []model.Recipient {
	var out []model.Recipient
	for _, a := range as {
		out = append(out, *addr(a))
	}
	return out
}

func from(a string) model.Message { return model.Message{From: addr(a), ToRecipients: rcpts(anna)} }

func to(to []string, cc ...string) model.Message {
	return model.Message{From: addr(anna), ToRecipients: rcpts(to...), CcRecipients: rcpts(cc...)}
}

func loadMessage(t testing.TB, name string) model.Message {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var m model.Message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// imp builds an imported decision.
func imp(dir, rule, matched string, customer int64, contact, lead, opp *int64, cands ...string) Decision {
	return Decision{Outcome: OutcomeImported, Reason: ReasonMatched, Direction: dir, Rule: rule,
		MatchedAddress: matched, CustomerID: ptr(customer), ContactID: contact, LeadID: lead,
		OpportunityID: opp, Candidates: cands}
}

func ign(reason, dir string, cands ...string) Decision {
	return Decision{Outcome: OutcomeIgnored, Reason: reason, Direction: dir, Candidates: cands}
}

func ambiguous(d Decision) Decision { d.Ambiguous = true; return d }

func TestMatch(t *testing.T) {
	x500 := loadMessage(t, "message-sent-x500.json")
	x500NoProp := x500
	x500NoProp.SingleValueExtendedProperties = nil
	noFrom := model.Message{Sender: addr("t.mueller@mueller-bau.de")}
	draftSent := to([]string{"t.mueller@mueller-bau.de"})
	draftSent.IsDraft = true
	junkDraft := from("t.mueller@mueller-bau.de")
	junkDraft.IsDraft = true
	noModule := testSettings()
	noModule.OpportunitiesModule = false
	ownExplicit := testSettings()
	ownExplicit.OwnDomains = []string{"firma.de"}

	const (
		tm  = "t.mueller@mueller-bau.de"
		in  = DirectionInbound
		out = DirectionOutbound
	)
	contact100 := imp(in, RuleContactExact, tm, 10, ptr[int64](100), ptr[int64](2), ptr[int64](8), tm)

	tests := []struct {
		name     string
		mailbox  string
		owner    []string
		folder   []model.FolderRef
		msg      model.Message
		settings *model.Settings
		want     Decision
	}{
		// Rules 5–9 in the inbox.
		{name: "inbound from contact", folder: inbox, msg: from("Thomas Müller <T.Mueller@Mueller-Bau.de>"), want: contact100},
		{name: "inbound unknown address at customer domain", folder: inbox, msg: from("neu@mueller-bau.de"),
			want: imp(in, RuleCustomerDomain, "neu@mueller-bau.de", 10, nil, ptr[int64](2), ptr[int64](8), "neu@mueller-bau.de")},
		{name: "free-mail sender is customer full address", folder: inbox, msg: from("JONAS.WEBER@gmx.de"),
			want: imp(in, RuleCustomerFullAddress, "jonas.weber@gmx.de", 30, nil, ptr[int64](20), ptr[int64](32), "jonas.weber@gmx.de")},
		{name: "free-mail sender is not a customer", folder: inbox, msg: from("someone@gmx.de"),
			want: ign(ReasonNoMatch, in, "someone@gmx.de")},
		{name: "unknown domain", folder: inbox, msg: from("a@unknown.example"), want: ign(ReasonNoMatch, in, "a@unknown.example")},
		{name: "module off", folder: inbox, msg: from(tm), settings: &noModule,
			want: imp(in, RuleContactExact, tm, 10, ptr[int64](100), ptr[int64](2), nil, tm)},
		{name: "no open lead", folder: inbox, msg: from("hans@schulz-technik.com"),
			want: imp(in, RuleContactExact, "hans@schulz-technik.com", 20, ptr[int64](101), nil, ptr[int64](10), "hans@schulz-technik.com")},
		{name: "extra customer domain", folder: inbox, msg: from("a@schulz-service.de"),
			want: imp(in, RuleCustomerDomain, "a@schulz-service.de", 20, nil, nil, ptr[int64](10), "a@schulz-service.de")},
		{name: "several contacts of different customers", folder: inbox, msg: from("einkauf@shared.example"),
			want: ambiguous(imp(in, RuleContactExact, "einkauf@shared.example", 81, ptr[int64](102), nil, nil, "einkauf@shared.example"))},
		{name: "several contacts of one customer", folder: inbox, msg: from("office@mueller-bau.de"),
			want: imp(in, RuleContactExact, "office@mueller-bau.de", 10, ptr[int64](104), ptr[int64](2), ptr[int64](8), "office@mueller-bau.de")},
		{name: "several customers on one domain", folder: inbox, msg: from("x@holding.example"),
			want: ambiguous(imp(in, RuleCustomerDomain, "x@holding.example", 40, nil, nil, nil, "x@holding.example"))},
		{name: "punycode sender, Unicode customer", folder: inbox, msg: from("vertrieb@XN--MLLER-BAU-Q9A.de"),
			want: imp(in, RuleCustomerDomain, "vertrieb@xn--mller-bau-q9a.de", 50, nil, nil, nil, "vertrieb@xn--mller-bau-q9a.de")},
		{name: "Unicode sender, punycode extra domain", folder: inbox, msg: from("a@MÜLLER.de"),
			want: imp(in, RuleCustomerDomain, "a@xn--mller-kva.de", 51, nil, nil, nil, "a@xn--mller-kva.de")},
		{name: "sender missing, from used", folder: inbox, msg: noFrom, want: contact100},

		// Rule 4.
		{name: "ignored domain", folder: inbox, msg: from("info@newsletter.example"),
			want: ign(ReasonIgnoredDomain, in, "info@newsletter.example")},
		{name: "ignored subdomain", folder: inbox, msg: from("x@mail.newsletter.example"),
			want: ign(ReasonIgnoredDomain, in, "x@mail.newsletter.example")},
		{name: "ignored domain written with @ and capitals", folder: inbox, msg: from("invitations@linkedin.com"),
			want: ign(ReasonIgnoredDomain, in, "invitations@linkedin.com")},
		{name: "lookalike of ignored domain is not ignored", folder: inbox, msg: from("x@notnewsletter.example"),
			want: ign(ReasonNoMatch, in, "x@notnewsletter.example")},
		{name: "ignored recipient dropped, other matches", folder: sent, msg: to([]string{"info@newsletter.example", tm}),
			want: imp(out, RuleContactExact, tm, 10, ptr[int64](100), ptr[int64](2), ptr[int64](8), "info@newsletter.example", tm)},

		// Rule 1.
		{name: "junk", folder: folder("junkemail"), msg: from(tm), want: ign(ReasonExcludedFolder, "")},
		{name: "junk subfolder", folder: folder("junkemail", "x"), msg: from(tm), want: ign(ReasonExcludedFolder, "")},
		{name: "deleted items", folder: folder("deleteditems"), msg: from(tm), want: ign(ReasonExcludedFolder, "")},
		{name: "deleted items subfolder", folder: folder("deleteditems", "Alt", "Älter"), msg: from(tm), want: ign(ReasonExcludedFolder, "")},
		{name: "drafts folder before isDraft", folder: folder("drafts"), msg: draftSent, want: ign(ReasonExcludedFolder, "")},
		{name: "archive", folder: folder("archive"), msg: from(tm), want: ign(ReasonExcludedFolder, "")},
		{name: "other well-known, any case", folder: folder("SearchFolders"), msg: from(tm), want: ign(ReasonExcludedFolder, "")},
		{name: "conversation history", folder: folder("conversationhistory"), msg: from(tm), want: ign(ReasonExcludedFolder, "")},
		{name: "msgfolderroot given first is skipped", folder: append(folder("msgfolderroot"), folder("junkemail")...), msg: from(tm), want: ign(ReasonExcludedFolder, "")},
		{name: "isDraft in sent items", folder: sent, msg: draftSent, want: ign(ReasonDraft, "")},
		{name: "isDraft in junk is excluded_folder", folder: folder("junkemail"), msg: junkDraft, want: ign(ReasonExcludedFolder, "")},

		// Rule 2.
		{name: "inbox subfolder", folder: folder("inbox", "Kunde A", "2026"), msg: from(tm), want: contact100},
		{name: "sent items subfolder", folder: folder("sentitems", "Angebote"), msg: to([]string{tm}),
			want: imp(out, RuleContactExact, tm, 10, ptr[int64](100), ptr[int64](2), ptr[int64](8), tm)},
		{name: "user folder, owner sent", folder: userPath, msg: to([]string{tm}),
			want: imp(out, RuleContactExact, tm, 10, ptr[int64](100), ptr[int64](2), ptr[int64](8), tm)},
		{name: "user folder, external sent", folder: userPath, msg: from(tm), want: contact100},
		{name: "empty path is a user folder", msg: to([]string{tm}),
			want: imp(out, RuleContactExact, tm, 10, ptr[int64](100), ptr[int64](2), ptr[int64](8), tm)},
		{name: "user folder, owner's e-mail differs from mailbox (from directory)", mailbox: "lisa.schmidt@dedenet.onmicrosoft.com",
			folder: userPath, msg: model.Message{From: addr("Lisa@dedenet.de"), ToRecipients: rcpts(tm)},
			want: imp(out, RuleContactExact, tm, 10, ptr[int64](100), ptr[int64](2), ptr[int64](8), tm)},
		{name: "user folder, explicit owner addresses", mailbox: "ceo@dedenet.de", owner: []string{"Chef <chef@dedenet.de>"},
			folder: userPath, msg: model.Message{From: addr("chef@dedenet.de"), ToRecipients: rcpts(tm)},
			want: imp(out, RuleContactExact, tm, 10, ptr[int64](100), ptr[int64](2), ptr[int64](8), tm)},
		{name: "owner's own mail in the inbox is inbound, hence internal", folder: inbox, msg: to([]string{tm}),
			want: ign(ReasonInternal, in)},

		// Rule 3.
		{name: "outbound: exact contact on CC beats domain hit on TO", folder: sent,
			msg:  to([]string{"Unbekannt <new@schulz-technik.com>"}, tm),
			want: imp(out, RuleContactExact, tm, 10, ptr[int64](100), ptr[int64](2), ptr[int64](8), "new@schulz-technik.com", tm)},
		{name: "outbound: first domain hit in order", folder: sent, msg: to([]string{"a@unknown.example", "new@schulz-technik.com"}, "neu@mueller-bau.de"),
			want: imp(out, RuleCustomerDomain, "new@schulz-technik.com", 20, nil, nil, ptr[int64](10), "a@unknown.example", "new@schulz-technik.com", "neu@mueller-bau.de")},
		{name: "internal only", folder: sent, msg: to([]string{"Peter.Kraus@dedenet.de"}, "unknown.colleague@dedenet.de", "x@sub.dedenet.de", anna),
			want: ign(ReasonInternal, out)},
		{name: "inbound from colleague", folder: inbox, msg: from("peter.kraus@dedenet.de"), want: ign(ReasonInternal, in)},
		{name: "explicit own domains: mailbox domain not own", folder: inbox, msg: from("unknown.colleague@dedenet.de"), settings: &ownExplicit,
			want: ign(ReasonNoMatch, in, "unknown.colleague@dedenet.de")},
		{name: "explicit own domains: subdomain dropped", folder: inbox, msg: from("x@mail.firma.de"), settings: &ownExplicit,
			want: ign(ReasonInternal, in)},
		{name: "employee's private free-mail address is internal", folder: inbox, msg: from("max.privat@gmail.com"), want: ign(ReasonInternal, in)},
		{name: "free-mail domain of an employee is not own", folder: inbox, msg: from("kunde70@gmail.com"),
			want: imp(in, RuleCustomerFullAddress, "kunde70@gmail.com", 70, nil, nil, nil, "kunde70@gmail.com")},
		{name: "duplicates kept once", folder: sent, msg: to([]string{"T.Mueller@mueller-bau.de", "t.mueller@MUELLER-BAU.de"}, tm),
			want: imp(out, RuleContactExact, tm, 10, ptr[int64](100), ptr[int64](2), ptr[int64](8), tm)},
		{name: "garbage addresses dropped", folder: sent,
			msg:  to([]string{"", "not-an-address", "a@b@c", "/o=Org/ou=x/cn=Recipients/cn=y", "@x.de", "Neu <neu@mueller-bau.de>"}),
			want: imp(out, RuleCustomerDomain, "neu@mueller-bau.de", 10, nil, ptr[int64](2), ptr[int64](8), "neu@mueller-bau.de")},
		{name: "garbage only", folder: sent, msg: to([]string{" ", "x", "a@"}), want: ign(ReasonInternal, out)},
		{name: "no recipients", folder: sent, msg: model.Message{From: addr(anna)}, want: ign(ReasonInternal, out)},
		{name: "no sender", folder: inbox, msg: model.Message{}, want: ign(ReasonInternal, in)},

		// X.500 senders.
		{name: "x500 in sent items", folder: sent, msg: x500,
			want: imp(out, RuleCustomerFullAddress, "jonas.weber@gmx.de", 30, nil, ptr[int64](20), ptr[int64](32), "jonas.weber@gmx.de", "service@schulz-technik.com")},
		{name: "x500 with 0x5D01 in user folder is outbound", folder: userPath, msg: x500,
			want: imp(out, RuleCustomerFullAddress, "jonas.weber@gmx.de", 30, nil, ptr[int64](20), ptr[int64](32), "jonas.weber@gmx.de", "service@schulz-technik.com")},
		{name: "x500 without 0x5D01 in user folder", folder: userPath, msg: x500NoProp, want: ign(ReasonInternal, in)},
		{name: "x500 with 0x5D01 in inbox", folder: inbox, msg: x500, want: ign(ReasonInternal, in)},
	}
	d := testDirectory()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings()
			if tt.settings != nil {
				s = *tt.settings
			}
			mbox := tt.mailbox
			if mbox == "" {
				mbox = anna
			}
			in := &Input{Message: tt.msg, Mailbox: mbox, OwnerAddresses: tt.owner, Folder: tt.folder, Rules: NewRules(s, d.EmployeeAddresses())}
			got := Match(in, d)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), ignoreRaw); diff != "" {
				t.Errorf("Match mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestX500SenderProperty(t *testing.T) {
	m := loadMessage(t, "message-sent-x500.json")
	tests := []struct {
		name  string
		props []model.ExtendedProperty
		want  string
	}{
		{"0x5d01 lower case", []model.ExtendedProperty{{ID: "String 0x5d01", Value: "anna.berger@dedenet.de"}}, "anna.berger@dedenet.de"},
		{"0x5D01 upper case", []model.ExtendedProperty{{ID: "String 0x5D01", Value: "a@b.de"}}, "a@b.de"},
		{"0x5D02 preferred for from", []model.ExtendedProperty{{ID: "String 0x5D01", Value: "sender@b.de"}, {ID: "String 0x5D02", Value: "from@b.de"}}, "from@b.de"},
		{"unrelated property", []model.ExtendedProperty{{ID: "String 0x0037", Value: "x@y.de"}}, m.From.EmailAddress.Address},
		{"none", nil, m.From.EmailAddress.Address},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.SingleValueExtendedProperties = tt.props
			if got := senderAddress(&m); got != tt.want {
				t.Errorf("senderAddress = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	s := testSettings()
	in := &Input{
		Folder:  sent,
		Mailbox: anna,
		Message: to([]string{"a@kunde.example", "b@kunde.example", "c@gmx.de", "x@newsletter.example"}, "d@andere.example"),
		Rules:   NewRules(s, nil),
	}
	got := Prepare(in)
	want := Prepared{
		Direction:  DirectionOutbound,
		Candidates: []string{"a@kunde.example", "b@kunde.example", "c@gmx.de", "x@newsletter.example", "d@andere.example"},
		Raw:        []string{"a@kunde.example", "b@kunde.example", "c@gmx.de", "x@newsletter.example", "d@andere.example"},
		Addresses:  []string{"a@kunde.example", "b@kunde.example", "c@gmx.de", "d@andere.example"},
		Domains:    []string{"kunde.example", "andere.example"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Prepare mismatch (-want +got):\n%s", diff)
	}
}

func TestDecideWithLookups(t *testing.T) {
	in := &Input{Folder: inbox, Mailbox: anna, Message: from("x@kunde.example"), Rules: NewRules(testSettings(), nil)}
	p := Prepare(in)
	l := Lookups{
		CustomersByDomain: map[string][]model.Customer{"kunde.example": {{ID: 7}, {ID: 7}}},
		Leads: map[int64][]model.Lead{7: {
			{ID: 3, Status: model.LeadDeferred, CreatedAt: day("2026-01-01")},
			{ID: 2, Status: model.LeadWon, CreatedAt: day("2020-01-01")},
		}},
		Opportunities: map[int64][]model.Opportunity{7: {{ID: 4, Status: model.OpportunityInProgress}}},
	}
	want := imp(DirectionInbound, RuleCustomerDomain, "x@kunde.example", 7, nil, ptr[int64](3), ptr[int64](4), "x@kunde.example")
	if diff := cmp.Diff(want, Decide(in, p, l), ignoreRaw); diff != "" {
		t.Errorf("Decide mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ign(ReasonNoMatch, DirectionInbound, "x@kunde.example"), Decide(in, p, Lookups{}), ignoreRaw); diff != "" {
		t.Errorf("Decide with empty look-ups mismatch (-want +got):\n%s", diff)
	}
}

func TestDecisionJSON(t *testing.T) {
	tests := []struct {
		name string
		d    Decision
		want string
	}{
		{"ignored", ign(ReasonExcludedFolder, ""),
			`{"outcome":"ignored","reason":"excluded_folder","direction":null,"rule":null,"matched_address":null,"customer_id":null,"contact_id":null,"lead_id":null,"opportunity_id":null,"ambiguous":false,"candidates":[]}`},
		{"imported", ambiguous(imp(DirectionInbound, RuleCustomerDomain, "a@b.de", 4, nil, ptr[int64](5), nil, "a@b.de")),
			`{"outcome":"imported","reason":"matched","direction":"inbound","rule":"customer_domain","matched_address":"a@b.de","customer_id":4,"contact_id":null,"lead_id":5,"opportunity_id":null,"ambiguous":true,"candidates":["a@b.de"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(b)); diff != "" {
				t.Errorf("MarshalJSON mismatch (-want +got):\n%s", diff)
			}
			var back Decision
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.d, back, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatchDoesNotModifyInput(t *testing.T) {
	d := testDirectory()
	in := &Input{Folder: inbox, Mailbox: anna, Message: from("t.mueller@mueller-bau.de"), Rules: NewRules(testSettings(), d.EmployeeAddresses())}
	Match(in, d)
	if in.OwnerAddresses != nil {
		t.Errorf("Match modified its input: %+v", in)
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("t.mueller@mueller-bau.de", "", "anna.berger@dedenet.de", "x@holding.example", "", "inbox", "", false, "", "anna.berger@dedenet.de")
	f.Add("/o=Org/cn=anna", "a", "Jonas.Weber@GMX.de", "", "a@newsletter.example", "", "Kunden", false, "anna.berger@dedenet.de", "anna.berger@dedenet.de")
	f.Add("", "", "", "", "", "junkemail", "", true, "", "")
	d := testDirectory()
	rules := NewRules(testSettings(), d.EmployeeAddresses())
	f.Fuzz(func(t *testing.T, fromA, senderA, to1, to2, cc, wk, display string, draft bool, prop, mailbox string) {
		m := model.Message{From: addr(fromA), Sender: addr(senderA), ToRecipients: rcpts(to1, to2), CcRecipients: rcpts(cc), IsDraft: draft,
			SingleValueExtendedProperties: []model.ExtendedProperty{{ID: "String 0x5D01", Value: prop}}}
		in := &Input{Message: m, Mailbox: mailbox, Folder: []model.FolderRef{{WellKnownName: wk}, {DisplayName: display}}, Rules: rules}
		got := Match(in, d)
		checkDecision(t, got)
	})
}

// checkDecision verifies the invariants of every decision.
func checkDecision(t *testing.T, d Decision) {
	t.Helper()
	switch d.Reason {
	case ReasonMatched:
		if d.Outcome != OutcomeImported || d.CustomerID == nil || d.Rule == "" || d.MatchedAddress == "" || d.Direction == "" {
			t.Fatalf("bad imported decision %+v", d)
		}
	case ReasonExcludedFolder, ReasonDraft, ReasonInternal, ReasonIgnoredDomain, ReasonNoMatch:
		if d.Outcome != OutcomeIgnored || d.CustomerID != nil || d.Rule != "" {
			t.Fatalf("bad ignored decision %+v", d)
		}
	default:
		t.Fatalf("unknown reason in %+v", d)
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatal(err)
	}
}
