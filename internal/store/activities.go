package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/jmoiron/sqlx"
)

// maxBodyText bounds the body text stored with an activity.
const maxBodyText = 100_000

// MessageRecord is a processed message: what Graph said, where it lies and
// what the matcher decided.
type MessageRecord struct {
	EmployeeID int64
	Message    model.Message
	Folder     []model.FolderRef
	Decision   match.Decision
	Note       string // how the message came (notification, delta, …)
	// Cause, when set, is the master-data or settings change that made this
	// a retroactive decision (DESIGN §11); the history records it.
	Cause string
	// NotifiedAt is when the change notification of the message came (zero
	// when it came otherwise); the hourly latency chart of /ops counts
	// from it.
	NotifiedAt time.Time
}

// RecordResult says what RecordMessage did.
type RecordResult struct {
	// Outcome is imported, duplicate (the e-mail was already an activity,
	// from another mailbox) or ignored.
	Outcome    string
	ActivityID int64 // 0 when ignored
	// NewActivity is true when this call created the activity.
	NewActivity bool
	// MovedAway is true when the message, imported before, was found in a
	// folder whose mail is never imported (moved to Deleted Items, Archive…):
	// the decision was kept and the move recorded in its history (Outcome
	// and ActivityID are the kept ones).
	MovedAway bool
}

// RecordMessage stores a decision, and for an imported message its activity
// with the mailbox link, in one transaction. It is idempotent and safe to
// run concurrently: one e-mail (same internetMessageId, or without one the
// same mailbox and immutable ID) is one activity however often and from
// however many mailboxes it arrives.
func (s *Store) RecordMessage(ctx context.Context, r MessageRecord) (RecordResult, error) {
	var res RecordResult
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		prev, err := s.decisionState(ctx, tx, r.EmployeeID, r.Message.ID)
		if err != nil {
			return err
		}
		if movedAway(prev, r) {
			res = RecordResult{Outcome: prev.Outcome, ActivityID: *prev.ActivityID, MovedAway: true}
			return s.recordMoveAway(ctx, tx, *prev, r)
		}
		res = RecordResult{Outcome: r.Decision.Outcome}
		if r.Decision.Imported() {
			id, created, err := s.upsertActivity(ctx, tx, r)
			if err != nil {
				return err
			}
			newLink, linked, err := s.linkMailbox(ctx, tx, id, r)
			if err != nil {
				return err
			}
			res.ActivityID, res.NewActivity = id, created
			if !created && linked {
				res.Outcome = match.OutcomeDuplicate // first seen in another mailbox
			}
			switch {
			case created:
				err = s.appendChange(ctx, tx, ChangeActivityCreated, id, nil)
			case newLink:
				err = s.appendChange(ctx, tx, ChangeActivityUpdated, id, nil) // a further mailbox
			}
			if err != nil {
				return err
			}
		}
		if err := s.upsertDecision(ctx, tx, r, res); err != nil {
			return err
		}
		next := decisionState{Outcome: res.Outcome, Reason: r.Decision.Reason, CustomerID: r.Decision.CustomerID, Folder: FolderString(r.Folder)}
		if res.ActivityID != 0 {
			next.ActivityID = &res.ActivityID
		}
		if kind, dedupe, detail, ok := historyEvent(prev, next, r); ok {
			added, err := s.addEvent(ctx, tx, r.EmployeeID, r.Message.ID, kind, dedupe, detail)
			if err != nil {
				return fmt.Errorf("recording the decision's history: %w", err)
			}
			// Counted per hour once, as the history records it once (not
			// for a concurrent redelivery), and only a new verdict.
			if added && (prev == nil || prev.Outcome != next.Outcome || prev.Reason != next.Reason) {
				if err := s.countDecision(ctx, tx, r.EmployeeID, s.now(), next.Outcome, next.Reason, r.NotifiedAt); err != nil {
					return err
				}
			}
		}
		if prev == nil && r.Decision.Reason == match.ReasonExcludedFolder {
			return s.recordMovedUnderNewID(ctx, tx, r)
		}
		return nil
	})
	if err != nil {
		return RecordResult{}, fmt.Errorf("store: record message %s: %w", r.Message.ID, err)
	}
	return res, nil
}

// DedupeKey identifies an e-mail across mailboxes.
func DedupeKey(employeeID int64, m model.Message) string {
	if id := strings.TrimSpace(m.InternetMessageID); id != "" {
		return "imid:" + id
	}
	return fmt.Sprintf("graph:%d:%s", employeeID, m.ID)
}

// upsertActivity inserts the e-mail's activity, or finds the one stored
// before. The insert gives way on any unique constraint, not only on
// dedupe_key: internet_message_id is unique too (DESIGN §3), and when two
// mailboxes store the same e-mail at once PostgreSQL may detect the clash on
// that index first, which an ON CONFLICT (dedupe_key) would report as an
// error. Equal internet_message_ids mean equal dedupe keys, so the look-up
// by dedupe_key finds the winner either way.
func (s *Store) upsertActivity(ctx context.Context, tx *sqlx.Tx, r MessageRecord) (id int64, created bool, err error) {
	m, d := r.Message, r.Decision
	key := DedupeKey(r.EmployeeID, m)
	var imid *string
	if v := strings.TrimSpace(m.InternetMessageID); v != "" {
		imid = &v
	}
	body := ""
	if m.Body != nil {
		body = truncateUTF8(m.Body.Content, maxBodyText)
	}
	err = tx.GetContext(ctx, &id, s.q(`
		INSERT INTO activities (customer_id, contact_id, lead_id, opportunity_id, direction, subject, body_text,
			sent_at, received_at, internet_message_id, dedupe_key, conversation_id, rule, matched_address, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING RETURNING id`),
		d.CustomerID, d.ContactID, d.LeadID, d.OpportunityID, d.Direction, m.Subject, body,
		utcPtr(m.SentDateTime), utcPtr(m.ReceivedDateTime), imid, key, m.ConversationID, d.Rule, d.MatchedAddress, s.now())
	if err == nil {
		return id, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("inserting activity: %w", err)
	}
	if err := tx.GetContext(ctx, &id, s.q(`SELECT id FROM activities WHERE dedupe_key = ?`), key); err != nil {
		return 0, false, fmt.Errorf("finding activity: %w", err)
	}
	return id, false, nil
}

// linkMailbox records that the e-mail sits in this mailbox. newLink is
// false when the link was recorded before (the same message processed
// again); linked is true when the new link makes the e-mail a duplicate:
// it was stored from another mailbox before.
func (s *Store) linkMailbox(ctx context.Context, tx *sqlx.Tx, activityID int64, r MessageRecord) (newLink, linked bool, err error) {
	res, err := tx.ExecContext(ctx, s.q(`
		INSERT INTO activity_mailboxes (activity_id, employee_id, graph_message_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`), activityID, r.EmployeeID, r.Message.ID, s.now())
	if err != nil {
		return false, false, fmt.Errorf("linking mailbox: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, false, fmt.Errorf("linking mailbox: %w", err)
	}
	if n == 1 {
		// The same mailbox may hold the e-mail under another ID (a copy, or a
		// move that changed the ID); only another mailbox makes it a duplicate.
		var others int
		err := tx.GetContext(ctx, &others, s.q(`SELECT COUNT(*) FROM activity_mailboxes WHERE activity_id = ? AND employee_id <> ?`), activityID, r.EmployeeID)
		if err != nil {
			return false, false, fmt.Errorf("linking mailbox: %w", err)
		}
		return true, others > 0, nil
	}
	return false, false, nil
}

// decisionState reads the stored decision about a message; nil when none.
func (s *Store) decisionState(ctx context.Context, tx *sqlx.Tx, employeeID int64, messageID string) (*decisionState, error) {
	var st decisionState
	err := tx.GetContext(ctx, &st, s.q(`SELECT outcome, reason, rule, customer_id, folder, activity_id FROM decisions
		WHERE employee_id = ? AND graph_message_id = ?`), employeeID, messageID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the decision: %w", err)
	}
	return &st, nil
}

func (s *Store) upsertDecision(ctx context.Context, tx *sqlx.Tx, r MessageRecord, res RecordResult) error {
	d := r.Decision
	cands, _ := json.Marshal(nonNil(d.Candidates))
	var raw *string // NULL: unknown (excluded folder, draft: never decided again)
	if d.RawCandidates != nil {
		b, _ := json.Marshal(d.RawCandidates)
		raw = new(string)
		*raw = string(b)
	}
	var activityID *int64
	if res.ActivityID != 0 {
		activityID = &res.ActivityID
	}
	_, err := tx.ExecContext(ctx, s.q(`
		INSERT INTO decisions (employee_id, graph_message_id, internet_message_id, folder, subject, direction, outcome, reason,
			rule, candidates, raw_candidates, matched_address, customer_id, contact_id, lead_id, opportunity_id, ambiguous, activity_id, note, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (employee_id, graph_message_id) DO UPDATE SET
			internet_message_id = excluded.internet_message_id, folder = excluded.folder, subject = excluded.subject,
			direction = excluded.direction, outcome = excluded.outcome, reason = excluded.reason, rule = excluded.rule,
			candidates = excluded.candidates, raw_candidates = excluded.raw_candidates, matched_address = excluded.matched_address, customer_id = excluded.customer_id,
			contact_id = excluded.contact_id, lead_id = excluded.lead_id, opportunity_id = excluded.opportunity_id,
			ambiguous = excluded.ambiguous, activity_id = excluded.activity_id, note = excluded.note, created_at = excluded.created_at`),
		r.EmployeeID, r.Message.ID, r.Message.InternetMessageID, FolderString(r.Folder), r.Message.Subject, d.Direction,
		res.Outcome, d.Reason, d.Rule, string(cands), raw, d.MatchedAddress, d.CustomerID, d.ContactID, d.LeadID, d.OpportunityID,
		d.Ambiguous, activityID, r.Note, s.now())
	if err != nil {
		return fmt.Errorf("storing decision: %w", err)
	}
	return nil
}

// FolderString writes a folder path for people: "Inbox/Kunden/Müller".
func FolderString(path []model.FolderRef) string {
	parts := make([]string, len(path))
	for i, f := range path {
		parts[i] = f.DisplayName
		if parts[i] == "" {
			parts[i] = f.WellKnownName
		}
	}
	return strings.Join(parts, "/")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
