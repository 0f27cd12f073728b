package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/store"
)

// fuzzStore authenticates every token as a write key and validates imports
// as the real store does (customer 10 exists), recording what reached it.
type fuzzStore struct {
	readStore
	imported []*crmfile.File
}

func (f *fuzzStore) AuthenticateAPIKey(context.Context, string) (store.APIKey, error) {
	return store.APIKey{ID: 1, Name: "fuzz", Scope: store.ScopeWrite}, nil
}
func (f *fuzzStore) HasAPIKeys(context.Context) (bool, error)                    { return true, nil }
func (f *fuzzStore) TouchAPIKey(context.Context, int64, time.Time) error         { return nil }
func (f *fuzzStore) Setting(context.Context, string) (string, error)             { return `""`, nil }
func (f *fuzzStore) DeleteCRMRecord(context.Context, string, int64) (int, error) { return 0, nil }
func (f *fuzzStore) ImportCRM(_ context.Context, file *crmfile.File) (store.ImportStats, error) {
	f.imported = append(f.imported, file)
	if err := file.Validate(func(id int64) bool { return id == 10 }); err != nil {
		return nil, err
	}
	return store.ImportStats{"contacts": {Inserted: len(file.Contacts)}, "leads": {Inserted: len(file.Leads)}}, nil
}

// FuzzPutRecord sends arbitrary paths IDs and bodies to PUT /contacts/{id}
// and /leads/{id}: the answer is always documented, never a 500, a problem
// for every error, and a body refused as malformed never reaches the store.
func FuzzPutRecord(f *testing.F) {
	for _, seed := range []struct{ id, body string }{
		{"7", `{"customer_id":10,"name":"Jana","email":"jana@x.de"}`},
		{"7", `{"id":7,"customer_id":10}`},
		{"7", `{"id":8,"customer_id":10}`},
		{"0", `{"customer_id":10}`},
		{"-1", `{}`},
		{"abc", `{"customer_id":10}`},
		{"9223372036854775808", `{"customer_id":10}`},
		{"7", `{"customer_id":99}`},
		{"7", `{"customer_id":"10"}`},
		{"7", `{"customer_id":10,"extra":1}`},
		{"7", `{"customer_id":10} x`},
		{"7", `{"customer_id":1e3}`},
		{"7", `{"customer_id":10,"email":"a@@b"}`},
		{"7", `{"customer_id":10,"status":"won","created_at":"2026-10-02T09:00:00Z","title":"t"}`},
		{"7", `{"customer_id":10,"name":"\u0000\ud800"}`},
		{"7", `[`},
		{"7", ``},
		{"7", `null`},
	} {
		f.Add(seed.id, seed.body, false)
		f.Add(seed.id, seed.body, true)
	}
	st := &fuzzStore{}
	h, err := New(Deps{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	e := echo.New()
	h.Register(e)
	f.Fuzz(func(t *testing.T, id, body string, lead bool) {
		st.imported = nil
		path := "/api/v1/contacts/" + url.PathEscape(id)
		if lead {
			path = "/api/v1/leads/" + url.PathEscape(id)
		}
		req := httptest.NewRequest(http.MethodPut, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer dcx_fuzz")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		res := rec.Result()
		resBody, _ := io.ReadAll(res.Body)
		switch res.StatusCode {
		case 201, 400, 404, 409:
		default:
			t.Fatalf("PUT %s %q → %d %s", path, body, res.StatusCode, resBody)
		}
		if res.StatusCode == 404 && !strings.Contains(id, "/") && !strings.Contains(id, "%") {
			// Only a path that is not one segment may miss the route.
			t.Fatalf("PUT %s → 404 %s", path, resBody)
		}
		if res.StatusCode >= 400 {
			var p Problem
			if err := json.Unmarshal(resBody, &p); err != nil || p.Status != res.StatusCode || res.Header.Get("Content-Type") != MediaTypeProblem {
				t.Fatalf("PUT %s %q → %d without a problem: %s", path, body, res.StatusCode, resBody)
			}
		}
		if res.StatusCode == 400 && len(st.imported) > 0 {
			// The store refuses what crmfile refuses (a bad address): then
			// the record must have been well-formed JSON of the schema.
			if err := st.imported[0].Validate(func(int64) bool { return true }); err == nil {
				t.Fatalf("PUT %s %q → 400 after the store accepted it", path, body)
			}
		}
		if res.StatusCode == 201 {
			file := st.imported[len(st.imported)-1]
			var got int64
			if lead {
				got = file.Leads[0].ID
			} else {
				got = file.Contacts[0].ID
			}
			if url.PathEscape(id) != id || strings.TrimLeft(id, "+0") != json.Number(jsonInt(got)).String() {
				t.Fatalf("PUT %s stored id %d", path, got)
			}
		}
		if res.StatusCode != 404 {
			checkResponse(t, h, req, []byte(body), res, resBody)
		}
	})
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }
