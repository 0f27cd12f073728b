package grapherr

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		want   error
	}{
		{401, "InvalidAuthenticationToken", ErrAuth},
		{403, "ErrorAccessDenied", ErrAccessDenied},
		{404, "ErrorItemNotFound", ErrNotFound},
		{410, "syncStateNotFound", ErrSyncStateLost},
		{400, "syncStateNotFound", ErrSyncStateLost},
		{429, "ApplicationThrottled", ErrThrottled},
		{503, "ApplicationThrottled", ErrThrottled},
		{503, "ServiceUnavailable", ErrTransient},
		{500, "", ErrTransient},
		{0, "", ErrTransient},
		{400, "ValidationError", ErrInvalid},
	} {
		if got := KindOf(tc.status, tc.code); got != tc.want {
			t.Errorf("KindOf(%d, %q) = %v, want %v", tc.status, tc.code, got, tc.want)
		}
	}
}

func TestErrorWrapsKindAndCause(t *testing.T) {
	err := error(&Error{Kind: ErrThrottled, Op: "get message", Status: 429, Code: "ApplicationThrottled", RetryAfter: 7 * time.Second, Err: io.ErrUnexpectedEOF})
	if !errors.Is(err, ErrThrottled) || !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrNotFound) {
		t.Errorf("errors.Is mismatch for %v", err)
	}
	if d, ok := RetryAfter(err); !ok || d != 7*time.Second {
		t.Errorf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := RetryAfter(&Error{Kind: ErrNotFound, Op: "x"}); ok {
		t.Error("RetryAfter of a not-found error")
	}
	msg := (&Error{Kind: ErrAuth, Op: "token", Status: 401, AADSTS: "AADSTS7000222", Message: "secret expired"}).Error()
	if !strings.Contains(msg, "AADSTS7000222") || !strings.Contains(msg, "authentication failed") {
		t.Errorf("Error() = %q", msg)
	}
}
