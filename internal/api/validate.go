package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
)

// Body caps: a record or a setting, and a whole import file.
const (
	MaxRecordBody = 1 << 20
	MaxImportBody = 64 << 20
)

// validate checks the request against the document: path and query
// parameters, content type and body. The body is capped first (413), so a
// huge body is never read whole.
func (h *Handler) validate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.Body != nil && req.Body != http.NoBody {
			limit := int64(MaxRecordBody)
			if c.Path() == Prefix+"/import" {
				limit = MaxImportBody
			}
			if req.ContentLength > limit {
				return tooLarge(limit)
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
		}
		route, params, err := h.router.FindRoute(req)
		if err != nil {
			if errors.Is(err, routers.ErrMethodNotAllowed) {
				return problem(http.StatusMethodNotAllowed, "this method is not allowed here")
			}
			return problem(http.StatusNotFound, "no such endpoint")
		}
		in := &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{
				AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
				MultiError:         true,
			},
		}
		if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
			return requestProblem(err)
		}
		return next(c)
	}
}

func tooLarge(limit int64) *Problem {
	return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d MiB", limit>>20))
}

// requestProblem turns a validation error into a problem naming each field.
func requestProblem(err error) *Problem {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(mbe.Limit)
	}
	var errs []FieldError
	status := http.StatusBadRequest
	var collect func(err error)
	collect = func(err error) {
		var multi openapi3.MultiError
		if errors.As(err, &multi) {
			for _, e := range multi {
				collect(e)
			}
			return
		}
		var re *openapi3filter.RequestError
		if errors.As(err, &re) {
			if strings.HasPrefix(re.Reason, "header Content-Type has unexpected value") {
				status = http.StatusUnsupportedMediaType
				return
			}
			var mbe *http.MaxBytesError
			if errors.As(re.Err, &mbe) {
				status = http.StatusRequestEntityTooLarge
			}
			if re.Parameter != nil {
				errs = append(errs, FieldError{Field: re.Parameter.Name, Detail: reasonOf(re.Err, re.Reason)})
				return
			}
		}
		var se *openapi3.SchemaError
		if errors.As(err, &se) {
			errs = append(errs, FieldError{Field: pointerField(se.JSONPointer()), Detail: se.Reason})
			return
		}
		var de *openapi3filter.ParseError
		if errors.As(err, &de) {
			errs = append(errs, FieldError{Field: pointerField(de.Path()), Detail: de.Error()})
			return
		}
		if re != nil {
			errs = append(errs, FieldError{Field: "", Detail: reasonOf(re.Err, re.Reason)})
			return
		}
		errs = append(errs, FieldError{Field: "", Detail: err.Error()})
	}
	collect(err)
	switch status {
	case http.StatusRequestEntityTooLarge:
		return tooLarge(MaxRecordBody)
	case http.StatusUnsupportedMediaType:
		return problem(status, "the body must be application/json")
	}
	return problem(status, "the request is not valid; nothing was written", errs...)
}

func reasonOf(err error, reason string) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return se.Reason
	}
	if err != nil {
		return err.Error()
	}
	return reason
}

// pointerField renders a JSON pointer's keys as a field name:
// ["contacts", "3", "email"] → "contacts[3].email".
func pointerField[T any](path []T) string {
	var b strings.Builder
	for _, k := range path {
		s := fmt.Sprint(k)
		if isIndex(s) {
			b.WriteString("[" + s + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
