package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/graph"
	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// watchedGraph is the real Graph client of the simulator with a hook on
// every delta call: the test reads the recorded progress there, at a
// known point of the sync, and can make the call fail.
type watchedGraph struct {
	*graph.Client
	mu          sync.Mutex
	onCall      func(folderID, link string) error
	failFolders error // the next folder tree read fails with it
}

func (g *watchedGraph) FolderTree(ctx context.Context, mailbox string) ([]model.MailFolder, error) {
	g.mu.Lock()
	err := g.failFolders
	g.failFolders = nil
	g.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return g.Client.FolderTree(ctx, mailbox)
}

func (g *watchedGraph) Delta(ctx context.Context, mailbox, folderID, link string, since time.Time) (model.DeltaPage, error) {
	g.mu.Lock()
	hook := g.onCall
	g.mu.Unlock()
	if hook != nil {
		if err := hook(folderID, link); err != nil {
			return model.DeltaPage{}, err
		}
	}
	return g.Client.Delta(ctx, mailbox, folderID, link, since)
}

func (g *watchedGraph) hook(fn func(folderID, link string) error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.onCall = fn
}

// A first sync against the simulator records its progress per page and
// per folder; when it stops in the middle (a Graph error), the record
// keeps its start, its finished folder and the error, and the retry
// resumes from there instead of from zero, then finishes.
func TestFirstSyncProgressRecordedAndResumed(t *testing.T) {
	defer func(old time.Duration) { progressEvery = old }(progressEvery)
	progressEvery = 0 // every page is written: the test reads them
	sim, _ := startGraphSim(t)
	perFolder := map[string]int{"inbox": 9, "sentitems": 5, "Projekte": 3}
	no := false
	for folder, n := range perFolder {
		for i := range n {
			_, err := sim.CreateMessage(graphsim.MessageInput{Mailbox: annaAddr, Folder: folder, Notify: &no, Message: map[string]any{
				"subject": fmt.Sprintf("%s %d", folder, i),
				"from":    map[string]any{"emailAddress": map[string]any{"address": fmt.Sprintf("k%d@kunde.example", i)}},
			}})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	total := int64(9 + 5 + 3)
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		g := &watchedGraph{Client: newSimClient(t, sim, 2)} // pages of two: several per folder
		h := newTestHandlers(t, s, Deps{Graph: g, Enqueuer: &taskQueue{}})

		// First run: fails at the first call of the second folder that has
		// mail, after recording what it saw at each page of the first.
		var (
			snapshots []store.FirstSync
			failed    bool
		)
		boom := errors.New("connection reset by peer")
		g.hook(func(_, link string) error {
			p, err := s.FirstSyncOf(ctx, 1)
			if err != nil {
				t.Errorf("no progress recorded at a delta call: %v", err)
				return nil
			}
			snapshots = append(snapshots, p)
			if link == "" && p.MessagesSeen > 0 && !failed {
				failed = true
				return boom
			}
			return nil
		})
		if err := h.Sync.ProcessTask(ctx, syncTask(t)); !errors.Is(err, boom) {
			t.Fatalf("first run = %v, want the Graph error", err)
		}
		stopped, err := s.FirstSyncOf(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if stopped.FinishedAt != nil || stopped.LastError != boom.Error() || stopped.LastErrorAt == nil {
			t.Errorf("after the error: %+v, want it running with the error", stopped)
		}
		if stopped.FoldersDone < 1 || stopped.FoldersDone >= stopped.FoldersTotal || stopped.MessagesSeen == 0 ||
			stopped.MessagesSeen != stopped.MessagesDone {
			t.Errorf("after the error: %d/%d folders, %d messages seen (%d in finished folders)",
				stopped.FoldersDone, stopped.FoldersTotal, stopped.MessagesSeen, stopped.MessagesDone)
		}
		if stopped.ItemsTotal != total {
			t.Errorf("items total %d, want %d (totalItemCount of the considered folders)", stopped.ItemsTotal, total)
		}
		// The pages moved the count within a folder, not only its end.
		grew := 0
		for i := 1; i < len(snapshots); i++ {
			if snapshots[i].MessagesSeen > snapshots[i-1].MessagesSeen && snapshots[i].FoldersDone == snapshots[i-1].FoldersDone {
				grew++
			}
		}
		if grew == 0 {
			t.Errorf("messages seen never grew within a folder: %+v", snapshots)
		}

		// A retry that fails before its folders are known shows its error
		// on the record, and leaves the progress as it was.
		refused := errors.New("dial tcp: connection refused")
		g.mu.Lock()
		g.failFolders = refused
		g.mu.Unlock()
		if err := h.Sync.ProcessTask(ctx, syncTask(t)); !errors.Is(err, refused) {
			t.Fatalf("run without folders = %v, want the error", err)
		}
		if p, err := s.FirstSyncOf(ctx, 1); err != nil || p.LastError != refused.Error() || p.FoldersDone != stopped.FoldersDone ||
			p.MessagesSeen != stopped.MessagesSeen {
			t.Errorf("after a failed folder read: %+v, %v", p, err)
		}

		// The retry resumes: same start, the finished folders' messages kept.
		var resumed *store.FirstSync
		g.hook(func(string, string) error {
			if resumed == nil {
				p, err := s.FirstSyncOf(ctx, 1)
				if err != nil {
					t.Error(err)
				}
				resumed = &p
			}
			return nil
		})
		if err := h.Sync.ProcessTask(ctx, syncTask(t)); err != nil {
			t.Fatal(err)
		}
		if resumed == nil {
			t.Fatal("no delta call on the retry")
		}
		if !resumed.StartedAt.Equal(stopped.StartedAt) || resumed.FoldersDone != stopped.FoldersDone ||
			resumed.MessagesSeen != stopped.MessagesDone || resumed.MessagesSeen == 0 {
			t.Errorf("resumed as %+v, want the start, folders and messages of %+v", *resumed, stopped)
		}
		end, err := s.FirstSyncOf(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if end.FinishedAt == nil || end.FoldersDone != end.FoldersTotal || end.MessagesSeen != total {
			t.Errorf("at the end: %+v, want finished with %d messages", end, total)
		}
		if est := end.Estimate(time.Now()); est.Fraction != 1 || est.MessagesLeft != 0 {
			t.Errorf("estimate of a finished sync: %+v", est)
		}
		if n, _, err := s.FirstSyncsInProgress(ctx, 20); err != nil || len(n) != 0 {
			t.Errorf("in progress after the end: %+v, %v", n, err)
		}

		// A later sync (every folder has its delta link) is no first sync.
		if err := h.Sync.ProcessTask(ctx, syncTask(t)); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.FirstSyncOf(ctx, 1); !again.StartedAt.Equal(end.StartedAt) || again.FinishedAt == nil {
			t.Errorf("a delta sync touched the record: %+v", again)
		}
		if !strings.Contains(h.log.String(), "first sync resumed") {
			t.Errorf("no log line of the resumed sync:\n%s", h.log.String())
		}
	})
}
