package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dedesales/exchange-connector/internal/metrics"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/dedesales/exchange-connector/internal/testenv"
)

func TestAPIIsOffUntilAKeyExists(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		env := newEnv(t, st, false)
		r := env.do("GET", "/api/v1/activities", "", "")
		if r.status != http.StatusNotFound || !strings.Contains(r.problem(t).Detail, "connector apikey create") {
			t.Fatalf("no key yet: %d %s", r.status, r.body)
		}
		r = env.do("PUT", "/api/v1/contacts/5", "dcx_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", `{"customer_id":1}`)
		if r.status != http.StatusNotFound {
			t.Fatalf("no key yet, a token: %d %s", r.status, r.body)
		}
		if r := env.do("GET", PathOpenAPI, "", ""); r.status != http.StatusOK {
			t.Fatalf("the document is public: %d", r.status)
		}
		token, _, err := st.CreateAPIKey(context.Background(), "crm", store.ScopeWrite)
		if err != nil {
			t.Fatal(err)
		}
		if r := env.do("DELETE", "/api/v1/contacts/5", token, ""); r.status != http.StatusNotFound || !strings.Contains(r.problem(t).Detail, "no contact with id 5") {
			t.Fatalf("with a key: %d %s", r.status, r.body)
		}
		if err := st.RevokeAPIKey(context.Background(), "crm"); err != nil {
			t.Fatal(err)
		}
		// A key that authenticated is trusted for keyCacheTTL more.
		now := time.Now()
		env.h.now = func() time.Time { return now }
		if r := env.do("DELETE", "/api/v1/contacts/5", token, ""); r.status != http.StatusNotFound || strings.Contains(r.problem(t).Detail, "apikey create") {
			t.Fatalf("revoked a moment ago: %d %s", r.status, r.body)
		}
		now = now.Add(keyCacheTTL + time.Millisecond)
		if r := env.do("DELETE", "/api/v1/contacts/5", token, ""); r.status != http.StatusNotFound || !strings.Contains(r.problem(t).Detail, "apikey create") {
			t.Fatalf("every key revoked: %d %s", r.status, r.body)
		}
	})
}

func TestAuthentication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		env := newEnv(t, st, true)
		seed(t, st)
		body := `{"customer_id":10,"name":"Jana","email":"jana@schulz-technik.com"}`
		for name, tc := range map[string]struct {
			token  string
			header string
			status int
		}{
			"no header":         {status: 401},
			"not bearer":        {header: "Basic Y3JtOng=", status: 401},
			"unknown token":     {token: "dcx_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", status: 401},
			"right prefix only": {token: env.write[:12] + strings.Repeat("a", 44), status: 401},
			"not a dcx token":   {token: "hello", status: 401},
			"read key writes":   {token: env.read, status: 403},
			"write key":         {token: env.write, status: 201},
		} {
			t.Run(name, func(t *testing.T) {
				req, _ := http.NewRequest("PUT", env.srv.URL+"/api/v1/contacts/7", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				switch {
				case tc.header != "":
					req.Header.Set("Authorization", tc.header)
				case tc.token != "":
					req.Header.Set("Authorization", "Bearer "+tc.token)
				}
				r := env.send(req)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				if r.status == 401 && r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if r.status >= 400 {
					r.problem(t)
				}
			})
		}
		// An unknown endpoint is a problem too.
		req, _ := http.NewRequest("GET", env.srv.URL+"/api/v1/contact/7", nil)
		req.Header.Set("Authorization", "Bearer "+env.read)
		res, err := env.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 || res.Header.Get("Content-Type") != MediaTypeProblem {
			t.Errorf("unknown endpoint: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		// The 403 wrote nothing; the read key reads.
		if r := env.do("GET", "/api/v1/activities", env.read, ""); r.status == 401 || r.status == 403 {
			t.Errorf("read key reading: %d", r.status)
		}
		keys, err := st.APIKeys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.LastUsedAt == nil {
				t.Errorf("key %s: last_used_at not recorded", k.Name)
			}
			if strings.Contains(k.Hash, env.write) || k.Hash == env.write || !strings.HasPrefix(env.write, k.Prefix) && k.Name == "crm" {
				t.Errorf("key %s: stored %+v", k.Name, k)
			}
		}
	})
}

func TestPutIsIdempotentAndReportsWhatItDid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		env := newEnv(t, st, true)
		seed(t, st)
		for _, step := range []struct {
			method, path, body string
			status             int
			result             string
			rematch            bool
		}{
			{"PUT", "/api/v1/customers/12", `{"number":"10003","name":"Kunze AG","email":"info@kunze.de","domains":["kunze-ag.de"]}`, 201, "created", true},
			{"PUT", "/api/v1/customers/12", `{"id":12,"number":"10003","name":"Kunze AG","email":"info@kunze.de","domains":["KUNZE-AG.de"]}`, 200, "unchanged", false},
			{"PUT", "/api/v1/customers/12", `{"number":"10003","name":"Kunze AG","email":"info@kunze.de","domains":["kunze.at"]}`, 200, "updated", true},
			{"PUT", "/api/v1/contacts/101", `{"customer_id":12,"name":"Karl Kunze","email":"karl@kunze.de"}`, 201, "created", true},
			{"PUT", "/api/v1/contacts/101", `{"customer_id":12,"name":"Karl Kunze","email":"karl@kunze.de"}`, 200, "unchanged", false},
			{"PUT", "/api/v1/contacts/101", `{"customer_id":12,"name":"Karl Kunze","email":"k.kunze@kunze.de"}`, 200, "updated", true},
			{"PUT", "/api/v1/employees/2", `{"name":"Peter Kraus","email":"peter@dedenet.de","exchange_mailbox":null,"active":true}`, 201, "created", true},
			{"PUT", "/api/v1/employees/2", `{"name":"Peter Kraus","email":"peter@dedenet.de","active":true}`, 200, "unchanged", false},
			{"PUT", "/api/v1/leads/1001", `{"customer_id":12,"title":"Neubau","status":"deferred","created_at":"2026-10-02T09:00:00Z"}`, 201, "created", false},
			{"PUT", "/api/v1/leads/1001", `{"customer_id":12,"title":"Neubau","status":"deferred","created_at":"2026-10-02T11:00:00+02:00"}`, 200, "unchanged", false},
			{"PUT", "/api/v1/opportunities/2001", `{"customer_id":12,"title":"Halle","status":"won","created_at":"2026-10-03T09:00:00Z"}`, 201, "created", false},
			{"PUT", "/api/v1/opportunities/2001", `{"customer_id":12,"title":"Halle","status":"lost","created_at":"2026-10-03T09:00:00Z"}`, 200, "updated", false},
		} {
			r := env.do(step.method, step.path, env.write, step.body)
			if r.status != step.status || r.json(t)["result"] != step.result {
				t.Fatalf("%s %s %s: %d %s; want %d %s", step.method, step.path, step.body, r.status, r.body, step.status, step.result)
			}
			if got := env.rem.take(); (len(got) > 0) != step.rematch {
				t.Errorf("%s %s → %s: rematch requested %v, want %v", step.method, step.path, step.result, got, step.rematch)
			}
		}
		if d := dump(t, st); !strings.Contains(d, `{"id":101,"customer_id":12,"name":"Karl Kunze","email":"k.kunze@kunze.de"}`) ||
			!strings.Contains(d, `"domains":["kunze.at"]`) || !strings.Contains(d, `"status":"lost"`) {
			t.Errorf("stored:\n%s", d)
		}
	})
}

// Bad input answers a problem naming the field and writes nothing.
func TestBadInputWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		env := newEnv(t, st, true)
		seed(t, st)
		before := dump(t, st)
		for _, tc := range []struct {
			name, method, path, body string
			status                   int
			field                    string
		}{
			{"missing customer", "PUT", "/api/v1/contacts/101", `{"customer_id":99,"name":"X"}`, 409, "customer_id"},
			{"missing customer of a lead", "PUT", "/api/v1/leads/1001", `{"customer_id":99,"status":"won","created_at":"2026-10-02T09:00:00Z"}`, 409, "customer_id"},
			{"id differs from path", "PUT", "/api/v1/contacts/101", `{"id":102,"customer_id":10}`, 400, "id"},
			{"path id zero", "PUT", "/api/v1/contacts/0", `{"customer_id":10}`, 400, "id"},
			{"path id negative", "DELETE", "/api/v1/contacts/-3", ``, 400, "id"},
			{"path id not a number", "PUT", "/api/v1/contacts/abc", `{"customer_id":10}`, 400, "id"},
			{"path id too big", "PUT", "/api/v1/contacts/99999999999999999999", `{"customer_id":10}`, 400, "id"},
			{"body id zero", "PUT", "/api/v1/contacts/101", `{"id":0,"customer_id":10}`, 400, "id"},
			{"unknown field", "PUT", "/api/v1/contacts/101", `{"customer_id":10,"mail":"x@y.de"}`, 400, "mail"},
			{"wrong type", "PUT", "/api/v1/contacts/101", `{"customer_id":"10"}`, 400, "customer_id"},
			{"bad address", "PUT", "/api/v1/contacts/101", `{"customer_id":10,"email":"two@@x.de"}`, 400, "email"},
			{"bad domain", "PUT", "/api/v1/customers/12", `{"name":"X","domains":["not a domain"]}`, 400, "domains[0]"},
			{"empty name", "PUT", "/api/v1/customers/12", `{"name":" "}`, 400, "name"},
			{"bad status", "PUT", "/api/v1/leads/1001", `{"customer_id":10,"status":"open","created_at":"2026-10-02T09:00:00Z"}`, 400, "status"},
			{"bad time", "PUT", "/api/v1/leads/1001", `{"customer_id":10,"status":"won","created_at":"gestern"}`, 400, "created_at"},
			{"null mailbox type", "PUT", "/api/v1/employees/2", `{"name":"P","exchange_mailbox":5}`, 400, "exchange_mailbox"},
			{"not JSON", "PUT", "/api/v1/contacts/101", `{"customer_id":10`, 400, ""},
			{"array", "PUT", "/api/v1/contacts/101", `[]`, 400, ""},
			{"trailing data", "PUT", "/api/v1/contacts/101", `{"customer_id":10} {}`, 400, ""},
			{"unknown setting", "PUT", "/api/v1/settings/ignored_domain", `{"value":[]}`, 404, "key"},
			{"bad setting", "PUT", "/api/v1/settings/backfill_days", `{"value":"many"}`, 400, "value"},
			{"bad template", "PUT", "/api/v1/settings/documents_customer_folder", `{"value":"{nmuber}"}`, 400, "value"},
			{"setting without value", "PUT", "/api/v1/settings/backfill_days", `{}`, 400, "value"},
			{"import bad email", "POST", "/api/v1/import", `{"contacts":[{"id":101,"customer_id":10,"email":"x"}],"customers":[{"id":12,"name":"N"}]}`, 400, "contacts[0].email"},
			{"import missing customer", "POST", "/api/v1/import", `{"contacts":[{"id":101,"customer_id":99}]}`, 409, "contacts[0].customer_id"},
			{"import unknown section", "POST", "/api/v1/import", `{"kunden":[]}`, 400, "kunden"},
			{"import bad setting", "POST", "/api/v1/import", `{"customers":[{"id":12,"name":"N"}],"settings":{"backfill_days":"x"}}`, 400, "settings.backfill_days"},
			{"delete customer with activities", "DELETE", "/api/v1/customers/10", ``, 409, "id"},
			{"delete customer with contacts", "DELETE", "/api/v1/customers/11", ``, 200, ""},
			{"delete employee with mail", "DELETE", "/api/v1/employees/1", ``, 409, "id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := env.do(tc.method, tc.path, env.write, tc.body)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				if r.status < 400 {
					return
				}
				p := r.problem(t)
				if tc.field != "" && !p.hasField(tc.field) {
					t.Errorf("problem does not name %q: %s", tc.field, r.body)
				}
			})
		}
		after := dump(t, st)
		// Only customer 11 (no activities, no contacts) was deleted.
		before = strings.Replace(before, `,{"id":11,"number":"10002","name":"Müller Landtechnik","email":"info@mueller-landtechnik.de"}`, "", 1)
		if before != after {
			t.Errorf("bad input changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if got := env.rem.take(); len(got) != 1 || got[0] != "api: deleted customer 11" {
			t.Errorf("rematch causes %q, want only the delete of customer 11", got)
		}
	})
}

// A body over the cap is 413, whether its length is announced or not.
func TestOversizedBody(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		env := newEnv(t, st, true)
		big := `{"customer_id":10,"name":"` + strings.Repeat("x", MaxRecordBody) + `"}`
		if r := env.do("PUT", "/api/v1/contacts/101", env.write, big); r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("announced: %d %.200s", r.status, r.body)
		}
		req, _ := http.NewRequest("PUT", env.srv.URL+"/api/v1/contacts/101", struct{ *strings.Reader }{strings.NewReader(big)})
		req.ContentLength = -1 // chunked: the length is not announced
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+env.write)
		if r := env.send(req); r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked: %d %.200s", r.status, r.body)
		}
		if r := env.do("PUT", "/api/v1/contacts/101", env.write, `{"customer_id":10}`); r.status != http.StatusConflict {
			t.Fatalf("customer 10 should not exist: %d", r.status)
		}
	})
}

func TestDeleteKeepsActivitiesAndLogsTheChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		env := newEnv(t, st, true)
		activity := seed(t, st)
		ctx := context.Background()
		for _, path := range []string{"/api/v1/contacts/100", "/api/v1/leads/1000", "/api/v1/opportunities/2000"} {
			r := env.do("DELETE", path, env.write, "")
			if r.status != 200 || r.json(t)["activities_unlinked"] != float64(1) {
				t.Fatalf("DELETE %s: %d %s", path, r.status, r.body)
			}
			if r := env.do("DELETE", path, env.write, ""); r.status != 404 {
				t.Fatalf("DELETE %s again: %d %s", path, r.status, r.body)
			}
		}
		a, err := st.FeedActivityByID(ctx, activity)
		if err != nil {
			t.Fatal(err)
		}
		if a.ContactID != nil || a.LeadID != nil || a.OpportunityID != nil || a.CustomerID != 10 {
			t.Errorf("activity after the deletes: %+v", a)
		}
		// On PostgreSQL a change is shown once every transaction that began
		// before it has ended — in the whole cluster, which other tests share:
		// wait (bounded) until the activity's and the three deletes' changes are final.
		changes := storetest.AwaitChanges(t, st.Changes, store.Cursor{}, 4)
		var kinds []string
		for _, c := range changes {
			kinds = append(kinds, fmt.Sprintf("%s %d", c.Kind, c.ActivityID))
		}
		up := fmt.Sprintf("%s %d", store.ChangeActivityUpdated, activity)
		want := []string{fmt.Sprintf("%s %d", store.ChangeActivityCreated, activity), up, up, up}
		if !slices.Equal(kinds, want) {
			t.Errorf("change log after three deletes: %q, want %q", kinds, want)
		}
		if r := env.do("DELETE", "/api/v1/customers/10", env.write, ""); r.status != 409 {
			t.Errorf("customer with activities: %d", r.status)
		}
	})
}

func TestSettingsThroughTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		env := newEnv(t, st, true)
		for _, step := range []struct {
			key, body, result, stored string
		}{
			{"ignored_domains", `{"value":["Newsletter.example.com","x.de"]}`, "updated", `["newsletter.example.com","x.de"]`},
			{"ignored_domains", `{"value":"newsletter.example.com, x.de"}`, "unchanged", `["newsletter.example.com","x.de"]`},
			{"backfill_days", `{"value":60}`, "updated", `60`},
			{"opportunities_module", `{"value":true}`, "updated", `true`},
			{"documents_customer_folder", `{"value":"{number} {name}"}`, "updated", `"{number} {name}"`},
		} {
			r := env.do("PUT", "/api/v1/settings/"+step.key, env.write, step.body)
			m := r.json(t)
			if r.status != 200 || m["result"] != step.result {
				t.Fatalf("PUT %s %s: %d %s", step.key, step.body, r.status, r.body)
			}
			if v, _ := st.Setting(context.Background(), step.key); v != step.stored {
				t.Errorf("%s stored as %s, want %s", step.key, v, step.stored)
			}
			if got := env.rem.take(); (len(got) > 0) != (step.result != "unchanged") {
				t.Errorf("%s %s: rematch %q", step.key, step.result, got)
			}
		}
	})
}

func TestImportThroughTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		env := newEnv(t, st, true)
		file := `{"customers":[{"id":10,"name":"A","email":"a@a.de"}],"contacts":[{"id":100,"customer_id":10,"email":"x@a.de"}],"settings":{"backfill_days":10}}`
		r := env.do("POST", "/api/v1/import", env.write, file)
		if r.status != 200 || !strings.Contains(string(r.body), `"contacts":{"inserted":1,"unchanged":0,"updated":0}`) {
			t.Fatalf("import: %d %s", r.status, r.body)
		}
		if got := env.rem.take(); len(got) != 1 {
			t.Errorf("rematch after an import: %q", got)
		}
		r = env.do("POST", "/api/v1/import", env.write, file)
		if r.status != 200 || !strings.Contains(string(r.body), `"contacts":{"inserted":0,"unchanged":1,"updated":0}`) {
			t.Fatalf("import again: %d %s", r.status, r.body)
		}
		if got := env.rem.take(); len(got) != 0 {
			t.Errorf("rematch after an import that changed nothing: %q", got)
		}
	})
}

func TestRateLimit(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	rdb := testenv.RedisClient(t, testenv.RedisDBAPI)
	m := metrics.New(prometheus.NewRegistry())
	env := newEnv(t, st, true, withRedis(rdb, 1, 3), func(d *Deps) { d.Metrics = m })
	var codes []int
	var last resp
	for range 5 {
		last = env.do("DELETE", "/api/v1/contacts/5", env.write, "")
		codes = append(codes, last.status)
	}
	if !slices.Equal(codes, []int{404, 404, 404, 429, 429}) {
		t.Fatalf("statuses %v, want three through (burst 3) then 429", codes)
	}
	if ra := last.header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
	last.problem(t)
	if n := testutil.CollectAndCount(m.HTTPDuration); n != 2 {
		t.Errorf("request durations: %d series, want 2 (DELETE 404, DELETE 429)", n)
	}
	// Another key has its own budget.
	if r := env.do("GET", "/api/v1/activities", env.read, ""); r.status == 429 {
		t.Errorf("the read key was limited by the write key's use")
	}
}

// dump lists the master data, for comparing before and after.
func dump(t testing.TB, st *store.Store) string {
	t.Helper()
	f, err := st.ExportCRM(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, part := range []any{f.Employees, f.Customers, f.Contacts, f.Leads, f.Opportunities, f.Settings} {
		j, _ := json.Marshal(part)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}
