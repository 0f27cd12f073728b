package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/store"
)

// Every setting is validated by ParseSetting, which `connector settings
// set`, the import and the API all use: a typo fails when it is set.
func TestParseSettingValidatesEverySetting(t *testing.T) {
	good := map[string][][2]string{ // key → (input, stored)
		"ignored_domains":              {{`["A.de","b.de"]`, `["a.de","b.de"]`}, {`a.de, b.de`, `["a.de","b.de"]`}, {`"a.de b.de"`, `["a.de","b.de"]`}, {`[]`, `[]`}},
		"full_match_domains":           {{`gmx.de`, `["gmx.de"]`}},
		"own_domains":                  {{`dedenet.de`, `["dedenet.de"]`}},
		"opportunities_module":         {{`true`, `true`}, {`0`, `false`}},
		"backfill_days":                {{`0`, `0`}, {`3650`, `3650`}},
		"skip_inline_attachments":      {{`false`, `false`}},
		"max_attachment_bytes":         {{`1048576`, `1048576`}},
		"documents_customer_folder":    {{`{number}`, `"{number}"`}, {`"Kunden/{number} {name}"`, `"Kunden/{number} {name}"`}, {`{id}`, `"{id}"`}},
		"documents_root":               {{``, `""`}, {`CRM/Kunden`, `"CRM/Kunden"`}},
		"alert_recipients":             {{`ops@dedenet.de`, `["ops@dedenet.de"]`}},
		"alert_language":               {{`en`, `"en"`}, {`"de"`, `"de"`}},
		"documents_blocked_extensions": {{"EXE, *.lnk desktop.INI", `[".exe",".lnk","desktop.ini"]`}},
	}
	bad := map[string][]string{
		"ignored_domains":              {`a@b.de`, `["x y"]`, `[1]`},
		"full_match_domains":           {`not/a/domain`},
		"own_domains":                  {`@`},
		"opportunities_module":         {`maybe`, ``},
		"backfill_days":                {`-1`, `3651`, `ten`, `1.5`},
		"skip_inline_attachments":      {`yes please`},
		"max_attachment_bytes":         {`-5`, `big`},
		"documents_customer_folder":    {``, ` `, `{nmuber}`, `{number`, `number}`, `Kunden`, `Kunden\{number}`, `/{number}`, `{number}/`, `a//{id}`, `../{id}`, `{id}/..`},
		"documents_root":               {`..`, `a/../b`, `a\b`},
		"alert_recipients":             {`nobody`},
		"alert_language":               {`fr`, ``},
		"documents_blocked_extensions": {`["a b"]`, `exe.`},
	}
	for _, key := range store.SettingKeys() {
		if len(good[key]) == 0 || len(bad[key]) == 0 {
			t.Errorf("setting %s has no test cases here: add good and bad values", key)
		}
	}
	for key, cases := range good {
		for _, c := range cases {
			got, err := store.ParseSetting(key, c[0])
			if err != nil || got != c[1] {
				t.Errorf("ParseSetting(%s, %s) = %s, %v; want %s", key, c[0], got, err, c[1])
			}
		}
	}
	for key, values := range bad {
		for _, v := range values {
			if got, err := store.ParseSetting(key, v); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), key) {
				t.Errorf("ParseSetting(%s, %q) = %s, %v; want ErrInvalid naming the key", key, v, got, err)
			}
		}
	}
	if _, err := store.ParseSetting("no_such_setting", "1"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown key: %v", err)
	}
}
