// Package crmhook delivers the change log (store.Changes) to the CRM as
// thin webhook events signed per the Standard Webhooks specification
// (DESIGN §11).
//
// Two asynq task types do the work. The dispatcher (TypeDispatch) reads the
// changes after its cursor, which is kept in the database, enqueues one
// delivery task per subscribed endpoint and change with a task ID derived
// from both, and only then moves the cursor on: a crash at any point
// enqueues again what may not have been enqueued, and the task IDs make
// the repeats no-ops. A delivery task (TypeDeliver) POSTs one event; 2xx is
// success, anything else is retried with exponential back-off for more than
// 24 hours (RetryDelay, MaxRetry). The feed stays the source of truth: a CRM
// that misses a webhook misses nothing in the feed.
//
// Every connection a delivery opens is checked against the address actually
// dialled (private, loopback, link-local, CGNAT, ULA, multicast and
// unspecified addresses are refused, and so is plain http://) unless the
// endpoint was added with --allow-private; redirects are not followed.
package crmhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dedesales/exchange-connector/internal/store"
)

// Task types.
const (
	// TypeDispatch reads the change log and enqueues the deliveries.
	TypeDispatch = "crmhook:dispatch"
	// TypeDeliver POSTs one event to one endpoint.
	TypeDeliver = "crmhook:deliver"
)

// EventTest is the type of the event `connector webhook test` sends.
const EventTest = "webhook.test"

// Events are the event types an endpoint can subscribe to: the change
// log's kinds.
var Events = []string{store.ChangeActivityCreated, store.ChangeActivityUpdated, store.ChangeDocumentFiled}

// ParseEvents parses a comma-separated list of event types; empty means
// every type.
func ParseEvents(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return slices.Clone(Events), nil
	}
	var out []string
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if !slices.Contains(Events, e) {
			return nil, fmt.Errorf("unknown event type %q (known: %s)", e, strings.Join(Events, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// secretBytes is the size of a signing secret's key (Standard Webhooks
// asks for 24 to 64 bytes).
const secretBytes = 32

// NewSecret returns a fresh signing secret: "whsec_" + base64 of 32 random bytes.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("crmhook: generating a secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// secretKey returns the HMAC key of a secret: its base64 part, decoded.
func secretKey(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("crmhook: a signing secret starts with " + SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) < 24 {
		return nil, errors.New("crmhook: the signing secret is not base64 of at least 24 bytes")
	}
	return key, nil
}

// Sign returns the webhook-signature header of a message:
// "v1," + base64 of HMAC-SHA256 over "id.timestamp.body" keyed with the
// secret's key.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Event is what a delivery task carries: one change, for one endpoint.
// The body is built from it on every attempt, identically.
type Event struct {
	EndpointID int64     `json:"endpoint_id"`
	ID         string    `json:"id"` // webhook-id: the same on every attempt
	Type       string    `json:"type"`
	Timestamp  time.Time `json:"timestamp"` // when the change happened
	ActivityID int64     `json:"activity_id,omitempty"`
	CustomerID int64     `json:"customer_id,omitempty"`
	DocumentID *int64    `json:"document_id,omitempty"`
	Cursor     string    `json:"cursor,omitempty"`
}

// eventOf is the event of a change for an endpoint. Its ID depends on the
// change only, so that every endpoint and every attempt sees the same one.
func eventOf(endpointID int64, c store.Change) Event {
	cur := c.Cursor.String()
	return Event{EndpointID: endpointID, ID: "evt_" + hashID(c.Kind, cur), Type: c.Kind, Timestamp: c.CreatedAt.UTC(),
		ActivityID: c.ActivityID, CustomerID: c.CustomerID, DocumentID: c.DocumentID, Cursor: cur}
}

// hashID is a short stable hex ID of its parts.
func hashID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%x", h.Sum(nil)[:16])
}

// body is the JSON the CRM receives (DESIGN §11):
// {"type":…,"timestamp":…,"data":{"id":…,"customer_id":…,"cursor":…}};
// document.filed adds data.document_id.
func (e Event) body() ([]byte, error) {
	type data struct {
		ID         int64  `json:"id,omitempty"`
		CustomerID int64  `json:"customer_id,omitempty"`
		DocumentID *int64 `json:"document_id,omitempty"`
		Cursor     string `json:"cursor,omitempty"`
		EndpointID int64  `json:"endpoint_id,omitempty"` // test events only
	}
	d := data{ID: e.ActivityID, CustomerID: e.CustomerID, DocumentID: e.DocumentID, Cursor: e.Cursor}
	if e.Type == EventTest {
		d = data{EndpointID: e.EndpointID}
	}
	b, err := json.Marshal(struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      data   `json:"data"`
	}{e.Type, e.Timestamp.UTC().Format(time.RFC3339Nano), d})
	if err != nil {
		return nil, fmt.Errorf("crmhook: event %s: %w", e.ID, err)
	}
	return b, nil
}
