package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// FeedActivity is an activity as the CRM's API shows it (DESIGN §11).
type FeedActivity struct {
	ID                int64          `db:"id"`
	CustomerID        int64          `db:"customer_id"`
	ContactID         *int64         `db:"contact_id"`
	LeadID            *int64         `db:"lead_id"`
	OpportunityID     *int64         `db:"opportunity_id"`
	Direction         string         `db:"direction"`
	Subject           string         `db:"subject"`
	BodyText          string         `db:"body_text"`
	SentAt            *time.Time     `db:"sent_at"`
	ReceivedAt        *time.Time     `db:"received_at"`
	InternetMessageID *string        `db:"internet_message_id"`
	ConversationID    string         `db:"conversation_id"`
	Rule              string         `db:"rule"`
	CreatedAt         time.Time      `db:"created_at"`
	Mailboxes         []FeedMailbox  `db:"-"`
	Documents         []FeedDocument `db:"-"`
}

// FeedMailbox is a mailbox an activity's e-mail sits in.
type FeedMailbox struct {
	ActivityID     int64  `db:"activity_id"`
	EmployeeID     int64  `db:"employee_id"`
	GraphMessageID string `db:"graph_message_id"`
}

// FeedDocument is a file filed with an activity.
type FeedDocument struct {
	ActivityID int64  `db:"activity_id"`
	ID         int64  `db:"id"`
	Path       string `db:"path"`
	Name       string `db:"name"`
	Size       int64  `db:"size"`
	SHA256     string `db:"sha256"`
}

const feedColumns = `id, customer_id, contact_id, lead_id, opportunity_id, direction, subject, body_text,
	sent_at, received_at, internet_message_id, conversation_id, rule, created_at`

// Feed returns the activities changed after the cursor and the cursor to
// go on from (after itself when nothing is new). It reads at most limit
// rows of the change log; an activity changed several times among them is
// returned once, at the place of its last change, in its current state.
func (s *Store) Feed(ctx context.Context, after Cursor, limit int) ([]FeedActivity, Cursor, error) {
	changes, err := s.Changes(ctx, after, limit)
	if err != nil {
		return nil, after, err
	}
	if len(changes) == 0 {
		return []FeedActivity{}, after, nil
	}
	last := make(map[int64]int, len(changes))
	for i, c := range changes {
		last[c.ActivityID] = i
	}
	ids := make([]int64, 0, len(last))
	for i, c := range changes {
		if last[c.ActivityID] == i {
			ids = append(ids, c.ActivityID)
		}
	}
	items, err := s.feedActivities(ctx, ids)
	if err != nil {
		return nil, after, err
	}
	return items, changes[len(changes)-1].Cursor, nil
}

// FeedActivityByID returns one activity; ErrNotFound when there is none.
func (s *Store) FeedActivityByID(ctx context.Context, id int64) (FeedActivity, error) {
	items, err := s.feedActivities(ctx, []int64{id})
	if err != nil {
		return FeedActivity{}, err
	}
	if len(items) == 0 {
		return FeedActivity{}, fmt.Errorf("store: activity %d: %w", id, ErrNotFound)
	}
	return items[0], nil
}

// CustomerActivities returns a customer's activities, newest first, after
// the page that ended with beforeID (0: the newest). ErrNotFound when the
// customer does not exist.
func (s *Store) CustomerActivities(ctx context.Context, customerID, beforeID int64, limit int) ([]FeedActivity, error) {
	limit = min(max(limit, 1), maxChangesPage)
	var exists int
	err := s.db.GetContext(ctx, &exists, s.q(`SELECT 1 FROM customers WHERE id = ?`), customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: customer %d: %w", customerID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: customer %d: %w", customerID, err)
	}
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	var ids []int64
	err = s.db.SelectContext(ctx, &ids, s.q(`SELECT id FROM activities WHERE customer_id = ? AND id < ? ORDER BY id DESC LIMIT ?`),
		customerID, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: activities of customer %d: %w", customerID, err)
	}
	return s.feedActivities(ctx, ids)
}

// feedActivities loads activities with their mailboxes and documents, in
// the order of ids; IDs without an activity are left out.
func (s *Store) feedActivities(ctx context.Context, ids []int64) ([]FeedActivity, error) {
	out := make([]FeedActivity, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []FeedActivity
	if err := selectIn(ctx, s, &rows, `SELECT `+feedColumns+` FROM activities WHERE id IN (?)`, ids); err != nil {
		return nil, fmt.Errorf("store: feed activities: %w", err)
	}
	var mailboxes []FeedMailbox
	if err := selectIn(ctx, s, &mailboxes, `SELECT activity_id, employee_id, graph_message_id FROM activity_mailboxes
		WHERE activity_id IN (?) ORDER BY activity_id, created_at, employee_id, graph_message_id`, ids); err != nil {
		return nil, fmt.Errorf("store: feed mailboxes: %w", err)
	}
	var docs []FeedDocument
	if err := selectIn(ctx, s, &docs, `SELECT activity_id, id, path, name, size, sha256 FROM documents
		WHERE activity_id IN (?) ORDER BY activity_id, id`, ids); err != nil {
		return nil, fmt.Errorf("store: feed documents: %w", err)
	}
	byID := make(map[int64]*FeedActivity, len(rows))
	for i := range rows {
		rows[i].Mailboxes, rows[i].Documents = []FeedMailbox{}, []FeedDocument{}
		rows[i].SentAt, rows[i].ReceivedAt, rows[i].CreatedAt = utcPtr(rows[i].SentAt), utcPtr(rows[i].ReceivedAt), rows[i].CreatedAt.UTC()
		byID[rows[i].ID] = &rows[i]
	}
	for _, m := range mailboxes {
		a := byID[m.ActivityID]
		a.Mailboxes = append(a.Mailboxes, m)
	}
	for _, d := range docs {
		a := byID[d.ActivityID]
		a.Documents = append(a.Documents, d)
	}
	for _, id := range ids {
		if a, ok := byID[id]; ok {
			out = append(out, *a)
		}
	}
	return out, nil
}

// selectIn runs a query with one "IN (?)" list of IDs and appends the rows
// to dest. PostgreSQL gets the IDs as one array parameter (= ANY), which
// costs far less than a thousand bound parameters; SQLite gets them in
// chunks of inChunk, below its limit on bound parameters.
func selectIn[T any](ctx context.Context, s *Store, dest *[]T, query string, ids []int64) error {
	if s.dialect == Postgres {
		q := strings.Replace(query, "IN (?)", "= ANY(?)", 1)
		return s.db.SelectContext(ctx, dest, s.q(q), ids)
	}
	for part := range slices.Chunk(ids, inChunk) {
		q, args, err := sqlx.In(query, part)
		if err != nil {
			return err
		}
		var rows []T
		if err := s.db.SelectContext(ctx, &rows, s.q(q), args...); err != nil {
			return err
		}
		*dest = append(*dest, rows...)
	}
	return nil
}
