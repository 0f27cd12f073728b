package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestNewRegistersEveryMetric(t *testing.T) {
	reg := NewRegistry()
	m := New(reg)
	m.WebhookDropped.WithLabelValues(KindNotification, ReasonBadClientState).Inc()
	if got := testutil.ToFloat64(m.WebhookDropped.WithLabelValues(KindNotification, ReasonBadClientState)); got != 1 {
		t.Errorf("dropped = %v, want 1", got)
	}
	m.HTTPDuration.WithLabelValues("/x", "GET", "200").Observe(0.001)
	for _, name := range []string{"connector_webhook_dropped_total", "connector_http_request_duration_seconds", "go_goroutines"} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n == 0 {
			t.Errorf("%s: %d series, %v", name, n, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("registering twice did not panic")
		}
	}()
	New(reg)
}

// The subscription gauge is labelled by employee ID: /metrics must not list
// the mailboxes' addresses (security review, issue 14).
func TestSubscriptionExpiryIsLabelledByEmployeeID(t *testing.T) {
	reg := NewRegistry()
	m := New(reg)
	m.SetSubscriptionExpiry(7, 3600)
	const want = `
# HELP connector_subscription_expiry_seconds Seconds until a mailbox's Graph subscription expires (negative: expired), by the mailbox's employee ID.
# TYPE connector_subscription_expiry_seconds gauge
connector_subscription_expiry_seconds{employee="7"} 3600
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "connector_subscription_expiry_seconds"); err != nil {
		t.Error(err)
	}
}
