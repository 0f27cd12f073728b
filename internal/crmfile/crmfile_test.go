package crmfile

import (
	"strings"
	"testing"
)

func TestDemoFileIsValid(t *testing.T) {
	f, err := ReadFile("../../configs/demo/crm.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Employees) < 5 || len(f.Customers) < 40 || len(f.Contacts) < 100 {
		t.Errorf("demo CRM too small: %d employees, %d customers, %d contacts", len(f.Employees), len(f.Customers), len(f.Contacts))
	}
	statuses := map[string]bool{}
	for _, l := range f.Leads {
		statuses["lead "+l.Status] = true
	}
	for _, o := range f.Opportunities {
		statuses["opportunity "+o.Status] = true
	}
	if len(statuses) != 9 {
		t.Errorf("demo CRM lacks some lead/opportunity statuses: %v", statuses)
	}
}

func TestParseErrorsNameRecordAndField(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"unknown field":   {`{"customers":[{"id":1,"name":"A"},{"id":2,"nmae":"B"}]}`, `customers[1]: unknown field "nmae"`},
		"wrong type":      {`{"leads":[{"id":"7"}]}`, `leads[0]: field id: expected int64`},
		"bad time":        {`{"leads":[{"id":7,"created_at":"gestern"}]}`, `leads[0]: a time is not in RFC 3339 form`},
		"unknown section": {`{"kunden":[]}`, `unknown section "kunden"`},
		"truncated":       {`{"customers":[`, `truncated JSON`},
		"empty":           {``, `empty input`},
		"not an object":   {`[1,2]`, `expected map[string]json.RawMessage`},
		"trailing data":   {`{} {}`, `unexpected data after the JSON object`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%s): err = %v, want it to contain %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	in := `{
	  "employees": [{"id": 1, "name": "", "email": "a@b.de", "exchange_mailbox": "x500", "active": true}],
	  "customers": [{"id": 1, "name": "A", "email": "info@a.de", "domains": ["a.at", "not a domain"]}, {"id": 1, "name": "B"}],
	  "contacts": [{"id": 1, "customer_id": 9, "email": "two@@a.de"}],
	  "leads": [{"id": 1, "customer_id": 1, "status": "open", "created_at": "2026-01-01T00:00:00Z"}],
	  "opportunities": [{"id": 0, "customer_id": 1, "status": "deferred"}]
	}`
	f, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	err = f.Validate(nil)
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	for _, want := range []string{
		`employees[0] (id 1): name: must not be empty`,
		`employees[0] (id 1): exchange_mailbox "x500": not an e-mail address`,
		`customers[0] (id 1): domains[1] "not a domain": not a domain`,
		`customers[1] (id 1): id: a second customer with id 1`,
		`contacts[0] (id 1): customer_id 9: no such customer`,
		`contacts[0] (id 1): email "two@@a.de": not an e-mail address`,
		`leads[0] (id 1): status "open"`,
		`opportunities[0] (id 0): id: must be a positive number`,
		`opportunities[0] (id 0): status "deferred"`,
		`opportunities[0] (id 0): created_at: missing`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q\nfull error: %v", want, err)
		}
	}
	if err := f.Validate(func(id int64) bool { return id == 9 }); strings.Contains(err.Error(), "customer_id 9") {
		t.Errorf("customer 9 known to the database still reported: %v", err)
	}
}
