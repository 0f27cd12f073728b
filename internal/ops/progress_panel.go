package ops

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dedesales/exchange-connector/internal/store"
)

// progressRows is the most first syncs the status page lists; the rest
// are counted.
const progressRows = 20

// firstSyncLister lists the running first syncs; *store.Store is one.
// Optional, like webhookLister, so that the Store interface (and its
// fakes) need not change.
type firstSyncLister interface {
	FirstSyncsInProgress(ctx context.Context, limit int) ([]store.FirstSync, int, error)
}

// progressPanel is the data of _progress.html: the running first syncs,
// oldest start first, at most progressRows of them.
type progressPanel struct {
	Shown bool // the store can tell
	Rows  []progressRow
	More  int // running beyond Rows
	Err   string
}

// progressRow is one running first sync.
type progressRow struct {
	Address, Name string
	Started       string
	Folders       string // "2 / 5"
	Folder        string // being read
	Messages      int64
	Rate          string
	Left          string
	Percent       int
	LastProgress  string
	Stalled       bool
	LastError     string
	LastErrorAt   string
}

// firstSyncPanel reads the panel; an error is shown in it, the rest of the
// page still renders.
func (h *Handler) firstSyncPanel(ctx context.Context, now time.Time) progressPanel {
	l, ok := h.deps.Store.(firstSyncLister)
	if !ok {
		return progressPanel{}
	}
	p := progressPanel{Shown: true}
	syncs, n, err := l.FirstSyncsInProgress(ctx, progressRows)
	if err != nil {
		h.log.Error("ops: first syncs in progress", slog.Any("error", err))
		p.Err = err.Error()
		return p
	}
	for _, s := range syncs {
		p.Rows = append(p.Rows, progressRowOf(now, s))
	}
	p.More = n - len(p.Rows)
	return p
}

func progressRowOf(now time.Time, s store.FirstSync) progressRow {
	e := s.Estimate(now)
	r := progressRow{Address: s.Address, Name: s.Name, Started: roughDuration(now.Sub(s.StartedAt)) + " ago",
		Folders: fmt.Sprintf("%d / %d", s.FoldersDone, s.FoldersTotal), Folder: s.Folder, Messages: s.MessagesSeen,
		Rate: "-", Left: "unknown", Percent: int(e.Fraction * 100), LastProgress: roughDuration(e.Idle) + " ago",
		Stalled: e.Stalled, LastError: s.LastError}
	if e.Rate > 0 {
		r.Rate = fmt.Sprintf("%.1f/s", e.Rate)
	}
	switch {
	case e.Left >= 0 && e.UpperBound:
		r.Left = "at most " + roughDuration(e.Left)
	case e.Left >= 0:
		r.Left = "about " + roughDuration(e.Left)
	case e.MessagesLeft >= 0 && e.UpperBound:
		r.Left = fmt.Sprintf("at most %d messages", e.MessagesLeft)
	case e.MessagesLeft >= 0:
		r.Left = fmt.Sprintf("%d messages", e.MessagesLeft)
	}
	if s.LastErrorAt != nil {
		r.LastErrorAt = ago(now, s.LastErrorAt)
	}
	return r
}
