package api

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// The routes registered in echo under /api/v1 and the operations of the
// document must be the same set: a handler the document lacks, or an
// operation without a handler, fails here.
func TestRoutesMatchDocument(t *testing.T) {
	h := newTestHandler(t, nil)
	e := echo.New()
	h.Register(e)

	param := regexp.MustCompile(`:([a-z_]+)`)
	var got []string
	for _, r := range e.Routes() {
		if !strings.HasPrefix(r.Path, Prefix+"/") || r.Method == echo.RouteNotFound {
			continue
		}
		got = append(got, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	var want []string
	for path, item := range h.doc.Paths.Map() {
		for method := range item.Operations() {
			want = append(want, method+" "+path)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	got, want = slices.Compact(got), slices.Compact(want)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("the document has %s, echo has no route for it", w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("echo has a route %s that the document lacks", g)
		}
	}
	if len(want) < 18 {
		t.Errorf("the document has %d operations, want all of DESIGN §11 (≥ 18)", len(want))
	}
}

func TestDocumentServed(t *testing.T) {
	h := newTestHandler(t, nil)
	e := echo.New()
	h.Register(e)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, PathOpenAPI, nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "openapi: 3.1.0") {
		t.Fatalf("GET %s: %d %.60q", PathOpenAPI, rec.Code, rec.Body.String())
	}
	if doc, err := LoadDocument(); err != nil || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("document: 3.1 %v, %v", doc != nil && doc.IsOpenAPI31OrLater(), err)
	}
}
