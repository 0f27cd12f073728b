package crmhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/store"
)

// Retry schedule of a delivery: 10 s, doubling, at most an hour apart
// (plus up to 10 % jitter); MaxRetry retries span more than 24 hours
// (about 27 h), so a CRM that is down for a day loses nothing.
const (
	MaxRetry     = 35
	firstBackoff = 10 * time.Second
	maxBackoff   = time.Hour
)

// Outcomes of a delivery attempt (the metric's outcome label).
const (
	OutcomeDelivered = "delivered" // 2xx
	OutcomeFailed    = "failed"    // another answer or none; retried
	OutcomeRefused   = "refused"   // the SSRF guard refused the target; retried
	OutcomeGivenUp   = "given_up"  // failed on the last retry; the task is archived
	OutcomeDropped   = "dropped"   // the endpoint was removed
)

// successWriteEvery: a healthy endpoint's last_success_at is written at
// most this often (not on every delivery).
const successWriteEvery = time.Minute

// Backoff is the delay before retry n+1 of a delivery (n counts the
// retries so far, from 0).
func Backoff(n int) time.Duration {
	d := maxBackoff
	if n < 20 && firstBackoff<<n < maxBackoff {
		d = firstBackoff << n
	}
	return d + rand.N(d/10+1)
}

// RetryDelay is the retry delay of a delivery task, for the worker's
// RetryDelayFunc: ok is false for every other task type.
func RetryDelay(n int, _ error, t *asynq.Task) (d time.Duration, ok bool) {
	if t == nil || t.Type() != TypeDeliver {
		return 0, false
	}
	return Backoff(n), true
}

// HandleDeliver POSTs one event to its endpoint. 2xx is success; anything
// else returns an error, so that asynq retries it on the RetryDelay
// schedule. A removed endpoint drops the event.
func (s *Service) HandleDeliver(ctx context.Context, t *asynq.Task) error {
	var e Event
	if err := json.Unmarshal(t.Payload(), &e); err != nil {
		return fmt.Errorf("crmhook: %s payload: %w: %w", TypeDeliver, err, asynq.SkipRetry)
	}
	log := s.cfg.Log.With(slog.Int64("endpoint", e.EndpointID), slog.String("webhook_id", e.ID), slog.String("type", e.Type))
	c, err := s.endpoint(ctx, e.EndpointID)
	if errors.Is(err, store.ErrNotFound) {
		s.count(OutcomeDropped)
		log.Info("webhooks: endpoint removed; event dropped")
		return nil
	}
	if err != nil {
		if c.ep.ID != 0 { // the secret cannot be opened: the endpoint fails until the key is configured
			s.recordFailure(ctx, c, time.Now(), err, log)
			s.count(OutcomeFailed)
		}
		return err
	}
	start := time.Now()
	res, err := s.sender.send(ctx, c.ep.URL, c.ep.AllowPrivate, c.key, e, s.cfg.Now())
	if err == nil {
		s.recordSuccess(ctx, c, log)
		s.count(OutcomeDelivered)
		return nil
	}
	if ctx.Err() != nil {
		// The worker is shutting down (or the task ran out of time): not the
		// endpoint's fault; asynq runs the task again.
		return err
	}
	s.recordFailure(ctx, c, start, err, log)
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	outcome := OutcomeFailed
	switch {
	case retried >= maxRetry:
		outcome = OutcomeGivenUp
		log.Error("webhooks: delivery failed for good; the event stays in the feed", slog.Int("status", res.Status), slog.Any("error", err))
	case errors.Is(err, ErrForbiddenTarget):
		outcome = OutcomeRefused
	}
	s.count(outcome)
	return err
}

// Test sends one signed test event to an endpoint now and records the result.
func (s *Service) Test(ctx context.Context, ep store.WebhookEndpoint) (Result, error) {
	key, _, err := OpenSecret(s.cfg.Keys, ep)
	if err != nil {
		return Result{}, err
	}
	start, now := time.Now(), s.cfg.Now()
	e := Event{EndpointID: ep.ID, ID: "test_" + hashID(ep.URL, now.Format(time.RFC3339Nano)), Type: EventTest, Timestamp: now.UTC()}
	res, err := s.sender.send(ctx, ep.URL, ep.AllowPrivate, key, e, now)
	// The caller reports the result; the state is recorded quietly.
	c, quiet := cachedEndpoint{ep: ep, key: key}, slog.New(slog.DiscardHandler)
	if err != nil {
		s.recordFailure(ctx, c, start, err, quiet)
		return res, err
	}
	s.recordSuccess(ctx, c, quiet)
	return res, nil
}

func (s *Service) recordSuccess(ctx context.Context, c cachedEndpoint, log *slog.Logger) {
	ep := c.ep
	if ep.FailingSince == nil && ep.LastSuccessAt != nil && time.Since(*ep.LastSuccessAt) < successWriteEvery {
		return
	}
	if err := s.cfg.Store.RecordWebhookSuccess(ctx, ep.ID); err != nil {
		log.Warn("webhooks: recording a delivery failed", slog.Any("error", err))
		return
	}
	if ep.FailingSince != nil {
		log.Info("webhooks: endpoint recovered", slog.String("url", ep.URL), slog.Time("failing_since", *ep.FailingSince))
	}
	now := time.Now()
	s.update(ep.ID, func(e *store.WebhookEndpoint) { e.LastSuccessAt, e.FailingSince, e.LastError = &now, nil, "" })
}

func (s *Service) recordFailure(ctx context.Context, c cachedEndpoint, start time.Time, cause error, log *slog.Logger) {
	msg := cause.Error()
	if err := s.cfg.Store.RecordWebhookFailure(context.WithoutCancel(ctx), c.ep.ID, start, msg); err != nil {
		log.Warn("webhooks: recording a delivery failure failed", slog.Any("error", err))
	}
	if c.ep.FailingSince == nil {
		log.Warn("webhooks: endpoint failing; retried with back-off", slog.String("url", c.ep.URL), slog.Any("error", cause))
	}
	now := time.Now()
	s.update(c.ep.ID, func(e *store.WebhookEndpoint) {
		if e.FailingSince == nil {
			e.FailingSince = &now
		}
		e.LastError = msg
	})
}

func (s *Service) count(outcome string) {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.CRMWebhookDeliveries.WithLabelValues(outcome).Inc()
	}
}
