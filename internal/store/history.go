package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/dedesales/exchange-connector/internal/match"
)

// Kinds of decision events: the history of what happened to a message.
const (
	// EventDecided: the message was decided for the first time.
	EventDecided = "decided"
	// EventRedecided: processed again with another outcome, reason or
	// customer (a draft that was sent, a message moved into a considered folder…).
	EventRedecided = "redecided"
	// EventMoved: processed again in another folder, with the same verdict.
	EventMoved = "moved"
	// EventRetroactive: decided again after a change of master data or
	// settings (retroactive matching); the detail names the change.
	EventRetroactive = "retroactive"
	// EventFileFiled: an attachment was filed into the customer's documents.
	EventFileFiled = "file_filed"
	// EventFileMoved: a filed attachment was moved into its mail's folder.
	EventFileMoved = "file_moved"
	// EventNote: anything else worth knowing (an attachment left out, filing
	// given up), as text.
	EventNote = "note"
)

// DecisionEvent is one entry of a decision's history.
type DecisionEvent struct {
	ID             int64   `db:"id" json:"-"`
	EmployeeID     int64   `db:"employee_id" json:"-"`
	GraphMessageID string  `db:"graph_message_id" json:"-"`
	At             anyTime `db:"at" json:"at"`
	Kind           string  `db:"kind" json:"kind"`
	Dedupe         string  `db:"dedupe" json:"-"`
	// Detail is the event's JSON object (see EventDetail).
	Detail RawJSON `db:"detail" json:"detail"`
}

// RawJSON is a JSON text stored in a TEXT column.
type RawJSON []byte

// Scan reads the column (text on both dialects).
func (r *RawJSON) Scan(v any) error {
	switch x := v.(type) {
	case string:
		*r = RawJSON(x)
	case []byte:
		*r = append(RawJSON(nil), x...)
	case nil:
		*r = nil
	default:
		return fmt.Errorf("cannot scan %T into JSON text", v)
	}
	return nil
}

// MarshalJSON writes the text as it is ("null" when empty).
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// EventDetail is what the events record; each kind uses some fields.
type EventDetail struct {
	// The verdict (decided, redecided, retroactive).
	Outcome    string `json:"outcome,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Rule       string `json:"rule,omitempty"`
	CustomerID *int64 `json:"customer_id,omitempty"`
	ActivityID *int64 `json:"activity_id,omitempty"`
	Folder     string `json:"folder,omitempty"`
	// Via is how the message came (notification, delta, rematch).
	Via string `json:"via,omitempty"`
	// The verdict before (redecided, moved, retroactive).
	FromOutcome string `json:"from_outcome,omitempty"`
	FromReason  string `json:"from_reason,omitempty"`
	FromFolder  string `json:"from_folder,omitempty"`
	// Cause is the change that made a retroactive decision (retroactive).
	Cause string `json:"cause,omitempty"`
	// A filed file (file_filed: Path, Name, Size; file_moved: FromPath, Path).
	Path     string `json:"path,omitempty"`
	FromPath string `json:"from_path,omitempty"`
	Name     string `json:"name,omitempty"`
	Size     int64  `json:"size,omitempty"`
	// Text is a note (note).
	Text string `json:"text,omitempty"`
}

// ParsedDetail decodes the event's detail.
func (e DecisionEvent) ParsedDetail() EventDetail {
	var d EventDetail
	_ = json.Unmarshal(e.Detail, &d) // written by this package; a bad row shows as empty
	return d
}

// Notes returns the texts of the decision's note events (attachments left
// out or renamed, filing given up), joined by "; ".
func (d Decision) Notes() string {
	var out []string
	for _, e := range d.History {
		if e.Kind == EventNote {
			out = append(out, e.ParsedDetail().Text)
		}
	}
	return strings.Join(out, "; ")
}

// AddDecisionEvent appends an event to the history of a message's decision,
// once: the same kind with the same dedupe token is recorded only the first
// time (a retried task writes nothing new).
func (s *Store) AddDecisionEvent(ctx context.Context, employeeID int64, messageID, kind, dedupe string, detail EventDetail) error {
	if _, err := s.addEvent(ctx, s.db, employeeID, messageID, kind, dedupe, detail); err != nil {
		return fmt.Errorf("store: decision event: %w", err)
	}
	return nil
}

// AddDecisionNote records a note in the history of the decision about a
// message (e.g. an attachment left out because of its size), once however
// often it is added.
func (s *Store) AddDecisionNote(ctx context.Context, employeeID int64, messageID, note string) error {
	return s.AddDecisionEvent(ctx, employeeID, messageID, EventNote, token(note), EventDetail{Text: note})
}

// added is false when the event was recorded before.
func (s *Store) addEvent(ctx context.Context, db sqlx.ExecerContext, employeeID int64, messageID, kind, dedupe string, detail EventDetail) (added bool, err error) {
	b, err := json.Marshal(detail)
	if err != nil {
		return false, err
	}
	res, err := db.ExecContext(ctx, s.q(`
		INSERT INTO decision_events (employee_id, graph_message_id, at, kind, dedupe, detail)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`), employeeID, messageID, s.now(), kind, dedupe, string(b))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// addActivityEvent appends an event to the history of the decision that
// created an activity (outcome imported; the mailboxes that found it later
// are duplicates).
func (s *Store) addActivityEvent(ctx context.Context, db sqlx.ExecerContext, activityID int64, kind, dedupe string, detail EventDetail) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, s.q(`
		INSERT INTO decision_events (employee_id, graph_message_id, at, kind, dedupe, detail)
		SELECT employee_id, graph_message_id, ?, ?, ?, ? FROM decisions WHERE activity_id = ? AND outcome = 'imported'
		ON CONFLICT DO NOTHING`), s.now(), kind, dedupe, string(b), activityID)
	return err
}

// DecisionHistory returns the events of a message's decision, oldest first.
func (s *Store) DecisionHistory(ctx context.Context, employeeID int64, messageID string) ([]DecisionEvent, error) {
	var out []DecisionEvent
	err := s.db.SelectContext(ctx, &out, s.q(`
		SELECT id, employee_id, graph_message_id, at, kind, dedupe, detail FROM decision_events
		WHERE employee_id = ? AND graph_message_id = ? ORDER BY id`), employeeID, messageID)
	if err != nil {
		return nil, fmt.Errorf("store: decision history of %s: %w", messageID, err)
	}
	return out, nil
}

// withHistory loads the history of each decision.
func (s *Store) withHistory(ctx context.Context, ds []Decision) error {
	for i := range ds {
		h, err := s.DecisionHistory(ctx, ds[i].EmployeeID, ds[i].GraphMessageID)
		if err != nil {
			return err
		}
		ds[i].History = h
	}
	return nil
}

// decisionState is what the history compares between two decisions of the
// same message.
type decisionState struct {
	Outcome    string `db:"outcome"`
	Reason     string `db:"reason"`
	Rule       string `db:"rule"`
	CustomerID *int64 `db:"customer_id"`
	Folder     string `db:"folder"`
	ActivityID *int64 `db:"activity_id"`
}

func (d decisionState) key() string {
	c := ""
	if d.CustomerID != nil {
		c = fmt.Sprint(*d.CustomerID)
	}
	return strings.Join([]string{d.Outcome, d.Reason, c, d.Folder}, "\x00")
}

// historyEvent says which event (if any) recording r after prev means.
// prev is nil for the first decision. Reprocessing with the same verdict in
// the same folder (a retry, a redelivery, a sweep) is no event; the dedupe
// token covers the change, so that concurrent or retried writers of the same
// change record it once.
func historyEvent(prev *decisionState, next decisionState, r MessageRecord) (kind, dedupe string, detail EventDetail, ok bool) {
	d := r.Decision
	detail = EventDetail{Outcome: next.Outcome, Reason: next.Reason, Rule: d.Rule, CustomerID: next.CustomerID,
		ActivityID: next.ActivityID, Folder: next.Folder, Via: r.Note}
	if prev != nil {
		detail.FromOutcome, detail.FromReason = prev.Outcome, prev.Reason
	}
	switch {
	case r.Cause != "":
		detail.Cause = r.Cause
		return EventRetroactive, token(r.Cause), detail, true
	case prev == nil:
		return EventDecided, token(next.key()), detail, true
	case prev.key() == next.key():
		return "", "", EventDetail{}, false
	}
	change := token(prev.key() + "\x01" + next.key())
	if prev.Outcome == next.Outcome && prev.Reason == next.Reason && sameID(prev.CustomerID, next.CustomerID) {
		detail.FromFolder = prev.Folder
		return EventMoved, change, detail, true
	}
	return EventRedecided, change, detail, true
}

// movedAway reports whether recording r after prev is a mail that was
// imported (its decision has an activity) and now lies in a folder whose
// mail is never imported: the user moved it to Deleted Items, Archive, Junk…
// With immutable IDs Graph notifies such a move as "created" under the same
// ID (graph.md §9 item 2; learn.microsoft.com/graph/outlook-immutable-id:
// "immutable ID will NOT change if the item is moved to a different folder
// in the mailbox"). The activity is in the CRM already and stays there, so
// the decision stays as it was and the move goes into its history (issue 13,
// item 4); rewriting it to excluded_folder would leave an activity that no
// decision explains. A retroactive decision (Cause) is never a move.
func movedAway(prev *decisionState, r MessageRecord) bool {
	return prev != nil && prev.ActivityID != nil && r.Cause == "" &&
		r.Decision.Reason == match.ReasonExcludedFolder && prev.Reason != match.ReasonExcludedFolder
}

// recordMoveAway keeps an imported decision whose mail moved into an
// excluded folder: only its folder changes, and the history gets a "moved"
// event with the kept verdict (once per move: a redelivered notification
// finds the folder unchanged and records nothing).
func (s *Store) recordMoveAway(ctx context.Context, tx *sqlx.Tx, prev decisionState, r MessageRecord) error {
	folder := FolderString(r.Folder)
	if folder == prev.Folder {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE decisions SET folder = ? WHERE employee_id = ? AND graph_message_id = ?`),
		folder, r.EmployeeID, r.Message.ID); err != nil {
		return fmt.Errorf("recording the move: %w", err)
	}
	next := prev
	next.Folder = folder
	detail := EventDetail{Outcome: prev.Outcome, Reason: prev.Reason, Rule: prev.Rule, CustomerID: prev.CustomerID,
		ActivityID: prev.ActivityID, Folder: folder, FromFolder: prev.Folder, Via: r.Note}
	if _, err := s.addEvent(ctx, tx, r.EmployeeID, r.Message.ID, EventMoved, token(prev.key()+"\x01"+next.key()), detail); err != nil {
		return fmt.Errorf("recording the decision's history: %w", err)
	}
	return nil
}

// recordMovedUnderNewID handles a move that changed the message's ID although
// immutable IDs were asked for (reported for drag and drop in Outlook
// desktop, microsoft-graph-docs#21247; and the ID changes on a move to an
// archive mailbox, outlook-immutable-id.md): a new ID in an excluded folder
// with the internetMessageId of a mail this mailbox imported under another
// ID. The new ID gets its own (ignored) decision as any message there; the
// imported decision keeps its verdict and records the move in its history,
// as recordMoveAway does for a move under the same ID.
func (s *Store) recordMovedUnderNewID(ctx context.Context, tx *sqlx.Tx, r MessageRecord) error {
	imid := strings.TrimSpace(r.Message.InternetMessageID)
	if imid == "" {
		return nil
	}
	var rows []struct {
		decisionState
		GraphMessageID string `db:"graph_message_id"`
	}
	err := tx.SelectContext(ctx, &rows, s.q(`SELECT graph_message_id, outcome, reason, rule, customer_id, folder, activity_id
		FROM decisions WHERE employee_id = ? AND internet_message_id = ? AND graph_message_id <> ? AND activity_id IS NOT NULL`),
		r.EmployeeID, imid, r.Message.ID)
	if err != nil {
		return fmt.Errorf("finding the imported copy: %w", err)
	}
	for _, row := range rows {
		moved := r
		moved.Message.ID = row.GraphMessageID
		if err := s.recordMoveAway(ctx, tx, row.decisionState, moved); err != nil {
			return err
		}
	}
	return nil
}

func sameID(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

// token is a short fixed-size dedupe token for any text.
func token(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:12])
}
