package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func sampleCRM() *crmfile.File {
	day := func(d int) time.Time { return time.Date(2026, 10, d, 9, 0, 0, 0, time.UTC) }
	return &crmfile.File{
		Employees: []model.Employee{
			{ID: 1, Name: "Anna Berger", Email: "anna.berger@dedenet.de", ExchangeMailbox: ptr("Anna.Berger@dedenet.de"), Active: true},
			{ID: 2, Name: "Peter Kraus", Email: "peter.kraus@dedenet.de", ExchangeMailbox: ptr("peter.kraus@dedenet.de"), Active: true},
			{ID: 3, Name: "Claudia Wagner", Email: "claudia.wagner@dedenet.de", Active: true},
		},
		Customers: []model.Customer{
			{ID: 10, Number: "10001", Name: "Schulz Technik GmbH", Email: "info@schulz-technik.com", Domains: []string{"schulz-technik.de"}},
			{ID: 11, Number: "10002", Name: "Müller Landtechnik", Email: "info@müller-landtechnik.de"},
		},
		Contacts: []model.Contact{
			{ID: 100, CustomerID: 10, Name: "Sabine Schulz", Email: "Sabine.Schulz@schulz-technik.com"},
		},
		Leads: []model.Lead{
			{ID: 1000, CustomerID: 10, Title: "Wartung", Status: model.LeadInProgress, CreatedAt: day(1)},
		},
		Opportunities: []model.Opportunity{
			{ID: 2000, CustomerID: 11, Title: "Traktor", Status: model.OpportunityInProgress, CreatedAt: day(2)},
		},
		Settings: map[string]json.RawMessage{
			"ignored_domains":      json.RawMessage(`["newsletter-versand.de"]`),
			"opportunities_module": json.RawMessage(`true`),
		},
	}
}

func TestMigrateIsIdempotentAndSeedsDefaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		n, err := s.Migrate(ctx)
		if err != nil || n != 0 {
			t.Fatalf("second Migrate: applied %d, err %v; want 0, nil", n, err)
		}
		cur, latest, err := s.SchemaVersion(ctx)
		if err != nil || cur != latest || cur < 2 {
			t.Fatalf("SchemaVersion = %d, %d, %v", cur, latest, err)
		}
		st, err := s.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"gmx.de", "web.de", "t-online.de", "gmail.com", "googlemail.com", "outlook.com", "hotmail.com",
			"hotmail.de", "yahoo.com", "yahoo.de", "icloud.com", "freenet.de", "posteo.de", "mailbox.org"} {
			if !contains(st.FullMatchDomains, d) {
				t.Errorf("default full_match_domains lacks %s", d)
			}
		}
		if st.BackfillDays != 30 || !st.SkipInlineAttachments || st.OpportunitiesModule {
			t.Errorf("defaults: %+v", st)
		}
	})
}

func TestImportIsIdempotentAndUpdatesByID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		stats, err := s.ImportCRM(ctx, sampleCRM())
		if err != nil {
			t.Fatal(err)
		}
		if got := *stats["customers"]; got != (store.TableStats{Inserted: 2}) {
			t.Errorf("first import customers: %+v", got)
		}
		stats, err = s.ImportCRM(ctx, sampleCRM())
		if err != nil {
			t.Fatal(err)
		}
		for table, st := range stats {
			if st.Inserted != 0 || st.Updated != 0 {
				t.Errorf("second import changed %s: %+v", table, *st)
			}
		}

		edited := sampleCRM()
		edited.Customers[0].Name = "Schulz Technik AG"
		edited.Customers[1].Domains = []string{"xn--mller-landtechnik-22b.at"}
		edited.Contacts[0].Email = "s.schulz@schulz-technik.com"
		edited.Leads[0].Status = model.LeadWon
		stats, err = s.ImportCRM(ctx, edited)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]store.TableStats{
			"customers": {Updated: 2}, "contacts": {Updated: 1}, "leads": {Updated: 1},
			"employees": {Unchanged: 3}, "opportunities": {Unchanged: 1}, "settings": {Unchanged: 2},
		}
		got := map[string]store.TableStats{}
		for k, v := range stats {
			got[k] = *v
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("import of edited file: mismatch (-want +got)\n%s", diff)
		}
		st, err := s.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !st.OpportunitiesModule || !contains(st.IgnoredDomains, "newsletter-versand.de") {
			t.Errorf("imported settings not applied: %+v", st)
		}
	})
}

func TestImportInvalidImportsNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		bad := sampleCRM()
		bad.Contacts = append(bad.Contacts, model.Contact{ID: 101, CustomerID: 99, Email: "x@y.de"})
		_, err := s.ImportCRM(ctx, bad)
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "contacts[1] (id 101): customer_id 99: no such customer") {
			t.Fatalf("err = %v", err)
		}
		if mbs, _ := s.Mailboxes(ctx); len(mbs) != 0 {
			t.Errorf("invalid import left %d mailboxes", len(mbs))
		}

		bad = sampleCRM()
		bad.Settings["backfill_days"] = json.RawMessage(`"lots"`)
		if _, err := s.ImportCRM(ctx, bad); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "backfill_days") {
			t.Fatalf("bad setting: err = %v", err)
		}
		if mbs, _ := s.Mailboxes(ctx); len(mbs) != 0 {
			t.Errorf("invalid import left %d mailboxes", len(mbs))
		}
	})
}

func TestImportReferencesCustomersInDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		partial := &crmfile.File{Contacts: []model.Contact{{ID: 101, CustomerID: 11, Name: "Hans Müller", Email: "hans@müller-landtechnik.de"}}}
		stats, err := s.ImportCRM(ctx, partial)
		if err != nil {
			t.Fatal(err)
		}
		if stats["contacts"].Inserted != 1 {
			t.Errorf("contacts: %+v", *stats["contacts"])
		}
	})
}

func TestSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.SetSetting(ctx, "ignored_domains", "Newsletter.example, xn--bcher-kva.de , bücher.de"); err != nil {
			t.Fatal(err)
		}
		v, err := s.Setting(ctx, "ignored_domains")
		if err != nil {
			t.Fatal(err)
		}
		if v != `["newsletter.example","xn--bcher-kva.de"]` {
			t.Errorf("ignored_domains = %s", v)
		}
		for key, value := range map[string]string{
			"backfill_days": "-1", "opportunities_module": "maybe", "no_such_key": "1", "ignored_domains": "a@b.de", "alert_recipients": "nobody",
		} {
			if err := s.SetSetting(ctx, key, value); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("SetSetting(%s, %s): err = %v, want ErrInvalid", key, value, err)
			}
		}
		if err := s.SetSetting(ctx, "backfill_days", "7"); err != nil {
			t.Fatal(err)
		}
		st, err := s.Settings(ctx)
		if err != nil || st.BackfillDays != 7 {
			t.Errorf("Settings = %+v, %v", st, err)
		}
	})
}

func TestMailboxes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		mbs, err := s.Mailboxes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range mbs {
			got = append(got, m.Address+" "+m.State())
		}
		if diff := cmp.Diff([]string{"anna.berger@dedenet.de enabled", "peter.kraus@dedenet.de enabled"}, got); diff != "" {
			t.Errorf("mailboxes: mismatch (-want +got)\n%s", diff)
		}
		m, err := s.FindMailbox(ctx, "ANNA.BERGER@dedenet.de")
		if err != nil || m.EmployeeID != 1 {
			t.Fatalf("FindMailbox = %+v, %v", m, err)
		}
		if _, err := s.FindMailbox(ctx, "claudia.wagner@dedenet.de"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindMailbox without mailbox: err = %v", err)
		}
		if err := s.SetMailboxDisabled(ctx, 1, true); err != nil {
			t.Fatal(err)
		}
		if m, _ := s.MailboxByEmployee(ctx, 1); m.State() != store.MailboxDisabled {
			t.Errorf("after disable: %s", m.State())
		}
		if err := s.MarkMailboxAccessDenied(ctx, 2, "ErrorAccessDenied"); err != nil {
			t.Fatal(err)
		}
		if m, _ := s.MailboxByEmployee(ctx, 2); m.State() != store.MailboxAccessDenied || m.LastError != "ErrorAccessDenied" {
			t.Errorf("after access denied: %s %q", m.State(), m.LastError)
		}
		for _, id := range []int64{1, 2} {
			if err := s.SetMailboxDisabled(ctx, id, false); err != nil {
				t.Fatal(err)
			}
			if m, _ := s.MailboxByEmployee(ctx, id); !m.Syncable() {
				t.Errorf("employee %d after enable: %s", id, m.State())
			}
		}
	})
}

// An access-denied mailbox is re-checked with back-off (15 min growing to
// 2 h) and resumes when a re-check finds access.
func TestMailboxAccessRecheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		var waits []time.Duration
		for range 6 {
			if err := s.MarkMailboxAccessDenied(ctx, 2, "403 ErrorAccessDenied: Access to OData is disabled."); err != nil {
				t.Fatal(err)
			}
			m, err := s.MailboxByEmployee(ctx, 2)
			if err != nil || m.State() != store.MailboxAccessDenied || m.AccessCheckAt == nil {
				t.Fatalf("after a denial: %+v, %v", m, err)
			}
			if m.AccessCheckDue(now) || !m.AccessCheckDue(*m.AccessCheckAt) {
				t.Errorf("check due at %v, asked at %v and at the time", m.AccessCheckAt, now)
			}
			waits = append(waits, m.AccessCheckAt.Sub(now))
			now = *m.AccessCheckAt
		}
		want := []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 2 * time.Hour, 2 * time.Hour}
		if diff := cmp.Diff(want, waits); diff != "" {
			t.Errorf("re-check back-off (-want +got)\n%s", diff)
		}
		if err := s.ClearMailboxAccessDenied(ctx, 2); err != nil {
			t.Fatal(err)
		}
		m, _ := s.MailboxByEmployee(ctx, 2)
		if !m.Syncable() || m.AccessCheckAt != nil || m.AccessChecks != 0 || m.LastError != "" {
			t.Errorf("after access came back: %+v", m)
		}
		// Denied again later: the back-off starts over.
		if err := s.MarkMailboxAccessDenied(ctx, 2, "denied"); err != nil {
			t.Fatal(err)
		}
		if m, _ := s.MailboxByEmployee(ctx, 2); m.AccessCheckAt == nil || m.AccessCheckAt.Sub(now) != 15*time.Minute {
			t.Errorf("denied again: %+v", m)
		}
	})
}

func TestCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		exp := time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)
		first, err := s.AddCredential(ctx, store.Credential{TenantID: "t", ClientID: "c", SecretSealed: "v1:x:y", SecretHint: "abc", ExpiresAt: &exp}, true)
		if err != nil {
			t.Fatal(err)
		}
		second, err := s.AddCredential(ctx, store.Credential{TenantID: "t", ClientID: "c", SecretSealed: "v1:x:z", SecretHint: "def"}, false)
		if err != nil {
			t.Fatal(err)
		}
		creds, err := s.ActiveCredentials(ctx)
		if err != nil || len(creds) != 2 || creds[0].ID != second || creds[1].ID != first {
			t.Fatalf("after rotate: %+v, %v", creds, err)
		}
		if !creds[1].ExpiresAt.Equal(exp) {
			t.Errorf("expires_at = %v", creds[1].ExpiresAt)
		}
		if err := s.RecordCredentialResult(ctx, first, errors.New("AADSTS7000222")); err != nil {
			t.Fatal(err)
		}
		third, err := s.AddCredential(ctx, store.Credential{TenantID: "t2", ClientID: "c2", SecretSealed: "v1:x:w", SecretHint: "ghi"}, true)
		if err != nil {
			t.Fatal(err)
		}
		creds, _ = s.ActiveCredentials(ctx)
		if len(creds) != 1 || creds[0].ID != third {
			t.Errorf("after set: %+v", creds)
		}
		if creds[0].Kind != store.CredentialSecret || creds[0].IsCertificate() {
			t.Errorf("a credential without kind is a secret: %+v", creds[0])
		}
		// A certificate beside the secret (rotation from secret to certificate).
		cert, err := s.AddCredential(ctx, store.Credential{TenantID: "t2", ClientID: "c2", Kind: store.CredentialCertificate,
			SecretSealed: "v1:x:pem", SecretHint: "0123456789ABCDEF0123456789ABCDEF01234567", ExpiresAt: &exp}, false)
		if err != nil {
			t.Fatal(err)
		}
		creds, _ = s.ActiveCredentials(ctx)
		if len(creds) != 2 || creds[0].ID != cert || !creds[0].IsCertificate() || creds[1].IsCertificate() {
			t.Errorf("after adding a certificate: %+v", creds)
		}
		if _, err := s.AddCredential(ctx, store.Credential{TenantID: "t2", ClientID: "c2", Kind: "password", SecretSealed: "v1:x:q"}, false); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("unknown kind: %v, want ErrInvalid", err)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
