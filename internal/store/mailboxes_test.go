package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// A mailbox Graph does not know is not_found with Graph's words, re-checked
// with the access back-off, and resumed by a re-check or an operator; an
// access-denied mark and a not-found mark replace each other, each with its
// own back-off.
func TestMailboxNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		const words = "graph: create subscription: user not found (404 ExtensionError): Operation: Create; Exception: [Status Code: NotFound; Reason: The requested user 'peter.kraus@dedenet.de' is invalid.]"
		mailbox := func() store.Mailbox {
			t.Helper()
			m, err := s.MailboxByEmployee(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		first := now
		for i, want := range []time.Duration{15 * time.Minute, 30 * time.Minute} {
			if err := s.MarkMailboxNotFound(ctx, 2, words); err != nil {
				t.Fatal(err)
			}
			m := mailbox()
			if m.State() != store.MailboxNotFound || m.Syncable() || m.LastError != words || m.AccessCheckAt == nil ||
				m.AccessCheckAt.Sub(now) != want || m.NotFoundAt == nil || !m.NotFoundAt.Equal(first) || m.AccessChecks != i+1 {
				t.Fatalf("mark %d: %+v", i+1, m)
			}
			if m.AccessCheckDue(now) || !m.AccessCheckDue(*m.AccessCheckAt) {
				t.Errorf("mark %d: due at once or not at its time", i+1)
			}
			now = now.Add(time.Hour)
		}
		// Found, then denied: the denial starts its own back-off.
		if err := s.MarkMailboxAccessDenied(ctx, 2, "ErrorAccessDenied"); err != nil {
			t.Fatal(err)
		}
		if m := mailbox(); m.State() != store.MailboxAccessDenied || m.NotFoundAt != nil || m.AccessCheckAt.Sub(now) != 15*time.Minute {
			t.Errorf("denied after not found: %+v", m)
		}
		if err := s.MarkMailboxNotFound(ctx, 2, words); err != nil {
			t.Fatal(err)
		}
		if m := mailbox(); m.State() != store.MailboxNotFound || m.AccessDeniedAt != nil || m.AccessCheckAt.Sub(now) != 15*time.Minute {
			t.Errorf("not found after denied: %+v", m)
		}
		if err := s.ClearMailboxNotFound(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if m := mailbox(); !m.Syncable() || m.LastError != "" || m.AccessCheckAt != nil || m.AccessChecks != 0 {
			t.Errorf("after the user appeared: %+v", m)
		}
		// An operator's enable clears the mark too.
		if err := s.MarkMailboxNotFound(ctx, 2, words); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMailboxDisabled(ctx, 2, false); err != nil {
			t.Fatal(err)
		}
		if m := mailbox(); !m.Syncable() || m.NotFoundAt != nil {
			t.Errorf("after enable: %+v", m)
		}
	})
}

// The user ID resolved for a mail address is used while the employee's
// exchange_mailbox stays that address, never for another one.
func TestMailboxGraphUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		crm := sampleCRM()
		if _, err := s.ImportCRM(ctx, crm); err != nil {
			t.Fatal(err)
		}
		m, err := s.MailboxByEmployee(ctx, 2)
		if err != nil || m.GraphRef() != "peter.kraus@dedenet.de" {
			t.Fatalf("before: %q, %v", m.GraphRef(), err)
		}
		const id = "7d2e4f60-3b1a-4c9d-8e7f-5a6b4c3d2e10"
		if err := s.SetMailboxGraphUser(ctx, 2, m.Address, id); err != nil {
			t.Fatal(err)
		}
		if m, _ := s.MailboxByEmployee(ctx, 2); m.GraphRef() != id || m.Address != "peter.kraus@dedenet.de" {
			t.Errorf("resolved: ref %q, address %q", m.GraphRef(), m.Address)
		}
		other := "p.kraus@dedenet.onmicrosoft.com"
		for i := range crm.Employees {
			if crm.Employees[i].ID == 2 {
				crm.Employees[i].ExchangeMailbox = &other
			}
		}
		if _, err := s.ImportCRM(ctx, crm); err != nil {
			t.Fatal(err)
		}
		if m, _ := s.MailboxByEmployee(ctx, 2); m.GraphRef() != other {
			t.Errorf("after the CRM changed the mailbox: ref %q, want the new address", m.GraphRef())
		}
	})
}
