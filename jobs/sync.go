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
		return h.mailboxes.graphFailure(ctx, mb, err, log)
	}
	settings, err := h.st.Settings(ctx)
	if err != nil {
		return err
	}
	since := h.now().AddDate(0, 0, -settings.BackfillDays)
	total := 0
	for _, f := range considered(tree) {
		n, err := h.syncFolder(ctx, mb, f, since, log)
		total += n
		if err != nil {
			return h.mailboxes.graphFailure(ctx, mb, err, log)
		}
	}
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

// syncFolder runs one delta round on a folder and stores its delta link.
func (h *SyncHandler) syncFolder(ctx context.Context, mb store.Mailbox, f store.Folder, since time.Time, log *slog.Logger) (int, error) {
	link, n := f.DeltaLink, 0
	for {
		page, err := h.graph.Delta(ctx, mb.Address, f.ID, link, since)
		if errors.Is(err, grapherr.ErrSyncStateLost) && link != "" {
			log.Warn("delta sync state lost; starting a fresh round", "folder", f.DisplayName)
			if err := h.st.SetDeltaLink(ctx, mb.EmployeeID, f.ID, ""); err != nil {
				return n, err
			}
			link = ""
			continue
		}
		if err != nil {
			return n, err
		}
		for i := range page.Messages {
			if _, err := h.importer.importMessage(ctx, mb, &page.Messages[i], "delta"); err != nil {
				return n, err
			}
			n++
		}
		if page.DeltaLink != "" {
			return n, h.st.SetDeltaLink(ctx, mb.EmployeeID, f.ID, page.DeltaLink)
		}
		link = page.NextLink
	}
}
