package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
)

// writeStore is what the master-data writes need of the database. Every
// write goes through ImportCRM, the code path of `connector import --crm`.
type writeStore interface {
	ImportCRM(ctx context.Context, f *crmfile.File) (store.ImportStats, error)
	DeleteCRMRecord(ctx context.Context, section string, id int64) (unlinked int, err error)
	Setting(ctx context.Context, key string) (string, error)
}

// Write outcomes.
const (
	resultCreated   = "created"
	resultUpdated   = "updated"
	resultUnchanged = "unchanged"
)

// section describes one record type of the import file.
type section struct {
	name   string // "contacts": the file's section, the table, the path
	single string // "contact": the response's key
	// put decodes the body, checks its id against the path's and returns
	// the one-record file and the record as it is stored.
	put func(body []byte, id int64) (*crmfile.File, any, error)
	// rematch: matching depends on these records.
	rematch bool
}

var sections = []section{
	{"employees", "employee", putOne(func(f *crmfile.File, e model.Employee) any {
		if e.ExchangeMailbox != nil && *e.ExchangeMailbox == "" {
			e.ExchangeMailbox = nil
		}
		f.Employees = []model.Employee{e}
		return e
	}, func(e *model.Employee) *int64 { return &e.ID }), true},
	{"customers", "customer", putOne(func(f *crmfile.File, c model.Customer) any {
		f.Customers = []model.Customer{c}
		return c
	}, func(c *model.Customer) *int64 { return &c.ID }), true},
	{"contacts", "contact", putOne(func(f *crmfile.File, c model.Contact) any {
		f.Contacts = []model.Contact{c}
		return c
	}, func(c *model.Contact) *int64 { return &c.ID }), true},
	{"leads", "lead", putOne(func(f *crmfile.File, l model.Lead) any {
		f.Leads = []model.Lead{l}
		return l
	}, func(l *model.Lead) *int64 { return &l.ID }), false},
	{"opportunities", "opportunity", putOne(func(f *crmfile.File, o model.Opportunity) any {
		f.Opportunities = []model.Opportunity{o}
		return o
	}, func(o *model.Opportunity) *int64 { return &o.ID }), false},
}

// putOne builds a section's put from the record type T.
func putOne[T any](add func(*crmfile.File, T) any, idOf func(*T) *int64) func([]byte, int64) (*crmfile.File, any, error) {
	return func(body []byte, id int64) (*crmfile.File, any, error) {
		rec, err := DecodeRecord[T](body, id, idOf)
		if err != nil {
			return nil, nil, err
		}
		f := &crmfile.File{}
		return f, add(f, rec), nil
	}
}

// DecodeRecord decodes a PUT body as a record of the import file (strictly,
// by crmfile.DecodeRecord) and sets its id to the path's: an id in the body
// may be left out and must equal the path's when given. Errors are
// *Problem (400) naming the field.
func DecodeRecord[T any](body []byte, pathID int64, idOf func(*T) *int64) (T, error) {
	rec, err := crmfile.DecodeRecord[T](body)
	if err != nil {
		var zero T
		return zero, problem(http.StatusBadRequest, "the body is not a valid record; nothing was written",
			FieldError{Field: "", Detail: err.Error()})
	}
	if pathID <= 0 {
		var zero T
		return zero, problem(http.StatusBadRequest, "the ID in the path must be a positive integer",
			FieldError{Field: "id", Detail: fmt.Sprintf("%d is not a positive integer", pathID)})
	}
	id := idOf(&rec)
	if *id != 0 && *id != pathID {
		var zero T
		return zero, problem(http.StatusBadRequest, "the body's id differs from the path's; nothing was written",
			FieldError{Field: "id", Detail: fmt.Sprintf("%d in the body, %d in the path: leave it out or make them equal", *id, pathID)})
	}
	*id = pathID
	return rec, nil
}

// registerWrite adds the master-data writes.
func (h *Handler) registerWrite(g *echo.Group) {
	for _, s := range sections {
		g.PUT("/"+s.name+"/:id", h.putRecord(s))
		g.DELETE("/"+s.name+"/:id", h.deleteRecord(s))
	}
	g.PUT("/settings/:key", h.putSetting)
	g.POST("/import", h.importFile)
}

// pathID parses the path's record ID (the document has checked it already).
func pathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, problem(http.StatusBadRequest, "the ID in the path must be a positive integer",
			FieldError{Field: "id", Detail: fmt.Sprintf("%q is not a positive integer", c.Param("id"))})
	}
	return id, nil
}

func readBody(c echo.Context) ([]byte, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(mbe.Limit)
		}
		return nil, problem(http.StatusBadRequest, "the body could not be read: "+err.Error())
	}
	return body, nil
}

func (h *Handler) putRecord(s section) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		body, err := readBody(c)
		if err != nil {
			return err
		}
		f, rec, err := s.put(body, id)
		if err != nil {
			return err
		}
		stats, err := h.d.Store.ImportCRM(c.Request().Context(), f)
		if err != nil {
			return h.writeProblem(c, err, false)
		}
		t := stats[s.name]
		result, status := resultUnchanged, http.StatusOK
		switch {
		case t != nil && t.Inserted > 0:
			result, status = resultCreated, http.StatusCreated
		case t != nil && t.Updated > 0:
			result = resultUpdated
		}
		if result != resultUnchanged && s.rematch {
			h.rematch(c.Request().Context(), fmt.Sprintf("api: %s %s %d", result, s.single, id))
		}
		h.log.InfoContext(c.Request().Context(), "api: record written", "section", s.name, "id", id, "result", result, "key", keyName(c))
		return c.JSON(status, map[string]any{"result": result, s.single: rec})
	}
}

func (h *Handler) deleteRecord(s section) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c)
		if err != nil {
			return err
		}
		unlinked, err := h.d.Store.DeleteCRMRecord(c.Request().Context(), s.name, id)
		var conflict *store.ConflictError
		switch {
		case errors.Is(err, store.ErrNotFound):
			return problem(http.StatusNotFound, fmt.Sprintf("no %s with id %d", s.single, id))
		case errors.As(err, &conflict):
			return problem(http.StatusConflict, conflict.Detail+"; nothing was deleted",
				FieldError{Field: conflict.Field, Detail: conflict.Detail})
		case err != nil:
			return err
		}
		if s.rematch {
			h.rematch(c.Request().Context(), fmt.Sprintf("api: deleted %s %d", s.single, id))
		}
		h.log.InfoContext(c.Request().Context(), "api: record deleted", "section", s.name, "id", id,
			"activities_unlinked", unlinked, "key", keyName(c))
		return c.JSON(http.StatusOK, map[string]any{"result": "deleted", "activities_unlinked": unlinked})
	}
}

// settingBody is the body of PUT /settings/{key}.
type settingBody struct {
	Value json.RawMessage `json:"value"`
}

func (h *Handler) putSetting(c echo.Context) error {
	key := c.Param("key")
	if !store.KnownSetting(key) {
		return problem(http.StatusNotFound, fmt.Sprintf("no setting %q (connector settings list shows them)", key),
			FieldError{Field: "key", Detail: "not a known setting"})
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var v settingBody
	if err := strictJSON(body, &v); err != nil || len(v.Value) == 0 {
		detail := "want {\"value\": …}"
		if err != nil {
			detail = err.Error()
		}
		return problem(http.StatusBadRequest, "the body is not a setting; nothing was written", FieldError{Field: "value", Detail: detail})
	}
	ctx := c.Request().Context()
	stats, err := h.d.Store.ImportCRM(ctx, &crmfile.File{Settings: map[string]json.RawMessage{key: v.Value}})
	if err != nil {
		return h.writeProblem(c, err, false)
	}
	result := resultUnchanged
	if t := stats["settings"]; t != nil && t.Inserted+t.Updated > 0 {
		result = resultUpdated
	}
	stored, err := h.d.Store.Setting(ctx, key)
	if err != nil {
		return err
	}
	if result != resultUnchanged {
		h.rematch(ctx, "api: setting "+key)
	}
	h.log.InfoContext(ctx, "api: setting written", "key", key, "result", result, "api_key", keyName(c))
	return c.JSON(http.StatusOK, map[string]any{"key": key, "value": json.RawMessage(stored), "result": result})
}

func (h *Handler) importFile(c echo.Context) error {
	ctx := c.Request().Context()
	f, err := crmfile.Parse(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return problem(http.StatusBadRequest, "the import file is not valid; nothing was imported",
			FieldError{Field: "", Detail: err.Error()})
	}
	stats, err := h.d.Store.ImportCRM(ctx, f)
	if err != nil {
		return h.writeProblem(c, err, true)
	}
	if stats.Changed() {
		h.rematch(ctx, "api: import")
	}
	tables := make(map[string]store.TableStats, len(stats))
	for name, t := range stats {
		tables[name] = *t
	}
	h.log.InfoContext(ctx, "api: import", "tables", fmt.Sprint(tables), "key", keyName(c))
	out := make(map[string]map[string]int, len(tables))
	for name, t := range tables {
		out[name] = map[string]int{"inserted": t.Inserted, "updated": t.Updated, "unchanged": t.Unchanged}
	}
	return c.JSON(http.StatusOK, map[string]any{"tables": out})
}

// writeProblem turns a store error of a write into a problem: the records'
// problems are 400 naming each field (409 when they are only references to
// missing customers), a setting's value 400; anything else is returned as
// it is (500). whole: name fields by their place in the file.
func (h *Handler) writeProblem(c echo.Context, err error, whole bool) error {
	var verr *crmfile.ValidationError
	var serr *store.SettingError
	var conflict *store.ConflictError
	switch {
	case errors.As(err, &verr):
		errs := make([]FieldError, len(verr.Problems))
		for i, p := range verr.Problems {
			field := p.Field
			if whole {
				field = p.Path()
			}
			errs[i] = FieldError{Field: field, Detail: p.Detail}
		}
		if verr.OnlyReferences() {
			return problem(http.StatusConflict, "a referenced customer does not exist; nothing was written", errs...)
		}
		return problem(http.StatusBadRequest, "the record is not valid; nothing was written", errs...)
	case errors.As(err, &serr):
		field := "value"
		if whole {
			field = "settings." + serr.Key
		}
		detail := strings.TrimPrefix(serr.Err.Error(), store.ErrInvalid.Error()+": ")
		detail = strings.TrimPrefix(detail, serr.Key+": ")
		return problem(http.StatusBadRequest, "the setting's value is not valid; nothing was written",
			FieldError{Field: field, Detail: detail})
	case errors.As(err, &conflict):
		return problem(http.StatusConflict, conflict.Detail+"; nothing was written",
			FieldError{Field: conflict.Field, Detail: conflict.Detail})
	case errors.Is(err, store.ErrInvalid):
		return problem(http.StatusBadRequest, err.Error())
	}
	return err
}

// strictJSON decodes one JSON value into v, refusing unknown fields and
// trailing data.
func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytesReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// rematch tells the Rematcher that master data changed; a failure is
// logged, the write stands (the next change or `connector rematch` catches up).
func (h *Handler) rematch(ctx context.Context, cause string) {
	if h.d.Rematcher == nil {
		return
	}
	if err := h.d.Rematcher.RequestRematch(ctx, cause); err != nil {
		h.log.WarnContext(ctx, "api: requesting retroactive matching failed", "cause", cause, "error", err)
	}
}

// keyName is the name of the request's API key, for logs.
func keyName(c echo.Context) string {
	if k, ok := c.Get(ctxKey).(store.APIKey); ok {
		return k.Name
	}
	return ""
}
