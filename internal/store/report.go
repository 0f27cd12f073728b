package store

import (
	"context"
	"fmt"
	"time"
)

// Count is a label and a number, for reports.
type Count struct {
	Label string `db:"label" json:"label"`
	N     int    `db:"n" json:"n"`
}

// ActivitiesPerCustomer counts activities by customer, most first.
func (s *Store) ActivitiesPerCustomer(ctx context.Context) ([]Count, error) {
	var out []Count
	err := s.db.SelectContext(ctx, &out, `
		SELECT c.number || ' ' || c.name AS label, COUNT(*) AS n
		FROM activities a JOIN customers c ON c.id = a.customer_id
		GROUP BY c.number, c.name ORDER BY n DESC, label`)
	if err != nil {
		return nil, fmt.Errorf("store: activities per customer: %w", err)
	}
	return out, nil
}

// DecisionsByReason counts decisions by outcome and reason.
func (s *Store) DecisionsByReason(ctx context.Context) ([]Count, error) {
	var out []Count
	err := s.db.SelectContext(ctx, &out, `
		SELECT outcome || '/' || reason AS label, COUNT(*) AS n FROM decisions
		GROUP BY outcome, reason ORDER BY n DESC, label`)
	if err != nil {
		return nil, fmt.Errorf("store: decisions by reason: %w", err)
	}
	return out, nil
}

// ActivityCount is the number of activities; LinkCount the number of
// mailbox links behind them.
func (s *Store) ActivityCount(ctx context.Context) (activities, links int, err error) {
	if err = s.db.GetContext(ctx, &activities, `SELECT COUNT(*) FROM activities`); err == nil {
		err = s.db.GetContext(ctx, &links, `SELECT COUNT(*) FROM activity_mailboxes`)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: activity count: %w", err)
	}
	return activities, links, nil
}

// Decision is a stored decision (the answer to "why is this mail (not) in the CRM?").
type Decision struct {
	ID                int64  `db:"id" json:"id"`
	EmployeeID        int64  `db:"employee_id" json:"employee_id"`
	GraphMessageID    string `db:"graph_message_id" json:"graph_message_id"`
	InternetMessageID string `db:"internet_message_id" json:"internet_message_id"`
	Folder            string `db:"folder" json:"folder"`
	Subject           string `db:"subject" json:"subject"`
	Direction         string `db:"direction" json:"direction"`
	Outcome           string `db:"outcome" json:"outcome"`
	Reason            string `db:"reason" json:"reason"`
	Rule              string `db:"rule" json:"rule"`
	Candidates        string `db:"candidates" json:"candidates"`
	// RawCandidates (JSON) are the candidates before the drops of rule 3;
	// nil when not recorded (see match.Decision.RawCandidates).
	RawCandidates  *string `db:"raw_candidates" json:"raw_candidates"`
	MatchedAddress string  `db:"matched_address" json:"matched_address"`
	CustomerID     *int64  `db:"customer_id" json:"customer_id"`
	ContactID      *int64  `db:"contact_id" json:"contact_id"`
	LeadID         *int64  `db:"lead_id" json:"lead_id"`
	OpportunityID  *int64  `db:"opportunity_id" json:"opportunity_id"`
	Ambiguous      bool    `db:"ambiguous" json:"ambiguous"`
	ActivityID     *int64  `db:"activity_id" json:"activity_id"`
	Note           string  `db:"note" json:"note"`
	CreatedAt      anyTime `db:"created_at" json:"created_at"`
	// History is what happened to the message, oldest first (loaded by
	// DecisionsFor and DecisionByID).
	History []DecisionEvent `db:"-" json:"history"`
}

// DecisionsFor finds decisions by Graph message ID or internetMessageId.
func (s *Store) DecisionsFor(ctx context.Context, id string) ([]Decision, error) {
	var out []Decision
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT * FROM decisions WHERE graph_message_id = ? OR internet_message_id = ? ORDER BY id`), id, id)
	if err != nil {
		return nil, fmt.Errorf("store: decisions for %s: %w", id, err)
	}
	if err := s.withHistory(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ActivityTimes maps each activity's subject to when it was stored; the
// load measurements compute notification-to-activity latency from it.
func (s *Store) ActivityTimes(ctx context.Context) (map[string]time.Time, error) {
	var rows []struct {
		Subject   string  `db:"subject"`
		CreatedAt anyTime `db:"created_at"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT subject, created_at FROM activities`); err != nil {
		return nil, fmt.Errorf("store: activity times: %w", err)
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.Subject] = r.CreatedAt.Time
	}
	return out, nil
}

// RecentMailTimes returns when the last n e-mails imported from a mailbox
// were received, newest first (the rhythm of the silent-mailbox check).
func (s *Store) RecentMailTimes(ctx context.Context, employeeID int64, n int) ([]time.Time, error) {
	var out []time.Time
	err := s.db.SelectContext(ctx, &out, s.q(`
		SELECT a.received_at FROM activity_mailboxes am JOIN activities a ON a.id = am.activity_id
		WHERE am.employee_id = ? AND a.received_at IS NOT NULL
		ORDER BY a.received_at DESC LIMIT ?`), employeeID, n)
	if err != nil {
		return nil, fmt.Errorf("store: recent mail of employee %d: %w", employeeID, err)
	}
	return out, nil
}

// DocumentCount is the number of filed attachments and their total size.
func (s *Store) DocumentCount(ctx context.Context) (n int, bytes int64, err error) {
	var row struct {
		N     int   `db:"n"`
		Bytes int64 `db:"bytes"`
	}
	if err := s.db.GetContext(ctx, &row, `SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM documents`); err != nil {
		return 0, 0, fmt.Errorf("store: document count: %w", err)
	}
	return row.N, row.Bytes, nil
}
