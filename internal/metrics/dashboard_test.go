package metrics_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gopkg.in/yaml.v3"

	"github.com/dedesales/exchange-connector/internal/metrics"
)

const (
	dashboardFile = "../../deploy/grafana/connector-dashboard.json"
	alertsFile    = "../../deploy/grafana/alerts.yml"
)

// metricName finds the connector's and the client library's metric names
// in PromQL (up comes from Prometheus itself).
var metricName = regexp.MustCompile(`\b(?:connector|process|go)_[a-z0-9_]+\b`)

// exported serves /metrics as the connector wires it (internal/app: New,
// the queue, mailbox and readiness gauges) and returns the metric names in
// it. The labelled series that appear only on their first event get one.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	log := slog.New(slog.DiscardHandler)
	metrics.RegisterQueues(reg, log, []string{"critical", "default", "low"}, func(context.Context) ([]metrics.QueueStats, error) { return nil, nil })
	metrics.RegisterMailboxes(reg, log, []string{"enabled", "access_denied", "not_found"}, func(context.Context) (metrics.MailboxCounts, error) { return metrics.MailboxCounts{}, nil })
	metrics.RegisterReadiness(reg, log, []metrics.ReadyCheck{{Name: "redis", Check: func(context.Context) error { return nil }}})
	// Appear on their first event (labelled by what happened).
	m.Decisions.WithLabelValues("imported", "matched").Inc()
	m.TasksProcessed.WithLabelValues("message:process", "ok").Inc()
	m.TaskDuration.WithLabelValues("message:process").Observe(0.1)
	m.WebhookDropped.WithLabelValues(metrics.KindNotification, metrics.ReasonBadClientState).Inc()
	m.HTTPDuration.WithLabelValues("/x", "GET", "200").Observe(0.001)
	m.SetSubscriptionExpiry(1, 3600)
	m.SecretDaysLeft.WithLabelValues("1").Set(30)

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d, %v", resp.StatusCode, err)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names[strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
	}
	return names
}

func checkExprs(t *testing.T, what string, exprs []string) {
	t.Helper()
	have := exported(t)
	seen := map[string]bool{}
	for _, e := range exprs {
		for _, n := range metricName.FindAllString(e, -1) {
			seen[n] = true
			if !have[n] {
				t.Errorf("%s queries %s, which /metrics does not export (in %q)", what, n, e)
			}
		}
	}
	if len(seen) < 5 {
		t.Errorf("%s: only %d metric names found in %d expressions: the extraction is broken", what, len(seen), len(exprs))
	}
}

// Every metric the Grafana dashboard queries is one /metrics exports.
func TestDashboardMetricsExist(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
		}
	}
	checkExprs(t, "the dashboard", exprs)
	// What the issue asks the dashboard to show.
	all := strings.Join(exprs, "\n")
	for _, want := range []string{"connector_match_decisions_total", "connector_notification_to_decision_seconds_bucket",
		"connector_queue_tasks", `status="429"`, "connector_subscription_expiry_seconds", "connector_credentials_secret_days_left",
		"connector_mailboxes_in_error"} {
		if !strings.Contains(all, want) {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert string `yaml:"alert"`
			Expr  string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// Every metric the alert rules use is one /metrics exports.
func TestAlertMetricsExist(t *testing.T) {
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var exprs, alerts []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
			alerts = append(alerts, r.Alert)
		}
	}
	checkExprs(t, "the alert rules", exprs)
	for _, want := range []string{"ConnectorMailboxAccessDenied", "ConnectorMailboxesInError", "ConnectorCredentialExpiring",
		"ConnectorSubscriptionNotRenewed", "ConnectorQueueBacklog", "ConnectorNotificationLatencyHigh", "ConnectorGraph429Storm", "ConnectorNotReady"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
}

// promtool (Debian's prometheus package) accepts the rules. Without it the
// test skips, or fails under REQUIRE_INTEGRATION=1 (deploy/grafana/check.sh
// installs it).
func TestAlertRulesPassPromtool(t *testing.T) {
	exe, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("promtool is required (apt-get install prometheus, or deploy/grafana/check.sh): %v", err)
		}
		t.Skipf("no promtool (%v); apt-get install prometheus, or set REQUIRE_INTEGRATION=1 to fail instead", err)
	}
	abs, err := filepath.Abs(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe, "check", "rules", abs).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "SUCCESS") {
		t.Errorf("promtool check rules:\n%s", out)
	}
}

// The gauges read at scrape time list every state at zero, and a failed
// read leaves them out of the scrape without failing /metrics.
func TestScrapeGauges(t *testing.T) {
	have := exported(t)
	for _, n := range []string{"connector_queue_tasks", "connector_queue_latency_seconds", "connector_mailboxes",
		"connector_mailboxes_in_error", "connector_ready", "connector_notification_to_decision_seconds_bucket", "connector_graph_requests_total"} {
		if !have[n] {
			t.Errorf("/metrics lacks %s", n)
		}
	}
	reg := metrics.NewRegistry()
	metrics.RegisterMailboxes(reg, slog.New(slog.DiscardHandler), []string{"enabled"}, func(context.Context) (metrics.MailboxCounts, error) {
		return metrics.MailboxCounts{}, context.DeadlineExceeded
	})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("a failed read fails the scrape: %v", err)
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "connector_mailboxes":
			t.Error("connector_mailboxes exported although its read failed")
		case "connector_metrics_read_errors_total":
			if v := mf.GetMetric()[0].GetCounter().GetValue(); v != 1 {
				t.Errorf("read errors %v, want 1", v)
			}
		}
	}
}
