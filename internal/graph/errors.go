package graph

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/dedesales/exchange-connector/internal/grapherr"
)

// wrap turns whatever a call returned into a *grapherr.Error naming op, so
// that callers can branch with errors.Is on the kinds of package grapherr.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ge *grapherr.Error
	if errors.As(err, &ge) {
		if ge.Op == "token" {
			cp := *ge
			cp.Op = op + ": token"
			return &cp
		}
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &grapherr.Error{Kind: grapherr.ErrTransient, Op: op, Err: err}
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		e := &grapherr.Error{Op: op, Status: oe.ResponseStatusCode}
		if main := oe.GetErrorEscaped(); main != nil {
			e.Code = deref(main.GetCode())
			e.Message = deref(main.GetMessage())
		}
		e.RetryAfter = headerRetryAfter(oe.GetResponseHeaders())
		e.Kind = grapherr.Classify(e.Status, e.Code, e.Message)
		return e
	}
	var ae *abs.ApiError
	if errors.As(err, &ae) {
		e := &grapherr.Error{Op: op, Status: ae.ResponseStatusCode, Message: ae.Message}
		e.RetryAfter = headerRetryAfter(ae.ResponseHeaders)
		e.Kind = grapherr.Classify(e.Status, "", "")
		return e
	}
	// Network failures, TLS errors, a semaphore that could not be reached.
	return &grapherr.Error{Kind: grapherr.ErrTransient, Op: op, Err: err}
}

func headerRetryAfter(h *abs.ResponseHeaders) time.Duration {
	if h == nil {
		return 0
	}
	for _, v := range h.Get("Retry-After") {
		return parseRetryAfter(v)
	}
	return 0
}

// responseError reads a raw response's error body (Graph's
// {"error":{"code","message"}}) into a *grapherr.Error.
func responseError(op string, resp *http.Response) error {
	defer resp.Body.Close()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(data, &body)
	return &grapherr.Error{
		Kind: grapherr.Classify(resp.StatusCode, body.Error.Code, body.Error.Message), Op: op, Status: resp.StatusCode,
		Code: body.Error.Code, Message: body.Error.Message, RetryAfter: retryAfter(resp),
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
