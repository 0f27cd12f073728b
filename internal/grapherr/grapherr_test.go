package grapherr

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
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
		{403, "ExtensionError", ErrForbidden},
		{403, "", ErrForbidden},
		{404, "ErrorItemNotFound", ErrNotFound},
		{404, "ErrorInvalidUser", ErrUserNotFound},
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

// Microsoft's own error bodies (testdata, verbatim) and the 403s quoted in
// GitHub issues: only an access policy is access denied.
func TestClassifyGraphBodies(t *testing.T) {
	fixture := func(name string) (code, message string) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(data, &body); err != nil {
			t.Fatal(err)
		}
		return body.Error.Code, body.Error.Message
	}
	code, msg := fixture("error-403-erroraccessdenied-application-access-policy.json")
	if got := Classify(403, code, msg); got != ErrAccessDenied {
		t.Errorf("access policy (%s %q): %v", code, msg, got)
	}
	code, msg = fixture("error-429-toomanyrequests.json")
	if got := Classify(429, code, msg); got != ErrThrottled {
		t.Errorf("429 (%s %q): %v", code, msg, got)
	}
	for _, tc := range []struct {
		name, code, message string
		want                error
	}{
		// The same policy on POST /subscriptions (msgraph-sdk-javascript#252).
		{"policy on subscription", "ExtensionError", "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access to OData is disabled.]", ErrAccessDenied},
		// The subscription quota (microsoft-graph-docs#21403): not access denied.
		{"subscription quota", "ExtensionError", "Operation: Create; Exception: [Status Code: Forbidden; Reason: Maximum number of subscriptions has been reached]", ErrForbidden},
		{"entra directory", "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", ErrAccessDenied},
		{"other 403", "ErrorQuotaExceeded", "Mailbox has exceeded maximum mailbox size.", ErrForbidden},
	} {
		if got := Classify(403, tc.code, tc.message); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// An unknown user, as quoted in Microsoft's issue trackers: on a mail
// request (microsoft-graph-docs#7909) and on a subscription operation
// (microsoft-graph-docs-contrib#3201). An unknown message stays ErrNotFound.
func TestClassifyUnknownUser(t *testing.T) {
	for _, tc := range []struct {
		name, code, message string
		want                error
	}{
		{"mail request", "ErrorInvalidUser", "The requested user '3864667a-d3d5-442a-ab36-5031f9353160@6ab3a8f0-1cc4-4557-a006-b10322d52b05' is invalid.", ErrUserNotFound},
		{"subscription", "ExtensionError", "Operation: Delete; Exception: [Status Code: NotFound; Reason: The requested user '<user id>@<some UUID>' is invalid.]", ErrUserNotFound},
		{"message", "ErrorItemNotFound", "The specified object was not found in the store.", ErrNotFound},
		{"subscription gone", "ResourceNotFound", "The object was not found.", ErrNotFound},
	} {
		if got := Classify(404, tc.code, tc.message); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
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
