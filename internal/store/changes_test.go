package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
	"github.com/google/go-cmp/cmp"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []store.Cursor{{}, {Tx: 0, Seq: 7}, {Tx: 1<<63 + 5, Seq: 1 << 40}} {
		got, err := store.ParseCursor(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCursor(%q) = %+v, %v; want %+v", c.String(), got, err, c)
		}
	}
	for _, bad := range []string{"x", "c1.", "c1.!!", "c1.MTI", "c1.LTEuMg", "1.2"} {
		if _, err := store.ParseCursor(bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ParseCursor(%q) = %v; want ErrInvalid", bad, err)
		}
	}
}

// TestChangeLogRecordsEachChangeOnce: a new activity, a further mailbox
// and a filed document each enter the log once; processing the same
// message again adds nothing. The feed shows each activity once, in its
// current state, and continues from its cursor.
func TestChangeLogRecordsEachChangeOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
			t.Fatal(err)
		}
		rec := store.MessageRecord{EmployeeID: 1, Message: testMessage("AAMk-anna-1", "<m1@schulz-technik.com>"),
			Folder: []model.FolderRef{{WellKnownName: "inbox"}}, Decision: importedDecision()}
		first, err := s.RecordMessage(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordMessage(ctx, rec); err != nil { // a redelivery: no change
			t.Fatal(err)
		}
		peter := rec
		peter.EmployeeID, peter.Message.ID = 2, "AAMk-peter-9"
		if _, err := s.RecordMessage(ctx, peter); err != nil {
			t.Fatal(err)
		}
		doc := store.Document{CustomerID: 10, ActivityID: first.ActivityID, SourceKey: "a:1", Path: "K-10/E-Mail Attachments/x.pdf", Name: "x.pdf", Size: 3, SHA256: "abc"}
		for range 2 { // recording it again updates it, no new change
			if err := s.RecordDocument(ctx, doc); err != nil {
				t.Fatal(err)
			}
		}
		changes := awaitChanges(t, s.Changes, store.Cursor{}, 3)
		var kinds []string
		for _, c := range changes {
			if c.ActivityID != first.ActivityID || c.CustomerID != 10 {
				t.Errorf("change %+v: want activity %d of customer 10", c, first.ActivityID)
			}
			kinds = append(kinds, c.Kind)
		}
		want := []string{store.ChangeActivityCreated, store.ChangeActivityUpdated, store.ChangeDocumentFiled}
		if diff := cmp.Diff(want, kinds); diff != "" {
			t.Fatalf("kinds (-want +got)\n%s", diff)
		}
		if changes[2].DocumentID == nil {
			t.Error("document.filed without its document ID")
		}

		items, next, err := s.Feed(ctx, store.Cursor{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || next != changes[2].Cursor {
			t.Fatalf("feed: %d items, next %+v; want 1 item, next %+v", len(items), next, changes[2].Cursor)
		}
		a := items[0]
		if len(a.Mailboxes) != 2 || len(a.Documents) != 1 || a.Documents[0].Name != "x.pdf" || a.Subject != "AW: Angebot" || *a.ContactID != 100 {
			t.Errorf("feed item: %+v", a)
		}
		// Page by page: two changes, then one, then nothing.
		page1, c1, err := s.Feed(ctx, store.Cursor{}, 2)
		if err != nil || len(page1) != 1 || c1 != changes[1].Cursor {
			t.Errorf("page 1: %d items, %+v, %v", len(page1), c1, err)
		}
		page2, c2, err := s.Feed(ctx, c1, 2)
		if err != nil || len(page2) != 1 || c2 != changes[2].Cursor {
			t.Errorf("page 2: %d items, %+v, %v", len(page2), c2, err)
		}
		page3, c3, err := s.Feed(ctx, c2, 2)
		if err != nil || len(page3) != 0 || c3 != c2 {
			t.Errorf("page 3: %d items, %+v, %v", len(page3), c3, err)
		}

		got, err := s.FeedActivityByID(ctx, first.ActivityID)
		if err != nil || got.ID != first.ActivityID || len(got.Mailboxes) != 2 {
			t.Errorf("by ID: %+v, %v", got, err)
		}
		if _, err := s.FeedActivityByID(ctx, 999); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown activity: %v", err)
		}
		list, err := s.CustomerActivities(ctx, 10, 0, 10)
		if err != nil || len(list) != 1 {
			t.Errorf("customer activities: %d, %v", len(list), err)
		}
		if _, err := s.CustomerActivities(ctx, 424242, 0, 10); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown customer: %v", err)
		}
	})
}

// TestChangeLogNeverSkipsALateCommit is the case that breaks a naive feed on
// PostgreSQL: a writer takes its place in the log, a second writer takes a
// later one and commits first. A reader must not pass the first writer's
// place while its transaction is open. The naive reader (no horizon) is run
// too, to show that this test catches the skip.
func TestChangeLogNeverSkipsALateCommit(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	activity := seedActivity(t, s)
	for _, naive := range []bool{false, true} {
		t.Run(fmt.Sprintf("naive=%v", naive), func(t *testing.T) {
			read := s.Changes
			if naive {
				read = s.UnsafeChanges
			}
			start := awaitChanges(t, s.Changes, store.Cursor{}, 1)
			cursor := start[len(start)-1].Cursor
			commitSlow, err := s.OpenChange(ctx, activity) // takes the earlier place
			if err != nil {
				t.Fatal(err)
			}
			commitFast, err := s.OpenChange(ctx, activity)
			if err != nil {
				t.Fatal(err)
			}
			if err := commitFast(); err != nil {
				t.Fatal(err)
			}
			seen := 0
			page, err := read(ctx, cursor, 100)
			if err != nil {
				t.Fatal(err)
			}
			seen += len(page)
			if len(page) > 0 {
				cursor = page[len(page)-1].Cursor
			}
			if err := commitSlow(); err != nil {
				t.Fatal(err)
			}
			if naive {
				page, err = read(ctx, cursor, 100)
				if err != nil {
					t.Fatal(err)
				}
			} else {
				page = awaitChanges(t, read, cursor, 2-seen)
			}
			seen += len(page)
			switch {
			case !naive && seen != 2:
				t.Errorf("the reader saw %d of 2 changes", seen)
			case naive && seen != 1:
				t.Errorf("the naive reader saw %d of 2 changes; this test no longer shows the skip it guards against", seen)
			}
		})
	}
}

// TestChangeLogUnderConcurrentWriters: many writers commit changes while a
// reader follows the log by cursor; when they are done the reader has seen
// every change exactly once.
func TestChangeLogUnderConcurrentWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		activity := seedActivity(t, s)
		start := awaitChanges(t, s.Changes, store.Cursor{}, 1)
		cursor := start[len(start)-1].Cursor
		const writers, each = 16, 25
		var wg sync.WaitGroup
		done := make(chan struct{})
		errs := make(chan error, writers)
		for range writers {
			wg.Go(func() {
				for range each {
					commit, err := s.OpenChange(ctx, activity)
					if err == nil {
						err = commit()
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		go func() { wg.Wait(); close(done) }()
		seen := map[store.Cursor]int{}
		follow := func() {
			for {
				page, err := s.Changes(ctx, cursor, 7)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					return
				}
				for _, c := range page {
					seen[c.Cursor]++
				}
				cursor = page[len(page)-1].Cursor
			}
		}
	loop:
		for {
			select {
			case <-done:
				break loop
			default:
				follow()
			}
		}
		// Transactions of other tests on the same server may hold the
		// horizon back for a moment: follow until all have arrived.
		deadline := time.Now().Add(time.Minute)
		for follow(); len(seen) < writers*each && time.Now().Before(deadline); follow() {
			runtime.Gosched()
		}
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(seen) != writers*each {
			t.Errorf("the reader saw %d distinct changes; want %d", len(seen), writers*each)
		}
		for c, n := range seen {
			if n != 1 {
				t.Errorf("change %+v seen %d times", c, n)
			}
		}
	})
}

// awaitChanges waits for at least n changes after the cursor and fails the
// test when they do not come.
func awaitChanges(t *testing.T, read storetest.ChangeReader, after store.Cursor, n int) []store.Change {
	t.Helper()
	page := storetest.AwaitChanges(t, read, after, n)
	if len(page) < n {
		t.Fatalf("the change log shows %d changes after %+v; want %d", len(page), after, n)
	}
	return page
}

// seedActivity imports the sample CRM and stores one activity.
func seedActivity(t *testing.T, s *store.Store) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
		t.Fatal(err)
	}
	res, err := s.RecordMessage(ctx, store.MessageRecord{EmployeeID: 1, Message: testMessage("AAMk-seed", "<seed@schulz-technik.com>"),
		Folder: []model.FolderRef{{WellKnownName: "inbox"}}, Decision: importedDecision()})
	if err != nil {
		t.Fatal(err)
	}
	return res.ActivityID
}
