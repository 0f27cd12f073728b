package ops_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// The status page shows the running first syncs, oldest first, at most 20
// with a count of the rest: folders, messages, rate, time left, a stalled
// sync and its last error.
func TestStatusPageFirstSyncs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var emps []model.Employee
		for i := 1; i <= 25; i++ {
			mb := fmt.Sprintf("user%02d@dedenet.de", i)
			emps = append(emps, model.Employee{ID: int64(i), Name: fmt.Sprintf("User %d", i), Email: mb, ExchangeMailbox: &mb, Active: true})
		}
		if _, err := st.ImportCRM(ctx, &crmfile.File{Employees: emps}); err != nil {
			t.Fatal(err)
		}
		at := testNow
		st.SetClock(func() time.Time { return at })
		start := testNow.Add(-11 * time.Minute) // user01 first, then one every 10 s
		for i := 1; i <= 25; i++ {
			at = start.Add(time.Duration(i) * 10 * time.Second)
			if _, err := st.StartFirstSync(ctx, int64(i), store.FirstSyncStart{FoldersTotal: 4, ItemsTotal: 2000}); err != nil {
				t.Fatal(err)
			}
		}
		// user01: 2 of 4 folders, 600 messages in 10 min (1/s); half of the
		// finished folders' 1,000 items were in the window, so 500 more of
		// the other 1,000, less the 100 read in the current folder: 400 s.
		at = testNow.Add(-50 * time.Second)
		if err := st.RecordFirstSync(ctx, 1, store.FirstSyncStep{FoldersDone: 2, MessagesSeen: 600, MessagesDone: 500, ItemsDone: 1000, Folder: "Kunden"}); err != nil {
			t.Fatal(err)
		}
		// user02 stopped at an error, without a finished folder.
		at = testNow.Add(-time.Minute)
		if err := st.FirstSyncFailed(ctx, 2, "Graph: 503 Service Unavailable"); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishFirstSync(ctx, 25); err != nil {
			t.Fatal(err)
		}
		st.SetClock(func() time.Time { return testNow })

		srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed())})
		b := newBrowser(t, srv)
		b.mustLogin()
		resp, body := b.get("/ops/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/ops/: %s\n%s", resp.Status, body)
		}
		panel, _, _ := strings.Cut(body[strings.Index(body, `id="first-syncs"`):], "</table>")
		if n := strings.Count(panel, "<tr>") - 1; n != 20 {
			t.Errorf("%d rows of first syncs, want 20", n)
		}
		if !strings.Contains(body, "… and 4 more first syncs in progress.") {
			t.Error("the running syncs beyond the panel are not counted")
		}
		if got, want := rowOf(t, panel, "user01@"), "user01@dedenet.de User 1 10m 50s ago 60 % 2 / 4 Kunden 600 1.0/s about 6m 40s 50s ago"; got != want {
			t.Errorf("user01:\n got %q\nwant %q", got, want)
		}
		if got, want := rowOf(t, panel, "user02@"), "user02@dedenet.de User 2 10m 40s ago 0 % 0 / 4 0 - at most 2000 messages 10m 40s ago Graph: 503 Service Unavailable 1m 0s ago"; got != want {
			t.Errorf("user02:\n got %q\nwant %q", got, want)
		}
		if strings.Contains(panel, "user25@") || strings.Contains(panel, "user22@") {
			t.Error("a finished sync or one beyond the 20 oldest is listed")
		}
		if strings.Contains(panel, "stalled") {
			t.Error("a sync with progress in the last 15 minutes is shown stalled")
		}

		// 20 minutes on without progress, every listed sync is stalled.
		srv.clock.Add(20 * time.Minute)
		_, body = b.get("/ops/")
		if got := rowOf(t, body, "user01@"); !strings.Contains(got, "stalled: 20m 50s ago") {
			t.Errorf("user01 20 minutes later: %q", got)
		}
	})
}

// Without first syncs the panel says so.
func TestStatusPageNoFirstSync(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed())})
	b := newBrowser(t, srv)
	b.mustLogin()
	if _, body := b.get("/ops/"); !strings.Contains(body, `id="no-first-syncs"`) {
		t.Errorf("no word on first syncs:\n%s", body)
	}
}
