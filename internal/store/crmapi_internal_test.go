package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// A foreign-key violation from either database — a concurrent delete
// between the checks and the write — is a conflict naming the field.
func TestForeignKeyConflict(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("writing contacts: %w", &pgconn.PgError{Code: "23503", Message: "insert or update on table \"contacts\" violates foreign key constraint"}),
		errors.New("writing contacts: constraint failed: FOREIGN KEY constraint failed (787)"),
	} {
		var c *ConflictError
		if got := foreignKeyConflict(err, "customer_id", "gone"); !errors.As(got, &c) || c.Field != "customer_id" || !errors.Is(got, ErrConflict) {
			t.Errorf("%v → %v, want a conflict on customer_id", err, got)
		}
	}
	other := &pgconn.PgError{Code: "23505"}
	if got := foreignKeyConflict(other, "id", "x"); got != error(other) {
		t.Errorf("a unique violation became %v", got)
	}
	if foreignKeyConflict(nil, "id", "x") != nil {
		t.Error("nil became an error")
	}
}
