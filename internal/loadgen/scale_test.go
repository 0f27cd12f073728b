package loadgen

import (
	"encoding/json"
	"os"
	"testing"
)

func TestGenerateCRM(t *testing.T) {
	base, err := os.ReadFile("../../configs/demo/crm.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := GenerateCRM(base, 12, "u{n}@scale.example")
	if err != nil {
		t.Fatal(err)
	}
	var crm struct {
		Employees []struct {
			ID      int64  `json:"id"`
			Mailbox string `json:"exchange_mailbox"`
			Active  bool   `json:"active"`
		} `json:"employees"`
		Contacts []json.RawMessage `json:"contacts"`
	}
	if err := json.Unmarshal(out, &crm); err != nil {
		t.Fatal(err)
	}
	if len(crm.Employees) != 12 || crm.Employees[11].Mailbox != "u00012@scale.example" || !crm.Employees[0].Active || crm.Employees[11].ID != 12 {
		t.Errorf("employees = %+v", crm.Employees)
	}
	if len(crm.Contacts) == 0 {
		t.Error("the base's contacts are gone")
	}
	if _, err := GenerateCRM(base, 0, "u{n}@x"); err == nil {
		t.Error("0 employees: no error")
	}
}
