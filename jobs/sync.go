package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/grapherr"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
)

// SyncHandler handles TypeSyncMailbox.
type SyncHandler struct {
	st        *store.Store
	graph     DeltaReader
	mailboxes *mailboxes
	folders   *folders
	importer  *importer
	now       func() time.Time
	log       *slog.Logger
}

// ProcessTask refreshes the folder tree and runs a delta round on
// every considered folder: the first round reaches back backfill_days, later
// rounds continue from the stored delta link, a lost sync state starts a
// fresh round. Messages go through the same matching and storing as
// notified ones, without a GET per message.
func (h *SyncHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var pl queue.SyncMailboxPayload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil {
		return fmt.Errorf("%s: bad payload: %v: %w", queue.TypeSyncMailbox, err, asynq.SkipRetry)
	}
	log := h.log.With("task", queue.TypeSyncMailbox, "employee_id", pl.EmployeeID, "reason", pl.Reason)
	mb, ok, err := h.mailboxes.syncable(ctx, pl.EmployeeID, log)
	if err != nil || !ok {
		return err
	}
	tree, err := h.folders.refresh(ctx, mb)
	if err != nil {
		firstSyncStopped(ctx, h.st, mb, err, log) // progress hook: shown on a running first sync
		return h.mailboxes.graphFailure(ctx, mb, err, log)
	}
	settings, err := h.st.Settings(ctx)
	if err != nil {
		return err
	}
	since := h.now().AddDate(0, 0, -settings.BackfillDays)
	total := 0
	folders := considered(tree)
	ctx, progress := startFirstSync(ctx, h.st, mb, folders, log) // progress hook: nil unless a folder has no delta link
	for _, f := range folders {
		progress.folder(ctx, f)
		n, err := h.syncFolder(ctx, mb, f, since, log)
		total += n
		if err != nil {
			progress.failed(ctx, err)
			return h.mailboxes.graphFailure(ctx, mb, err, log)
		}
		progress.done(ctx, f)
	}
	progress.finish(ctx) // every considered folder has its delta link
	if err := h.st.MailboxSynced(ctx, mb.EmployeeID); err != nil {
		return err
	}
	log.Info("mailbox synced", "messages", total)
	return nil
}

// considered returns the folders whose mail may be imported, as
// match.ExcludedFolder decides for a notified message's folder.
func considered(tree []store.Folder) []store.Folder {
	ft := folderTree(tree)
	var out []store.Folder
	for _, f := range tree {
		if ft.Considered(f.ID) {
			out = append(out, f)
		}
	}
	return out
}

// mailFolders returns the folders of a stored tree without their sync state.
func mailFolders(tree []store.Folder) []model.MailFolder {
	out := make([]model.MailFolder, len(tree))
	for i, f := range tree {
		out[i] = f.MailFolder
	}
	return out
}

// folderTree indexes a stored tree for match.FolderTree.Path.
func folderTree(tree []store.Folder) match.FolderTree {
	return match.NewFolderTree(mailFolders(tree))
}

// filteredDeltaCap is the most messages a filtered delta round returns,
// in arbitrary order: "Applying $filter in a delta query returns only up to
// 5,000 messages" (learn.microsoft.com/graph/delta-query-messages, ms.date
// 2024-11-07; graph.md Errata). Every first round is filtered by
// backfill_days, so a round of this size may have left out part of the
// window.
//
// Of the ways to get the whole window, the list of messages filtered by
// receivedDateTime is the one Graph documents without a cap ($top 1–1000,
// $filter with $orderby on the same property: learn.microsoft.com/graph/api/
// user-list-messages). An unfiltered delta would read the folder's whole
// history (20,000 older mails cost 20 more pages) and delta accepts no upper
// bound on receivedDateTime to slice the window by time ("$filter only
// works with receivedDateTime ge|gt", message-delta.md). So a folder whose
// first round came back capped keeps that round's deltaLink for change
// tracking and has the rest of its window listed: the round asks for
// receivedDateTime desc (the one $orderby delta supports), so when it came
// in that order only the mail older than its oldest message is listed,
// otherwise the whole window. A smaller folder costs nothing extra.
const filteredDeltaCap = 5000

// syncFolder runs one delta round on a folder and stores its delta link. A
// first (filtered) round that hit the 5,000 cap is completed by listing the
// window before its delta link is stored, so a failure in between repeats
// both and no mail of the window is lost.
func (h *SyncHandler) syncFolder(ctx context.Context, mb store.Mailbox, f store.Folder, since time.Time, log *slog.Logger) (int, error) {
	link, n := f.DeltaLink, 0
	fresh, inRound := link == "", 0 // a first round, filtered by since, and its size
	var order roundOrder            // of a first round, asked for newest first
	for {
		page, err := h.graph.Delta(ctx, mb.GraphRef(), f.ID, link, since)
		if errors.Is(err, grapherr.ErrSyncStateLost) && link != "" {
			log.Warn("delta sync state lost; starting a fresh round", "folder", f.DisplayName)
			if err := h.st.SetDeltaLink(ctx, mb.EmployeeID, f.ID, ""); err != nil {
				return n, err
			}
			link, fresh, inRound, order = "", true, 0, roundOrder{}
			continue
		}
		if err != nil {
			return n, err
		}
		for i := range page.Messages {
			if _, err := h.importer.importMessage(ctx, mb, &page.Messages[i], "delta", time.Time{}); err != nil {
				return n, err
			}
			order.see(&page.Messages[i])
			n++
		}
		firstSyncOf(ctx).page(ctx, len(page.Messages)) // progress hook
		inRound += len(page.Messages) + len(page.Removed)
		if page.DeltaLink != "" {
			if fresh && inRound >= filteredDeltaCap {
				log.Info("filtered delta round capped at 5,000 messages; listing the backfill window",
					"folder", f.DisplayName, "since", since)
				// A round that came newest first holds everything newer than
				// its oldest message; otherwise the whole window is listed.
				until, seen := order.rest()
				m, err := h.listWindow(ctx, mb, f, since, until, seen)
				n += m
				if err != nil {
					return n, err
				}
			}
			return n, h.st.SetDeltaLink(ctx, mb.EmployeeID, f.ID, page.DeltaLink)
		}
		link = page.NextLink
	}
}

// listWindow imports every message of a folder received since since,
// newest first. It pages by receivedDateTime (each next page asks for
// "le" the oldest time seen, skipping the messages of that instant already
// imported) rather than by the nextLink's $skip, so a message deleted or
// moved away during the backfill does not shift another one past a page
// boundary; only when one instant fills a whole page does it follow the
// nextLink.
//
// With until set it lists [since, until] only, skipping seen: the messages
// received at until that are already imported.
func (h *SyncHandler) listWindow(ctx context.Context, mb store.Mailbox, f store.Folder, since, until time.Time, seen map[string]bool) (int, error) {
	if seen == nil {
		seen = map[string]bool{} // imported messages received at until
	}
	link, n := "", 0
	for {
		page, err := h.graph.ListReceived(ctx, mb.GraphRef(), f.ID, link, since, until)
		if err != nil {
			return n, err
		}
		for i := range page.Messages {
			m := &page.Messages[i]
			if seen[m.ID] {
				continue
			}
			if _, err := h.importer.importMessage(ctx, mb, m, "backfill list", time.Time{}); err != nil {
				return n, err
			}
			n++
		}
		firstSyncOf(ctx).page(ctx, len(page.Messages)) // progress hook
		if page.NextLink == "" || len(page.Messages) == 0 {
			return n, nil
		}
		first, last := page.Messages[0].ReceivedDateTime, page.Messages[len(page.Messages)-1].ReceivedDateTime
		if first == nil || last == nil || first.Equal(*last) {
			for _, m := range page.Messages {
				seen[m.ID] = true
			}
			link = page.NextLink
			continue
		}
		if !last.Equal(until) {
			seen = map[string]bool{}
		}
		until, link = *last, ""
		for _, m := range page.Messages {
			if m.ReceivedDateTime != nil && m.ReceivedDateTime.Equal(until) {
				seen[m.ID] = true
			}
		}
	}
}

// roundOrder watches whether a first delta round came newest first, as it
// was asked to, and remembers its oldest instant and the messages received
// then. Graph documents the order only by implication ("If you don't include
// an $orderby expression, the return order isn't guaranteed"), so an
// unordered round is met by listing the whole window.
type roundOrder struct {
	broken bool
	oldest time.Time
	atOld  map[string]bool
}

func (o *roundOrder) see(m *model.Message) {
	if o.broken {
		return
	}
	if m.ReceivedDateTime == nil {
		o.broken = true
		return
	}
	t := *m.ReceivedDateTime
	switch {
	case o.atOld == nil || t.Before(o.oldest):
		o.oldest, o.atOld = t, map[string]bool{m.ID: true}
	case t.Equal(o.oldest):
		o.atOld[m.ID] = true
	default:
		o.broken = true // newer after older: not newest first
	}
}

// rest returns the upper bound and the already imported messages at it of
// what a capped round left to list; zero when the round was not ordered.
func (o *roundOrder) rest() (time.Time, map[string]bool) {
	if o.broken || o.atOld == nil {
		return time.Time{}, nil
	}
	return o.oldest, o.atOld
}
