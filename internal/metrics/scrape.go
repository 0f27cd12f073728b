package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Read at scrape time: the state of the queues, the mailboxes and the
// readiness checks, which no event in this process would keep current.

// QueueStates are the task states of connector_queue_tasks.
var QueueStates = []string{"pending", "active", "scheduled", "retry", "archived"}

// QueueStats is one queue's state at scrape time.
type QueueStats struct {
	Queue string
	// Tasks by state (QueueStates); a missing state is zero.
	Tasks map[string]int
	// Latency is the age of the oldest pending task.
	Latency time.Duration
}

// MailboxErrorKinds are the kinds of connector_mailboxes_in_error.
var MailboxErrorKinds = []string{"last_error", "subscription_failed"}

// MailboxCounts is what the mailbox gauges read: mailboxes by state and, of
// the enabled ones, those in error by kind.
type MailboxCounts struct {
	ByState map[string]int
	InError map[string]int
}

// ScrapeTimeout bounds each read at scrape time.
const ScrapeTimeout = 3 * time.Second

// scrapeCollector reads its gauges at every scrape and counts the failed
// reads.
type scrapeCollector struct {
	descs   []*prometheus.Desc
	collect func(ctx context.Context, ch chan<- prometheus.Metric) error
	name    string
	errors  prometheus.Counter
	log     *slog.Logger
}

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
	c.errors.Describe(ch)
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	if err := c.collect(ctx, ch); err != nil {
		// The gauges are left out of this scrape (absent, not zero); the
		// rest of /metrics is still served.
		c.errors.Inc()
		c.log.Warn("metrics: reading at scrape time failed", slog.String("gauges", c.name), slog.Any("error", err))
	}
	c.errors.Collect(ch)
}

func newScrapeErrors(name string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "metrics", Name: "read_errors_total",
		Help:        "Reads at scrape time that failed (their gauges are absent from that scrape), by gauges.",
		ConstLabels: prometheus.Labels{"gauges": name},
	})
}

// RegisterQueues registers connector_queue_tasks{queue,state} and
// connector_queue_latency_seconds{queue}, read at every scrape. Every queue
// in queues and every state appears, at zero when read reports none.
func RegisterQueues(reg prometheus.Registerer, log *slog.Logger, queues []string, read func(context.Context) ([]QueueStats, error)) {
	tasks := prometheus.NewDesc(prometheus.BuildFQName(Namespace, "queue", "tasks"),
		"Tasks in a queue, by queue and state (pending, active, scheduled, retry, archived).", []string{"queue", "state"}, nil)
	latency := prometheus.NewDesc(prometheus.BuildFQName(Namespace, "queue", "latency_seconds"),
		"Age of the oldest pending task of a queue.", []string{"queue"}, nil)
	reg.MustRegister(&scrapeCollector{descs: []*prometheus.Desc{tasks, latency}, name: "queue", errors: newScrapeErrors("queue"), log: orDefault(log),
		collect: func(ctx context.Context, ch chan<- prometheus.Metric) error {
			stats, err := read(ctx)
			if err != nil {
				return err
			}
			byQueue := map[string]QueueStats{}
			for _, s := range stats {
				byQueue[s.Queue] = s
			}
			for _, q := range queues {
				s := byQueue[q]
				for _, st := range QueueStates {
					ch <- prometheus.MustNewConstMetric(tasks, prometheus.GaugeValue, float64(s.Tasks[st]), q, st)
				}
				ch <- prometheus.MustNewConstMetric(latency, prometheus.GaugeValue, s.Latency.Seconds(), q)
			}
			return nil
		}})
}

// RegisterMailboxes registers connector_mailboxes{state} and
// connector_mailboxes_in_error{kind}, read at every scrape; every state (the
// caller's list: store.MailboxStates) and kind appears, at zero when there
// is none.
func RegisterMailboxes(reg prometheus.Registerer, log *slog.Logger, mailboxStates []string, read func(context.Context) (MailboxCounts, error)) {
	states := prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "mailboxes"),
		"Mailboxes (employees with an Exchange mailbox), by state (enabled, disabled, inactive, access_denied, not_found).", []string{"state"}, nil)
	inError := prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "mailboxes_in_error"),
		"Enabled mailboxes in error, by kind (last_error: the last sync or Graph call failed; subscription_failed).", []string{"kind"}, nil)
	reg.MustRegister(&scrapeCollector{descs: []*prometheus.Desc{states, inError}, name: "mailboxes", errors: newScrapeErrors("mailboxes"), log: orDefault(log),
		collect: func(ctx context.Context, ch chan<- prometheus.Metric) error {
			n, err := read(ctx)
			if err != nil {
				return err
			}
			for _, s := range mailboxStates {
				ch <- prometheus.MustNewConstMetric(states, prometheus.GaugeValue, float64(n.ByState[s]), s)
			}
			for _, k := range MailboxErrorKinds {
				ch <- prometheus.MustNewConstMetric(inError, prometheus.GaugeValue, float64(n.InError[k]), k)
			}
			return nil
		}})
}

// ReadyCheck is one dependency connector_ready reports.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// RegisterReadiness registers connector_ready{check}: 1 when the check
// passes at scrape time, else 0 — the same checks as /readyz.
func RegisterReadiness(reg prometheus.Registerer, log *slog.Logger, checks []ReadyCheck) {
	ready := prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "ready"),
		"1 when the readiness check (as /readyz runs it) passes at scrape time, else 0, by check.", []string{"check"}, nil)
	reg.MustRegister(&scrapeCollector{descs: []*prometheus.Desc{ready}, name: "ready", errors: newScrapeErrors("ready"), log: orDefault(log),
		collect: func(ctx context.Context, ch chan<- prometheus.Metric) error {
			for _, c := range checks {
				v := 1.0
				if err := c.Check(ctx); err != nil {
					v = 0
				}
				ch <- prometheus.MustNewConstMetric(ready, prometheus.GaugeValue, v, c.Name)
			}
			return nil
		}})
}

func orDefault(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
