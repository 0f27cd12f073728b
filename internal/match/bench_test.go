package match

import (
	"fmt"
	"testing"

	"github.com/dedesales/exchange-connector/internal/model"
)

// benchCase is one prepared message with the look-ups a store would return.
type benchCase struct {
	in     *Input
	lookup Lookups
}

// benchCases builds a realistic mix: a CRM with 200 employees, 40 ignored
// and 60 free-mail domains, and messages that hit each rule.
func benchCases(b *testing.B) []benchCase {
	d := testDirectory()
	s := testSettings()
	employees := d.EmployeeAddresses()
	for i := range 200 {
		employees = append(employees, fmt.Sprintf("employee%d@dedenet.de", i))
	}
	for i := range 40 {
		s.IgnoredDomains = append(s.IgnoredDomains, fmt.Sprintf("ignored%d.example", i))
	}
	for i := range 55 {
		s.FullMatchDomains = append(s.FullMatchDomains, fmt.Sprintf("freemail%d.example", i))
	}
	rules := NewRules(s, employees)
	msgs := []struct {
		folder []model.FolderRef
		msg    model.Message
	}{
		{inbox, from("T.Mueller@mueller-bau.de")},
		{inbox, from("Neu@Mueller-Bau.de")},
		{inbox, from("jonas.weber@gmx.de")},
		{folder("inbox", "Kunden"), from("someone@unknown.example")},
		{sent, to([]string{"new@schulz-technik.com", "employee7@dedenet.de"}, "t.mueller@mueller-bau.de", "peter.kraus@dedenet.de")},
		{userPath, to([]string{"x@holding.example"})},
		{inbox, from("news@ignored3.example")},
		{folder("junkemail"), from("spam@spam.example")},
	}
	var cases []benchCase
	for _, m := range msgs {
		in := &Input{Message: m.msg, Mailbox: anna, OwnerAddresses: []string{anna}, Folder: m.folder, Rules: rules}
		cases = append(cases, benchCase{in: in, lookup: d.Lookup(Prepare(in))})
	}
	return cases
}

// BenchmarkMatch measures Prepare+Decide per message (look-ups prefilled).
func BenchmarkMatch(b *testing.B) {
	cases := benchCases(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := &cases[i%len(cases)]
		i++
		p := Prepare(c.in)
		if !p.Done {
			Decide(c.in, p, c.lookup)
		}
	}
}
