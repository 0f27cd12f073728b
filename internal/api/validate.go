package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
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
	unsupported := false
	var collect func(err error, param string)
	collect = func(err error, param string) {
		var re *openapi3filter.RequestError
		if errors.As(err, &re) && param == "" {
			if strings.HasPrefix(re.Reason, "header Content-Type has unexpected value") {
				unsupported = true
				return
			}
			if re.Parameter != nil {
				param = re.Parameter.Name
			}
			if re.Err != nil {
				collect(re.Err, param)
				return
			}
			errs = append(errs, FieldError{Field: param, Detail: re.Reason})
			return
		}
		var multi openapi3.MultiError
		if errors.As(err, &multi) {
			for _, e := range multi {
				collect(e, param)
			}
			return
		}
		var se *openapi3.SchemaError
		if errors.As(err, &se) {
			field := pointerField(se.JSONPointer())
			if param != "" {
				field = param
			}
			errs = append(errs, schemaFieldError(field, se))
			return
		}
		var pe *openapi3filter.ParseError
		if errors.As(err, &pe) {
			field := pointerField(pe.Path())
			if param != "" {
				field = param
			}
			detail := pe.Reason
			if detail == "" {
				detail = pe.Error()
			}
			errs = append(errs, FieldError{Field: field, Detail: detail})
			return
		}
		errs = append(errs, FieldError{Field: param, Detail: err.Error()})
	}
	collect(err, "")
	if unsupported {
		return problem(http.StatusUnsupportedMediaType, "the body must be application/json")
	}
	return problem(http.StatusBadRequest, "the request is not valid; nothing was written", errs...)
}

var (
	// JSON Schema's messages name a property the pointer does not reach.
	propertyRE = regexp.MustCompile(`property ["']([^"']+)["'] is (unsupported|missing)|missing propert(?:y|ies) ["']([^"']+)["']|additional propert(?:y|ies) ["']([^"']+)["']`)
	// The 2020-12 validator prefixes its reason with where it is.
	locationRE = regexp.MustCompile(`^(?:error at "[^"]*": )?(?:at '[^']*': )?`)
)

// schemaFieldError names the field of a schema error: a missing or unknown
// property is named itself, not its object.
func schemaFieldError(field string, se *openapi3.SchemaError) FieldError {
	detail := locationRE.ReplaceAllString(se.Reason, "")
	if m := propertyRE.FindStringSubmatch(se.Reason); m != nil {
		name := m[1] + m[3] + m[4]
		if field != "" && field != name && !strings.HasSuffix(field, "."+name) {
			name = field + "." + name
		} else if field != "" {
			name = field
		}
		switch {
		case m[2] == "unsupported" || m[4] != "":
			detail = "unknown field"
		default:
			detail = "missing"
		}
		return FieldError{Field: name, Detail: detail}
	}
	return FieldError{Field: field, Detail: detail}
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
