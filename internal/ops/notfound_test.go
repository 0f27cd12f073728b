package ops_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// A mailbox Graph does not know shows as not_found with Graph's words.
func TestStatusPageShowsMailboxNotFound(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	seed(t, st)
	mb, err := st.FindMailbox(context.Background(), "anna.berger@dedenet.de")
	if err != nil {
		t.Fatal(err)
	}
	const words = "The requested user 'anna.berger@dedenet.de' is invalid."
	if err := st.MarkMailboxNotFound(context.Background(), mb.EmployeeID, "graph: check mailbox: user not found (404 ErrorInvalidUser): "+words); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, ops.Deps{Store: st, PasswordFile: writePasswordFile(t, hashed())})
	b := newBrowser(t, srv)
	b.mustLogin()
	resp, body := b.get("/ops/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/ops/: %s\n%s", resp.Status, body)
	}
	row := rowOf(t, body, "anna.berger@dedenet.de<br>")
	if !strings.Contains(row, "not_found") || !strings.Contains(row, strings.ReplaceAll(words, "'", "&#39;")) {
		t.Errorf("anna's row: %s", row)
	}
}
