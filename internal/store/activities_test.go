package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/google/go-cmp/cmp"
)

func importedDecision() match.Decision {
	return match.Decision{Outcome: match.OutcomeImported, Reason: match.ReasonMatched, Direction: match.DirectionInbound,
		Rule: match.RuleContactExact, MatchedAddress: "sabine.schulz@schulz-technik.com", CustomerID: ptr[int64](10),
		ContactID: ptr[int64](100), LeadID: ptr[int64](1000), Candidates: []string{"sabine.schulz@schulz-technik.com"}}
}

func testMessage(id, imid string) model.Message {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	return model.Message{ID: id, InternetMessageID: imid, Subject: "AW: Angebot", ConversationID: "conv-1",
		Body: &model.ItemBody{ContentType: "text", Content: "Guten Tag"}, ReceivedDateTime: &at, SentDateTime: &at}
}

func TestRecordMessageOneActivityPerEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		rec := store.MessageRecord{EmployeeID: 1, Message: testMessage("AAMk-anna-1", "<m1@schulz-technik.com>"),
			Folder: []model.FolderRef{{WellKnownName: "inbox", DisplayName: "Inbox"}}, Decision: importedDecision()}
		first, err := s.RecordMessage(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		if first.Outcome != match.OutcomeImported || !first.NewActivity || first.ActivityID == 0 {
			t.Errorf("first: %+v", first)
		}
		again, err := s.RecordMessage(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(store.RecordResult{Outcome: match.OutcomeImported, ActivityID: first.ActivityID}, again); diff != "" {
			t.Errorf("same message again: (-want +got)\n%s", diff)
		}
		// The same e-mail in Peter's mailbox: linked, not stored twice.
		peter := rec
		peter.EmployeeID, peter.Message.ID = 2, "AAMk-peter-9"
		dup, err := s.RecordMessage(ctx, peter)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(store.RecordResult{Outcome: match.OutcomeDuplicate, ActivityID: first.ActivityID}, dup); diff != "" {
			t.Errorf("colleague's copy: (-want +got)\n%s", diff)
		}
		if a, l, _ := s.ActivityCount(ctx); a != 1 || l != 2 {
			t.Errorf("%d activities, %d mailbox links; want 1, 2", a, l)
		}
		ds, err := s.DecisionsFor(ctx, "<m1@schulz-technik.com>")
		if err != nil || len(ds) != 2 || ds[1].Outcome != match.OutcomeDuplicate || ds[0].Folder != "Inbox" {
			t.Errorf("decisions: %+v, %v", ds, err)
		}
	})
}

// TestRecordMessageConcurrently stores each of many e-mails from two
// mailboxes at once, several times over: every storm must end in one
// activity with two links and no error. (Two inserts racing on one e-mail
// collide on dedupe_key and on internet_message_id; both are unique, so the
// insert must give way on either.)
func TestRecordMessageConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		const emails, writers = 40, 8
		for e := range emails {
			imid := fmt.Sprintf("<storm-%d@x>", e)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rec := store.MessageRecord{EmployeeID: int64(1 + i%2), Message: testMessage(fmt.Sprintf("AAMk-%d-%d", e, i%2), imid), Decision: importedDecision()}
					if _, err := s.RecordMessage(ctx, rec); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
		}
		if a, l, _ := s.ActivityCount(ctx); a != emails || l != 2*emails {
			t.Errorf("%d activities, %d links; want %d, %d", a, l, emails, 2*emails)
		}
	})
}

func TestRecordMessageWithoutInternetMessageID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		for _, emp := range []int64{1, 2, 1} {
			if _, err := s.RecordMessage(ctx, store.MessageRecord{EmployeeID: emp, Message: testMessage("AAMk-same-id", ""), Decision: importedDecision()}); err != nil {
				t.Fatal(err)
			}
		}
		if a, _, _ := s.ActivityCount(ctx); a != 2 {
			t.Errorf("%d activities; want one per mailbox", a)
		}
	})
}

func TestDecisionIsUpdatedWhenTheMessageChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		msg := testMessage("AAMk-draft", "<draft@dedenet.de>")
		draft := match.Decision{Outcome: match.OutcomeIgnored, Reason: match.ReasonDraft}
		if r, err := s.RecordMessage(ctx, store.MessageRecord{EmployeeID: 1, Message: msg, Decision: draft}); err != nil || r.ActivityID != 0 {
			t.Fatalf("draft: %+v %v", r, err)
		}
		if r, err := s.RecordMessage(ctx, store.MessageRecord{EmployeeID: 1, Message: msg, Decision: importedDecision()}); err != nil || !r.NewActivity {
			t.Fatalf("sent: %+v %v", r, err)
		}
		ds, _ := s.DecisionsFor(ctx, "AAMk-draft")
		if len(ds) != 1 || ds[0].Reason != match.ReasonMatched || ds[0].ActivityID == nil {
			t.Errorf("decisions: %+v", ds)
		}
	})
}

func TestFolders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		tree := []model.MailFolder{
			{ID: "root", WellKnownName: "msgfolderroot"},
			{ID: "in", ParentID: "root", WellKnownName: "inbox", DisplayName: "Posteingang"},
			{ID: "k", ParentID: "in", DisplayName: "Kunden"},
			{ID: "old", ParentID: "root", DisplayName: "Alt"},
		}
		if err := s.ReplaceFolders(ctx, 1, tree); err != nil {
			t.Fatal(err)
		}
		if err := s.SetDeltaLink(ctx, 1, "k", "https://graph/delta?token=1"); err != nil {
			t.Fatal(err)
		}
		tree[2].DisplayName = "Kunden 2026"
		if err := s.ReplaceFolders(ctx, 1, tree[:3]); err != nil {
			t.Fatal(err)
		}
		got, err := s.Folders(ctx, 1)
		if err != nil || len(got) != 3 {
			t.Fatalf("folders: %+v, %v", got, err)
		}
		stored := make([]model.MailFolder, len(got))
		for i, f := range got {
			stored[i] = f.MailFolder
		}
		path, ok := match.NewFolderTree(stored).Path("k")
		want := []model.FolderRef{{ID: "in", WellKnownName: "inbox", DisplayName: "Posteingang"}, {ID: "k", DisplayName: "Kunden 2026"}}
		if diff := cmp.Diff(want, path); !ok || diff != "" {
			t.Errorf("path: (-want +got)\n%s", diff)
		}
		for _, f := range got {
			if f.ID == "k" && f.DeltaLink != "https://graph/delta?token=1" {
				t.Errorf("renaming lost the delta link: %+v", f)
			}
		}
		if _, ok := match.NewFolderTree(stored).Path("old"); ok {
			t.Error("a vanished folder still has a path")
		}
	})
}

func TestSubscriptionRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		exp := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
		if err := s.SaveSubscription(ctx, 1, model.Subscription{ID: "sub-1", Resource: "/users/a/messages", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchSubscription(ctx, "sub-1", exp.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		r, err := s.SubscriptionOf(ctx, 1)
		if err != nil || r.GraphID != "sub-1" || !r.ExpiresAt.Equal(exp) || r.LastNotificationAt == nil || r.Status != store.SubscriptionActive {
			t.Fatalf("row: %+v, %v", r, err)
		}
		if err := s.SubscriptionFailedNow(ctx, 1, "ValidationError"); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.SubscriptionOf(ctx, 1); r.Status != store.SubscriptionFailed || r.LastError != "ValidationError" {
			t.Errorf("after failure: %+v", r)
		}
		if err := s.SaveSubscription(ctx, 1, model.Subscription{ID: "sub-2", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if r, _ := s.SubscriptionOf(ctx, 1); r.GraphID != "sub-2" || r.Status != store.SubscriptionActive || r.LastError != "" {
			t.Errorf("after recreate: %+v", r)
		}
		if err := s.DeleteSubscriptionRow(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SubscriptionOf(ctx, 1); err == nil {
			t.Error("deleted row still found")
		}
	})
}
