package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Problem is an RFC 9457 problem details object; Errors names each wrong field.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// FieldError names one wrong field: "email", "customer_id", "id" (the
// path's), or in an import "contacts[3].email"; "" is the body as a whole.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (p *Problem) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", p.Status, p.Title)
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	for _, e := range p.Errors {
		fmt.Fprintf(&b, "; %s: %s", e.Field, e.Detail)
	}
	return b.String()
}

// problem makes a problem of status with a detail.
func problem(status int, detail string, errs ...FieldError) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs}
}

// MediaTypeProblem is the content type of every error answer.
const MediaTypeProblem = "application/problem+json"

// writeProblem sends p; a problem's body is small, so it is never streamed.
func writeProblem(c echo.Context, p *Problem) error {
	if p.Instance == "" {
		p.Instance = c.Request().URL.Path
	}
	c.Response().Header().Set(echo.HeaderContentType, MediaTypeProblem)
	return c.JSON(p.Status, p)
}

// errorHandler turns any error a handler of the API returns into a problem:
// a *Problem as it is, an echo.HTTPError (unknown route, wrong method) by its
// code, anything else as a 500 that is logged and not shown.
func (h *Handler) errorMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed {
			return err
		}
		var p *Problem
		var he *echo.HTTPError
		switch {
		case errors.As(err, &p):
		case errors.As(err, &he):
			p = problem(he.Code, fmt.Sprint(he.Message))
		default:
			h.log.ErrorContext(c.Request().Context(), "api request failed",
				"method", c.Request().Method, "path", c.Request().URL.Path, "error", err)
			p = problem(http.StatusInternalServerError, "an internal error occurred; the connector's log has the details")
		}
		return writeProblem(c, p)
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
