package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/dedesales/exchange-connector/internal/store"
)

// progressEvery is the least time between two progress writes of a
// first sync within a folder; a finished folder is always written. Tests
// set it to 0 to see every page.
var progressEvery = time.Second

// firstSync records the progress of a mailbox's first sync (store.FirstSync)
// while the sync handler reads its folders: per page and per finished
// folder, at most every progressEvery within a folder. A nil *firstSync
// (a sync with nothing to backfill) records nothing. Progress is advisory:
// a failed write is logged and the sync goes on.
type firstSync struct {
	st    *store.Store
	mb    int64
	log   *slog.Logger
	fresh map[string]bool // considered folders without a delta link at the start
	step  store.FirstSyncStep
	last  time.Time // of the last write
}

type firstSyncKey struct{}

// startFirstSync starts (or resumes) the record of a first sync when one of
// the considered folders has no delta link yet, and puts the recorder into
// the returned context for the page loops (firstSyncOf).
func startFirstSync(ctx context.Context, st *store.Store, mb store.Mailbox, folders []store.Folder, log *slog.Logger) (context.Context, *firstSync) {
	var start store.FirstSyncStart
	fresh := map[string]bool{}
	for _, f := range folders {
		start.FoldersTotal++
		start.ItemsTotal += f.ItemCount
		if f.DeltaLink == "" {
			fresh[f.ID] = true
			continue
		}
		start.FoldersDone++
		start.ItemsDone += f.ItemCount
	}
	if len(fresh) == 0 {
		return ctx, nil
	}
	p, err := st.StartFirstSync(ctx, mb.EmployeeID, start)
	if err != nil {
		log.Warn("first sync progress not recorded", slog.Any("error", err))
		return ctx, nil
	}
	fs := &firstSync{st: st, mb: mb.EmployeeID, log: log, fresh: fresh, last: time.Now(),
		step: store.FirstSyncStep{FoldersDone: p.FoldersDone, MessagesSeen: p.MessagesSeen, MessagesDone: p.MessagesDone, ItemsDone: p.ItemsDone}}
	if p.MessagesDone > 0 || p.FoldersDone > 0 {
		log.Info("first sync resumed", "folders_done", p.FoldersDone, "folders_total", p.FoldersTotal, "messages_done", p.MessagesDone)
	}
	return context.WithValue(ctx, firstSyncKey{}, fs), fs
}

// firstSyncOf returns the recorder of the sync running in ctx, or nil.
func firstSyncOf(ctx context.Context) *firstSync {
	fs, _ := ctx.Value(firstSyncKey{}).(*firstSync)
	return fs
}

// folder notes that the folder f is being read.
func (fs *firstSync) folder(ctx context.Context, f store.Folder) {
	if fs == nil || !fs.fresh[f.ID] {
		return
	}
	fs.step.Folder = f.DisplayName
	fs.write(ctx)
}

// page counts n messages read in the current folder.
func (fs *firstSync) page(ctx context.Context, n int) {
	if fs == nil || fs.step.Folder == "" {
		return
	}
	fs.step.MessagesSeen += int64(n)
	if time.Since(fs.last) >= progressEvery { // the wall clock: this paces writes
		fs.write(ctx)
	}
}

// done notes that the folder f got its delta link.
func (fs *firstSync) done(ctx context.Context, f store.Folder) {
	if fs == nil || !fs.fresh[f.ID] {
		return
	}
	delete(fs.fresh, f.ID)
	fs.step.FoldersDone++
	fs.step.MessagesDone = fs.step.MessagesSeen
	fs.step.ItemsDone += f.ItemCount
	fs.step.Folder = ""
	fs.write(ctx)
}

// failed records the error the sync stopped at.
func (fs *firstSync) failed(ctx context.Context, err error) {
	if fs == nil {
		return
	}
	ctx = context.WithoutCancel(ctx) // a sync stopped by shutdown still tells why
	fs.write(ctx)
	if err := fs.st.FirstSyncFailed(ctx, fs.mb, err.Error()); err != nil {
		fs.log.Warn("first sync error not recorded", slog.Any("error", err))
	}
}

// firstSyncStopped records err on the mailbox's first sync if one is
// running (a sync that failed before its folders were known).
func firstSyncStopped(ctx context.Context, st *store.Store, mb store.Mailbox, err error, log *slog.Logger) {
	if werr := st.FirstSyncFailed(context.WithoutCancel(ctx), mb.EmployeeID, err.Error()); werr != nil {
		log.Warn("first sync error not recorded", slog.Any("error", werr))
	}
}

// finish records that every considered folder has its delta link.
func (fs *firstSync) finish(ctx context.Context) {
	if fs == nil {
		return
	}
	if err := fs.st.FinishFirstSync(ctx, fs.mb); err != nil {
		fs.log.Warn("first sync end not recorded", slog.Any("error", err))
		return
	}
	fs.log.Info("first sync finished", "folders", fs.step.FoldersDone, "messages", fs.step.MessagesSeen)
}

func (fs *firstSync) write(ctx context.Context) {
	fs.last = time.Now()
	if err := fs.st.RecordFirstSync(ctx, fs.mb, fs.step); err != nil {
		fs.log.Warn("first sync progress not recorded", slog.Any("error", err))
	}
}
