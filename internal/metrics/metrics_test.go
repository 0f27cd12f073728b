package metrics

import (
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
