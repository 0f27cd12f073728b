package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

func TestWebhookEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		clock := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return clock })
		events := []string{store.ChangeActivityCreated, store.ChangeDocumentFiled}
		id, err := s.AddWebhookEndpoint(ctx, store.WebhookEndpoint{URL: "https://crm.example.com/hooks", SecretSealed: "v1:x:y"}, events)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddWebhookEndpoint(ctx, store.WebhookEndpoint{URL: "https://crm.example.com/hooks", SecretSealed: "v1:x:z"}, events); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("the same URL twice: %v; want ErrInvalid", err)
		}
		if _, err := s.AddWebhookEndpoint(ctx, store.WebhookEndpoint{URL: "https://other.example.com/"}, nil); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("no events: %v; want ErrInvalid", err)
		}
		id2, err := s.AddWebhookEndpoint(ctx, store.WebhookEndpoint{URL: "http://10.0.0.5/hooks", SecretSealed: "v1:x:w", AllowPrivate: true}, events[:1])
		if err != nil {
			t.Fatal(err)
		}
		ep, err := s.WebhookEndpointByURL(ctx, "https://crm.example.com/hooks")
		if err != nil || ep.ID != id || !ep.Subscribed(store.ChangeDocumentFiled) || ep.Subscribed(store.ChangeActivityUpdated) ||
			ep.AllowPrivate || !ep.CreatedAt.Equal(clock) || ep.LastSuccessAt != nil || ep.FailingSince != nil || ep.SecretSealed != "v1:x:y" {
			t.Errorf("endpoint %+v, %v", ep, err)
		}

		// Failures keep the start of the failure; a success ends it.
		attempt := clock
		clock = clock.Add(time.Minute)
		if err := s.RecordWebhookFailure(ctx, id, attempt, "HTTP 503"); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Minute)
		if err := s.RecordWebhookFailure(ctx, id, clock, "HTTP 502"); err != nil {
			t.Fatal(err)
		}
		ep, _ = s.WebhookEndpoint(ctx, id)
		if ep.FailingSince == nil || !ep.FailingSince.Equal(attempt.Add(time.Minute)) || ep.LastError != "HTTP 502" {
			t.Errorf("after two failures: %+v", ep)
		}
		clock = clock.Add(time.Minute)
		if err := s.RecordWebhookSuccess(ctx, id); err != nil {
			t.Fatal(err)
		}
		// A slow failure of an attempt that started before the success does not count.
		if err := s.RecordWebhookFailure(ctx, id, clock.Add(-time.Second), "timeout"); err != nil {
			t.Fatal(err)
		}
		ep, _ = s.WebhookEndpoint(ctx, id)
		if ep.FailingSince != nil || ep.LastError != "" || ep.LastSuccessAt == nil || !ep.LastSuccessAt.Equal(clock) {
			t.Errorf("after the success: %+v", ep)
		}

		if err := s.ResealWebhookEndpoint(ctx, id2, "v1:new:w"); err != nil {
			t.Fatal(err)
		}
		if err := s.ResealWebhookEndpoint(ctx, 999, "v1:new:w"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("resealing a missing endpoint: %v; want ErrNotFound", err)
		}
		eps, err := s.WebhookEndpoints(ctx)
		if err != nil || len(eps) != 2 || eps[0].ID != id || eps[1].ID != id2 || !eps[1].AllowPrivate || eps[1].SecretSealed != "v1:new:w" {
			t.Errorf("WebhookEndpoints = %+v, %v", eps, err)
		}
		if err := s.RemoveWebhookEndpoint(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveWebhookEndpoint(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("removing twice: %v; want ErrNotFound", err)
		}
		if _, err := s.WebhookEndpoint(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a removed endpoint: %v; want ErrNotFound", err)
		}
	})
}

func TestWebhookCursorCompareAndSet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		cur, err := s.WebhookCursor(ctx)
		if err != nil || cur != (store.Cursor{}) {
			t.Fatalf("initial cursor %+v, %v", cur, err)
		}
		a := store.Cursor{Tx: 1<<62 + 3, Seq: 7}
		if ok, err := s.AdvanceWebhookCursor(ctx, store.Cursor{}, a); !ok || err != nil {
			t.Fatalf("advance: %v, %v", ok, err)
		}
		// A second dispatcher that read the old position does not move it back.
		if ok, err := s.AdvanceWebhookCursor(ctx, store.Cursor{}, store.Cursor{Seq: 3}); ok || err != nil {
			t.Errorf("stale advance: %v, %v; want false", ok, err)
		}
		if cur, err := s.WebhookCursor(ctx); err != nil || cur != a {
			t.Errorf("cursor %+v, %v; want %+v", cur, err, a)
		}
	})
}
