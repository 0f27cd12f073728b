package graphsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Subscription limits for Outlook messages (graph.md §1.1, §1.2).
const (
	maxSubscriptionMinutes = 10080
	minSubscriptionMinutes = 45
	maxClientState         = 255
)

// subscription is a change-notification subscription.
type subscription struct {
	ID, Resource, ChangeType, NotificationURL, LifecycleURL, ClientState, TLSVersion string
	Expiration                                                                       time.Time
	userID, folderID                                                                 string // folderID "" = every folder
	// immutable: created with Prefer: IdType="ImmutableId", so notifications
	// carry immutable IDs; "Existing subscriptions that were created without
	// the header continue to use the default ID format" (outlook-immutable-id.md).
	immutable bool
}

func (sub *subscription) json(r *http.Request, appID string) map[string]any {
	return map[string]any{
		"@odata.context":            baseURL(r) + "/v1.0/$metadata#subscriptions/$entity",
		"id":                        sub.ID,
		"resource":                  sub.Resource,
		"applicationId":             appID,
		"changeType":                sub.ChangeType,
		"clientState":               nullable(sub.ClientState),
		"notificationUrl":           sub.NotificationURL,
		"notificationQueryOptions":  nil,
		"lifecycleNotificationUrl":  nullable(sub.LifecycleURL),
		"expirationDateTime":        formatSubTime(sub.Expiration),
		"creatorId":                 "9a8b7c6d-0000-4000-8000-5e4f3a2b1c0d",
		"includeResourceData":       nil,
		"latestSupportedTlsVersion": sub.TLSVersion,
		"encryptionCertificate":     nil,
		"encryptionCertificateId":   nil,
		"notificationUrlAppId":      nil,
	}
}

// wants reports whether the subscription covers changeType on a message in f.
func (sub *subscription) wants(u *user, f *folder, changeType string) bool {
	if sub.userID != u.ID || (sub.folderID != "" && sub.folderID != f.ID) {
		return false
	}
	for _, c := range strings.Split(sub.ChangeType, ",") {
		if strings.TrimSpace(c) == changeType {
			return true
		}
	}
	return false
}

var resourceRE = regexp.MustCompile(`(?i)^/?users(?:/([^/()]+)|\('([^']+)'\))/(?:messages|mailfolders\('([^']+)'\)/messages|mailfolders/([^/()]+)/messages)/?(?:\?.*)?$`)

// subscriptionRequest is the body of POST and PATCH /subscriptions.
type subscriptionRequest struct {
	ChangeType         string `json:"changeType"`
	NotificationURL    string `json:"notificationUrl"`
	LifecycleURL       string `json:"lifecycleNotificationUrl"`
	Resource           string `json:"resource"`
	ExpirationDateTime string `json:"expirationDateTime"`
	ClientState        string `json:"clientState"`
	TLSVersion         string `json:"latestSupportedTlsVersion"`
}

// httpError is an error with Graph's status and code.
type httpError struct {
	status        int
	code, message string
}

func (e *httpError) Error() string { return e.code + ": " + e.message }

func badRequest(code, format string, args ...any) *httpError {
	return &httpError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if errors.As(err, &he) {
		s.graphError(w, r, he.status, he.code, he.message)
		return
	}
	s.graphError(w, r, http.StatusInternalServerError, "InternalServerError", err.Error())
}

// checkExpiry validates a requested expirationDateTime against now.
func checkExpiry(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, badRequest("InvalidRequest", "expirationDateTime is a required property for subscription creation.")
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, badRequest("InvalidRequest", "Invalid expirationDateTime %q.", v)
	}
	switch {
	case !t.After(now):
		return time.Time{}, badRequest("ExtensionError", "Subscription expiration date time must be in the future.")
	case t.Sub(now) > maxSubscriptionMinutes*time.Minute:
		return time.Time{}, badRequest("ExtensionError", "Subscription expiration can only be %d minutes in the future.", maxSubscriptionMinutes)
	case t.Sub(now) < minSubscriptionMinutes*time.Minute:
		t = now.Add(minSubscriptionMinutes * time.Minute)
	}
	return t.UTC(), nil
}

// checkURL enforces https (or loopback http with AllowHTTPNotify).
func (s *Server) checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return badRequest("InvalidRequest", "Invalid %s %q.", field, raw)
	}
	if u.Scheme == "https" {
		return nil
	}
	h := u.Hostname()
	loopback := h == "localhost" || (net.ParseIP(h) != nil && net.ParseIP(h).IsLoopback())
	if u.Scheme == "http" && s.opts.AllowHTTPNotify && loopback {
		return nil
	}
	return badRequest("ValidationError", "The %s must be https: %q.", field, raw)
}

// validateEndpoint runs Graph's validation handshake against raw.
func (s *Server) validateEndpoint(ctx context.Context, raw string) error {
	token := "Validation: Testing client application reachability for subscription Request-Id: " + newGUID()
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.ValidationTimeout)
	defer cancel()
	fail := func(format string, args ...any) error {
		return badRequest("ValidationError", "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. %s", fmt.Sprintf(format, args...))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, raw+sep+"validationToken="+url.QueryEscape(token), nil)
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := s.opts.NotifyClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fail("The validation request to %s timed out.", raw)
		}
		return fail("%v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fail("%v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fail("Response status code does not indicate success: %d.", resp.StatusCode)
	}
	if strings.TrimSpace(string(body)) != token {
		return fail("The response body did not match the validation token.")
	}
	return nil
}

func (s *Server) handleCreateSubscription(w http.ResponseWriter, r *http.Request) {
	sub, err := s.createSubscription(r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sub.json(r, s.opts.ClientID))
}

func (s *Server) createSubscription(r *http.Request) (*subscription, error) {
	var req subscriptionRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, badRequest("BadRequest", "%v", err)
	}
	now := s.now()
	exp, err := checkExpiry(req.ExpirationDateTime, now)
	if err != nil {
		return nil, err
	}
	if req.ChangeType == "" {
		return nil, badRequest("InvalidRequest", "changeType is a required property for subscription creation.")
	}
	for _, c := range strings.Split(req.ChangeType, ",") {
		if c = strings.TrimSpace(c); c != "created" && c != "updated" && c != "deleted" {
			return nil, badRequest("InvalidRequest", "Invalid changeType %q.", c)
		}
	}
	if len(req.ClientState) > maxClientState {
		return nil, badRequest("InvalidRequest", "clientState cannot be longer than %d characters.", maxClientState)
	}
	if err := s.checkURL("notificationUrl", req.NotificationURL); err != nil {
		return nil, err
	}
	if req.LifecycleURL != "" {
		if err := s.checkURL("lifecycleNotificationUrl", req.LifecycleURL); err != nil {
			return nil, err
		}
	}
	m := resourceRE.FindStringSubmatch(req.Resource)
	if m == nil {
		return nil, badRequest("ExtensionError", "Operation: Create; Exception: [Status Code: BadRequest; Reason: The value '%s' of parameter 'Resource' is invalid.]", req.Resource)
	}
	u := s.knownUser(m[1] + m[2])
	if u == nil {
		return nil, errSubscriptionUser(m[1] + m[2])
	}
	if !s.faults.Load().allowed(u) {
		return nil, &httpError{http.StatusForbidden, "ExtensionError", "Operation: Create; Exception: [Status Code: Forbidden; Reason: Access to OData is disabled.]"}
	}
	sub := &subscription{ID: newGUID(), Resource: req.Resource, ChangeType: req.ChangeType,
		NotificationURL: req.NotificationURL, LifecycleURL: req.LifecycleURL, ClientState: req.ClientState,
		TLSVersion: req.TLSVersion, Expiration: exp, userID: u.ID, immutable: wantsImmutable(r)}
	if sub.TLSVersion == "" {
		sub.TLSVersion = "v1_2"
	}
	if fref := m[3] + m[4]; fref != "" {
		s.mu.RLock()
		f := u.folder(fref)
		s.mu.RUnlock()
		if f == nil {
			return nil, badRequest("ExtensionError", "Operation: Create; Exception: [Status Code: BadRequest; Reason: The value '%s' of parameter 'Resource' is invalid.]", req.Resource)
		}
		sub.folderID = f.ID
	}
	if s.subscriptionsOf(u.ID) >= maxSubscriptionsPerMailbox {
		return nil, errSubscriptionQuota
	}
	if err := s.validateEndpoint(r.Context(), sub.NotificationURL); err != nil {
		return nil, err
	}
	if sub.LifecycleURL != "" {
		if err := s.validateEndpoint(r.Context(), sub.LifecycleURL); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.tenant.subs[sub.ID] = sub
	s.mu.Unlock()
	s.log.Info("subscription created", "id", sub.ID, "resource", sub.Resource, "expires", sub.Expiration)
	return sub, nil
}

// maxSubscriptionsPerMailbox is Graph's quota: "A maximum of 1,000 active
// subscriptions per mailbox for all applications" (reference/graph.md,
// Errata; exceeding it "will result in a 403 Forbidden").
const maxSubscriptionsPerMailbox = 1000

// errSubscriptionQuota is the answer past the quota. Microsoft documents
// the 403 but not its body; this is the body the service gives for the same
// limit on another resource (ExtensionError "Maximum number of subscriptions
// has been reached", microsoftgraph/microsoft-graph-docs#21403), so the
// connector must not rely on its wording.
var errSubscriptionQuota = &httpError{http.StatusForbidden, "ExtensionError",
	"Operation: Create; Exception: [Status Code: Forbidden; Reason: Maximum number of subscriptions has been reached]"}

// subscriptionsOf counts the mailbox's active subscriptions, of every app.
func (s *Server) subscriptionsOf(userID string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, sub := range s.tenant.subs {
		if sub.userID == userID {
			n++
		}
	}
	return n
}

// sweepSubscriptions removes the subscriptions that lapsed.
func (s *Server) sweepSubscriptions() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, sub := range s.tenant.subs {
		if !sub.Expiration.After(now) {
			delete(s.tenant.subs, id)
			s.log.Info("subscription expired", "id", id)
		}
	}
}

// getSub returns a copy of an active subscription.
func (s *Server) getSub(id string) (subscription, bool) {
	s.sweepSubscriptions()
	s.mu.RLock()
	defer s.mu.RUnlock()
	sub := s.tenant.subs[id]
	if sub == nil {
		return subscription{}, false
	}
	return *sub, true
}

func (s *Server) subNotFound(w http.ResponseWriter, r *http.Request) {
	s.graphError(w, r, http.StatusNotFound, "ResourceNotFound", "The object was not found.")
}

func (s *Server) handleListSubscriptions(w http.ResponseWriter, r *http.Request) {
	s.sweepSubscriptions()
	s.mu.RLock()
	subs := make([]*subscription, 0, len(s.tenant.subs))
	for _, sub := range s.tenant.subs {
		subs = append(subs, sub)
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].ID < subs[j].ID })
	list := make([]any, 0, len(subs))
	for _, sub := range subs {
		j := sub.json(r, s.opts.ClientID)
		delete(j, "@odata.context")
		list = append(list, j)
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": baseURL(r) + "/v1.0/$metadata#subscriptions", "value": list})
}

func (s *Server) handleGetSubscription(w http.ResponseWriter, r *http.Request) {
	sub, ok := s.getSub(r.PathValue("sid"))
	if !ok {
		s.subNotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, sub.json(r, s.opts.ClientID))
}

// handlePatchSubscription renews (expirationDateTime) and may change the
// notificationUrl (validated again). lifecycleNotificationUrl cannot be
// changed by PATCH, as in Graph.
func (s *Server) handlePatchSubscription(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("sid")
	if _, ok := s.getSub(id); !ok {
		s.subNotFound(w, r)
		return
	}
	var req subscriptionRequest
	if err := decodeJSON(r, &req); err != nil {
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	if req.LifecycleURL != "" {
		s.graphError(w, r, http.StatusBadRequest, "InvalidRequest", "lifecycleNotificationUrl cannot be updated; delete and recreate the subscription.")
		return
	}
	var exp time.Time
	if req.ExpirationDateTime != "" {
		var err error
		if exp, err = checkExpiry(req.ExpirationDateTime, s.now()); err != nil {
			s.writeErr(w, r, err)
			return
		}
	}
	if req.NotificationURL != "" {
		if err := s.checkURL("notificationUrl", req.NotificationURL); err != nil {
			s.writeErr(w, r, err)
			return
		}
		if err := s.validateEndpoint(r.Context(), req.NotificationURL); err != nil {
			s.writeErr(w, r, err)
			return
		}
	}
	s.mu.Lock()
	sub := s.tenant.subs[id]
	if sub == nil {
		s.mu.Unlock()
		s.subNotFound(w, r)
		return
	}
	if !exp.IsZero() {
		sub.Expiration = exp
	}
	if req.NotificationURL != "" {
		sub.NotificationURL = req.NotificationURL
	}
	out := sub.json(r, s.opts.ClientID)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleDeleteSubscription(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("sid")
	if _, ok := s.getSub(id); !ok {
		s.subNotFound(w, r)
		return
	}
	s.mu.Lock()
	delete(s.tenant.subs, id)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// handleReauthorize answers 204; reauthorizing does not renew.
func (s *Server) handleReauthorize(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.getSub(r.PathValue("sid")); !ok {
		s.subNotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
