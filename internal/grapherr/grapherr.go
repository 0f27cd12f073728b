// Package grapherr holds the typed errors of the Graph client, so that jobs
// can branch on them without compiling msgraph-sdk-go (internal/graph).
//
//	var e *grapherr.Error
//	switch {
//	case errors.Is(err, grapherr.ErrThrottled): // retry after e.RetryAfter; not a failure
//	case errors.Is(err, grapherr.ErrAccessDenied): // mark the mailbox, alert, re-check with back-off
//	case errors.Is(err, grapherr.ErrForbidden): // another 403 (a quota): record Graph's words
//	case errors.Is(err, grapherr.ErrUserNotFound): // mark the mailbox not found, alert, re-check
//	}
package grapherr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kinds of failure. An *Error wraps exactly one of them.
var (
	// ErrAccessDenied: the mailbox is outside the app's scope (application
	// access policy or RBAC for Applications), or the permission is missing.
	// Only this kind marks a mailbox access-denied.
	ErrAccessDenied = errors.New("access denied")
	// ErrForbidden: any other 403, e.g. the quota of 1,000 subscriptions
	// per mailbox; not an access policy (Error.Message has Graph's words).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the item is gone (moved, deleted) or never existed.
	ErrNotFound = errors.New("not found")
	// ErrUserNotFound: Graph does not know the mailbox's user (404
	// ErrorInvalidUser, "The requested user '…' is invalid."): a wrong
	// address, a user not created yet or deleted, or a mail address that is
	// not the UPN. Not an ErrNotFound: the mailbox, not an item, is missing.
	ErrUserNotFound = errors.New("user not found")
	// ErrThrottled: Graph asked us to slow down; see Error.RetryAfter.
	ErrThrottled = errors.New("throttled")
	// ErrAuth: no token: a wrong, expired or revoked client secret, an
	// unknown tenant or app (Error.AADSTS keeps Entra's code).
	ErrAuth = errors.New("authentication failed")
	// ErrSyncStateLost: a delta link is no longer valid (410 syncStateNotFound); start a fresh round.
	ErrSyncStateLost = errors.New("sync state lost")
	// ErrInvalid: Graph refused the request as malformed (4xx other than the above),
	// e.g. a subscription whose validation handshake failed.
	ErrInvalid = errors.New("request refused")
	// ErrTransient: a network failure or a 5xx; retry later.
	ErrTransient = errors.New("transient failure")
)

// Error is a failed Graph or Entra call.
type Error struct {
	Kind       error         // one of the Err* kinds
	Op         string        // what was attempted, e.g. "get message"
	Status     int           // HTTP status, 0 when none was received
	Code       string        // Graph's error code, e.g. ErrorAccessDenied
	Message    string        // Graph's or Entra's message
	AADSTS     string        // Entra's error code, e.g. AADSTS7000222 (expired secret)
	RetryAfter time.Duration // for ErrThrottled
	Err        error         // underlying error, if any
}

func (e *Error) Error() string {
	s := "graph: " + e.Op + ": " + e.Kind.Error()
	if e.Status != 0 {
		s += fmt.Sprintf(" (%d", e.Status)
		if e.Code != "" {
			s += " " + e.Code
		}
		s += ")"
	}
	if e.AADSTS != "" {
		s += " " + e.AADSTS
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil && e.Message == "" {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap lets errors.Is match the kind and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// RetryAfter returns how long Graph asked to wait, when err is a throttling error.
func RetryAfter(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && errors.Is(e.Kind, ErrThrottled) {
		return e.RetryAfter, true
	}
	return 0, false
}

// KindOf classifies an HTTP status and Graph error code; see Classify.
func KindOf(status int, code string) error { return Classify(status, code, "") }

// Classify classifies an HTTP status, Graph error code and message.
//
// A 403 is access denied only when Graph says so: code ErrorAccessDenied
// (an access policy or RBAC for Applications on a mailbox request,
// concepts/auth-limit-mailbox-access.md), Entra's Authorization_RequestDenied,
// or the same policy as POST /subscriptions reports it, ExtensionError
// "…Reason: Access to OData is disabled." (reference/graph.md, Errata;
// msgraph-sdk-javascript#252). Every other 403, such as the 1,000
// subscriptions per mailbox that Graph enforces with a 403 whose body is not
// documented, is ErrForbidden.
//
// An unknown user is 404 ErrorInvalidUser "The requested user '…' is
// invalid." on mail requests (microsoftgraph/microsoft-graph-docs#7909),
// and on subscription requests a 404 ExtensionError carrying the same
// reason (microsoft-graph-docs-contrib#3201); both are ErrUserNotFound.
func Classify(status int, code, message string) error {
	switch {
	case status == 401:
		return ErrAuth
	case code == "ErrorInvalidUser":
		return ErrUserNotFound
	case status == 404 && strings.Contains(message, "The requested user '") && strings.Contains(message, "' is invalid"):
		return ErrUserNotFound
	case code == "ErrorAccessDenied" || code == "Authorization_RequestDenied":
		return ErrAccessDenied
	case status == 403 && strings.Contains(message, "Access to OData is disabled"):
		return ErrAccessDenied
	case status == 403:
		return ErrForbidden
	case status == 404 || code == "ErrorItemNotFound" || code == "ResourceNotFound":
		return ErrNotFound
	case status == 410 || code == "syncStateNotFound" || code == "SyncStateNotFound" || code == "resyncRequired":
		return ErrSyncStateLost
	case status == 429 || (status == 503 && code == "ApplicationThrottled"):
		return ErrThrottled
	case status >= 500 || status == 0 || status == 408:
		return ErrTransient
	default:
		return ErrInvalid
	}
}
