package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/dedesales/exchange-connector/internal/store"
)

// Pacing of resync --wait: how often it reads the database, and how often a
// plain (non-terminal) output gets a line while no folder finishes.
var (
	waitPoll   = 500 * time.Millisecond
	printEvery = 5 * time.Second
)

// reportFirstSyncs is the most running first syncs connector report lists.
const reportFirstSyncs = 20

// isTerminal reports whether w is a terminal, where a progress bar redraws
// one line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// progressText is one line about a running (or finished) first sync:
// folders done of total and the one being read, messages so far, rate,
// estimated time left, last progress and last error.
func progressText(now time.Time, p store.FirstSync) string {
	e := p.Estimate(now)
	var b strings.Builder
	fmt.Fprintf(&b, "folders %d/%d", p.FoldersDone, p.FoldersTotal)
	if p.Folder != "" {
		fmt.Fprintf(&b, " (%s)", termSafe(shorten(p.Folder, 30)))
	}
	fmt.Fprintf(&b, ", %d messages", p.MessagesSeen)
	if e.Rate > 0 {
		fmt.Fprintf(&b, ", %.1f/s", e.Rate)
	}
	if p.FinishedAt == nil {
		fmt.Fprintf(&b, ", %s", leftText(e))
		if e.Stalled {
			fmt.Fprintf(&b, ", stalled: no progress for %s", e.Idle.Round(time.Second))
		}
	} else {
		fmt.Fprintf(&b, " in %s", e.Elapsed.Round(time.Second))
	}
	if p.LastError != "" && p.FinishedAt == nil {
		fmt.Fprintf(&b, ", last error: %s", termSafe(shorten(p.LastError, 80)))
	}
	return b.String()
}

// leftText writes the estimate of the time left.
func leftText(e store.FirstSyncEstimate) string {
	switch {
	case e.Left >= 0 && e.UpperBound:
		return "at most " + e.Left.Round(time.Second).String() + " left"
	case e.Left >= 0:
		return "about " + e.Left.Round(time.Second).String() + " left"
	case e.MessagesLeft >= 0 && e.UpperBound:
		return fmt.Sprintf("at most %d messages left", e.MessagesLeft)
	case e.MessagesLeft >= 0:
		return fmt.Sprintf("about %d messages left", e.MessagesLeft)
	default:
		return "time left unknown"
	}
}

// bar draws a progress bar of width cells for a fraction 0–1.
func bar(fraction float64, width int) string {
	n := min(max(int(fraction*float64(width)+0.5), 0), width)
	return "[" + strings.Repeat("#", n) + strings.Repeat("-", width-n) + "]"
}

// writeFirstSyncs lists the running first syncs for connector report.
func writeFirstSyncs(ctx context.Context, out io.Writer, st *store.Store, now time.Time) error {
	syncs, n, err := st.FirstSyncsInProgress(ctx, reportFirstSyncs)
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(out, "\nFirst syncs in progress: none")
		return nil
	}
	fmt.Fprintf(out, "\nFirst syncs in progress: %d (oldest first)\n", n)
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "MAILBOX\tSTARTED\tFOLDERS\tMESSAGES\tRATE\tLEFT\tLAST PROGRESS\tLAST ERROR")
	for _, p := range syncs {
		e := p.Estimate(now)
		rate, last, lastErr := "-", ago(now, p.UpdatedAt), "-"
		if e.Rate > 0 {
			rate = fmt.Sprintf("%.1f/s", e.Rate)
		}
		if e.Stalled {
			last = "stalled, " + last
		}
		if p.LastError != "" {
			lastErr = termSafe(shorten(p.LastError, 60))
		}
		fmt.Fprintf(w, "%s\t%s\t%d/%d\t%d\t%s\t%s\t%s\t%s\n", termSafe(p.Address), ago(now, p.StartedAt),
			p.FoldersDone, p.FoldersTotal, p.MessagesSeen, rate, leftText(e), last, lastErr)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if more := n - len(syncs); more > 0 {
		fmt.Fprintf(out, "  … and %d more\n", more)
	}
	return nil
}

// resyncWaiter follows a queued sync of one mailbox until it completes:
// on a terminal it redraws one line with a bar, elsewhere it writes a line
// when a folder finishes and every printEvery otherwise.
type resyncWaiter struct {
	st       *store.Store
	mb       store.Mailbox
	out      io.Writer
	tty      bool
	now      func() time.Time
	syncedAt *time.Time // the mailbox's last completed sync before this one
}

// wait returns when the mailbox has completed a sync after syncedAt, with
// an error when the mailbox stops being syncable, at the deadline (zero:
// none) or when ctx ends.
func (w *resyncWaiter) wait(ctx context.Context, deadline time.Time) error {
	var (
		lastLine    string
		lastFolders = -1
		lastPrint   time.Time
		drawn       bool
	)
	defer func() {
		if drawn {
			fmt.Fprintln(w.out)
		}
	}()
	fmt.Fprintf(w.out, "waiting for the sync of %s…\n", termSafe(w.mb.Address))
	ticker := time.NewTicker(waitPoll)
	defer ticker.Stop()
	for {
		mb, err := w.st.MailboxByEmployee(ctx, w.mb.EmployeeID)
		if err != nil {
			return err
		}
		p, err := w.st.FirstSyncOf(ctx, w.mb.EmployeeID)
		running := err == nil && p.FinishedAt == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := w.now()
		if mb.LastSyncAt != nil && (w.syncedAt == nil || mb.LastSyncAt.After(*w.syncedAt)) {
			if drawn {
				fmt.Fprintln(w.out)
				drawn = false
			}
			// A first sync finished since the previous completed sync was this one's.
			if err == nil && p.FinishedAt != nil && (w.syncedAt == nil || p.FinishedAt.After(*w.syncedAt)) {
				fmt.Fprintf(w.out, "%s: first sync done: %s\n", termSafe(w.mb.Address), progressText(now, p))
			} else {
				fmt.Fprintf(w.out, "%s: sync done\n", termSafe(w.mb.Address))
			}
			return nil
		}
		if !mb.Syncable() {
			return fmt.Errorf("%s is %s, its sync stopped: %s", w.mb.Address, mb.State(), mb.LastError)
		}
		if running {
			line := progressText(now, p)
			switch {
			case w.tty:
				if line != lastLine {
					fmt.Fprintf(w.out, "\r%s %3d%% %s\x1b[K", bar(p.Estimate(now).Fraction, 24), int(p.Estimate(now).Fraction*100), line)
					drawn = true
				}
			case p.FoldersDone != lastFolders || (line != lastLine && now.Sub(lastPrint) >= printEvery):
				fmt.Fprintf(w.out, "%s: %s\n", termSafe(w.mb.Address), line)
				lastPrint, lastFolders = now, p.FoldersDone
			}
			lastLine = line
		}
		if !deadline.IsZero() && now.After(deadline) {
			return fmt.Errorf("the sync of %s has not completed after the --timeout", w.mb.Address)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}
