package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// seedOpsDecisions records four decisions, one per minute: two imported
// (Anna's and Peter's copy of one e-mail), two ignored.
func seedOpsDecisions(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return clock })
	inbox := []model.FolderRef{{WellKnownName: "inbox", DisplayName: "Inbox"}}
	ignored := func(reason string, cands ...string) match.Decision {
		return match.Decision{Outcome: match.OutcomeIgnored, Reason: reason, Direction: match.DirectionInbound, Candidates: cands}
	}
	recs := []store.MessageRecord{
		{EmployeeID: 1, Message: testMessage("AAMk-anna-1", "<m1@schulz-technik.com>"), Folder: inbox, Decision: importedDecision()},
		{EmployeeID: 2, Message: testMessage("AAMk-peter-1", "<m1@schulz-technik.com>"), Folder: inbox, Decision: importedDecision()},
		{EmployeeID: 1, Message: model.Message{ID: "AAMk-anna-2", InternetMessageID: "<n2@newsletter-versand.de>", Subject: "Ihr 50%_Rabatt"},
			Folder: inbox, Decision: ignored(match.ReasonIgnoredDomain)},
		{EmployeeID: 1, Message: model.Message{ID: "AAMk-anna-3", InternetMessageID: "<n3@example.org>", Subject: "Hallo"},
			Folder: inbox, Decision: ignored(match.ReasonNoMatch, "someone@example.org")},
	}
	for _, r := range recs {
		if _, err := s.RecordMessage(ctx, r); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Minute)
	}
}

func TestMailboxDecisionCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		seedOpsDecisions(t, s)
		got, err := s.MailboxDecisionCounts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := []store.MailboxOutcomeCount{
			{EmployeeID: 1, Outcome: match.OutcomeIgnored, Reason: match.ReasonIgnoredDomain, N: 1},
			{EmployeeID: 1, Outcome: match.OutcomeIgnored, Reason: match.ReasonNoMatch, N: 1},
			{EmployeeID: 1, Outcome: match.OutcomeImported, Reason: match.ReasonMatched, N: 1},
			{EmployeeID: 2, Outcome: match.OutcomeDuplicate, Reason: match.ReasonMatched, N: 1},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("mismatch (-want +got)\n%s", diff)
		}
	})
}

func TestSearchDecisions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		seedOpsDecisions(t, s)
		ctx := context.Background()
		tests := []struct {
			name     string
			q        store.DecisionQuery
			want     []string // Graph message IDs
			wantMore bool
		}{
			{"all, newest first", store.DecisionQuery{}, []string{"AAMk-anna-3", "AAMk-anna-2", "AAMk-peter-1", "AAMk-anna-1"}, false},
			{"first page", store.DecisionQuery{Limit: 3}, []string{"AAMk-anna-3", "AAMk-anna-2", "AAMk-peter-1"}, true},
			{"second page", store.DecisionQuery{Limit: 3, Offset: 3}, []string{"AAMk-anna-1"}, false},
			{"subject, any case", store.DecisionQuery{Text: "angebot"}, []string{"AAMk-peter-1", "AAMk-anna-1"}, false},
			{"wildcards are literal", store.DecisionQuery{Text: "50%_r"}, []string{"AAMk-anna-2"}, false},
			{"% alone matches no subject", store.DecisionQuery{Text: "%%"}, nil, false},
			{"candidate address", store.DecisionQuery{Text: "SOMEONE@example"}, []string{"AAMk-anna-3"}, false},
			{"matched address", store.DecisionQuery{Text: "sabine.schulz@"}, []string{"AAMk-peter-1", "AAMk-anna-1"}, false},
			{"mailbox", store.DecisionQuery{Text: "peter.kraus@dedenet.de"}, []string{"AAMk-peter-1"}, false},
			{"graph ID", store.DecisionQuery{Text: "AAMk-anna-2"}, []string{"AAMk-anna-2"}, false},
			{"internetMessageId", store.DecisionQuery{Text: "<n3@example.org>"}, []string{"AAMk-anna-3"}, false},
			{"internetMessageId without brackets", store.DecisionQuery{Text: "m1@schulz-technik.com"}, []string{"AAMk-peter-1", "AAMk-anna-1"}, false},
			{"outcome", store.DecisionQuery{Outcome: match.OutcomeIgnored}, []string{"AAMk-anna-3", "AAMk-anna-2"}, false},
			{"nothing", store.DecisionQuery{Text: "no such thing"}, nil, false},
		}
		for _, tt := range tests {
			hits, more, err := s.SearchDecisions(ctx, tt.q)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			var got []string
			for _, h := range hits {
				got = append(got, h.GraphMessageID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" || more != tt.wantMore {
				t.Errorf("%s: more = %v, want %v; mismatch (-want +got)\n%s", tt.name, more, tt.wantMore, diff)
			}
		}
		hits, _, err := s.SearchDecisions(ctx, store.DecisionQuery{Text: "AAMk-peter-1"})
		if err != nil || len(hits) != 1 {
			t.Fatalf("SearchDecisions: %v, %v", hits, err)
		}
		if hits[0].Mailbox != "peter.kraus@dedenet.de" || hits[0].Outcome != match.OutcomeDuplicate {
			t.Errorf("hit: %+v", hits[0])
		}
	})
}

func TestDecisionByID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		seedOpsDecisions(t, s)
		ctx := context.Background()
		hits, _, err := s.SearchDecisions(ctx, store.DecisionQuery{Text: "AAMk-anna-1"})
		if err != nil || len(hits) != 1 {
			t.Fatalf("SearchDecisions: %v, %v", hits, err)
		}
		got, err := s.DecisionByID(ctx, hits[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.History) != 1 || got.History[0].Kind != store.EventDecided {
			t.Errorf("history: %+v", got.History)
		}
		if diff := cmp.Diff(hits[0], got, cmpopts.IgnoreFields(store.Decision{}, "History")); diff != "" {
			t.Errorf("mismatch (-want +got)\n%s", diff)
		}
		if got.Mailbox != "anna.berger@dedenet.de" || got.Subject != "AW: Angebot" || got.Rule != match.RuleContactExact {
			t.Errorf("decision: %+v", got)
		}
		if _, err := s.DecisionByID(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown ID: %v, want ErrNotFound", err)
		}
	})
}
