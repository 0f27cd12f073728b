package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/store"
)

// Folder is a folder reference of the simulator with its share of the mail.
type Folder struct {
	Ref    string
	Weight int
}

// ParseFolders reads "inbox:6,sentitems:2,junkemail:1,inbox/Kunden/Last:1".
func ParseFolders(s string) ([]Folder, error) {
	var out []Folder
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ref, w, found := strings.Cut(part, ":")
		weight := 1
		if found {
			n, err := strconv.Atoi(w)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("loadgen: folder weight %q", part)
			}
			weight = n
		}
		if weight > 0 {
			out = append(out, Folder{Ref: ref, Weight: weight})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("loadgen: no folders")
	}
	return out, nil
}

// importedFolder reports whether the connector files mail of that folder
// (inbox, sentitems, their subfolders and user folders; DESIGN / match).
func importedFolder(ref string) bool {
	top, _, _ := strings.Cut(strings.ToLower(ref), "/")
	switch top {
	case "junkemail", "deleteditems", "drafts", "outbox", "archive", "conversationhistory", "clutter",
		"scheduled", "syncissues", "recoverableitemsdeletions", "searchfolders":
		return false
	}
	return true
}

// Options configure Run.
type Options struct {
	Mailboxes   []string      // simulator mailboxes (the connector's enabled mailboxes)
	Senders     []string      // CRM contact addresses (so that each mail becomes an activity)
	Count       int           // mails to inject
	Rate        float64       // mails/s; 0 = as fast as possible
	Injectors   int           // concurrent injectors when Rate is 0
	Folders     []Folder      // mix of folders
	AttachEvery int           // every Nth mail carries an attachment (0 = none)
	AttachSize  int           // its size in bytes
	Duplicates  int           // duplicateNotifications during the run (0/1 = off)
	Timeout     time.Duration // bound of the whole run (injection + wait)
	PID         int           // connector process whose RSS is sampled (0 = none)
	Sample      time.Duration // sampling period of backlog and RSS
	Tag         string        // subject prefix of this run
}

// Sample is one point of the backlog/RSS series.
type Sample struct {
	T          float64 `json:"t_s"`
	Backlog    int     `json:"backlog"` // pending+active+scheduled+retry over all queues
	Pending    int     `json:"pending"`
	Active     int     `json:"active"`
	Retry      int     `json:"retry"`
	RSSKB      int64   `json:"rss_kb,omitempty"`
	Activities int     `json:"activities"`
}

// Result is the outcome of Run.
type Result struct {
	Tag             string   `json:"tag"`
	Mailboxes       int      `json:"mailboxes"`
	Injected        int      `json:"injected"`
	Expected        int      `json:"expected_activities"`
	Found           int      `json:"activities_found"`
	Attachments     int      `json:"attachments"`
	Duplicates      int      `json:"duplicate_notifications"`
	TargetRate      float64  `json:"target_rate"`
	InjectSeconds   float64  `json:"inject_seconds"`
	InjectRate      float64  `json:"inject_rate"`
	TotalSeconds    float64  `json:"total_seconds"`
	Throughput      float64  `json:"activities_per_s"`
	Delivered       int64    `json:"notifications_delivered"`
	DeliveredRate   float64  `json:"notifications_per_s"`
	NotifyFailed    int64    `json:"notifications_failed"`
	P50, P95, P99   float64  `json:"-"`
	LatencyMS       [3]int64 `json:"latency_ms_p50_p95_p99"`
	MaxLatencyMS    int64    `json:"latency_ms_max"`
	MaxBacklog      int      `json:"max_backlog"`
	FinalBacklog    int      `json:"final_backlog"`
	MaxRSSKB        int64    `json:"max_rss_kb,omitempty"`
	HWMKB           int64    `json:"vmhwm_kb,omitempty"`
	Complete        bool     `json:"complete"`
	Samples         []Sample `json:"samples"`
	InjectionErrors int      `json:"injection_errors"`
}

// Run injects the mails, waits until their activities exist (or the
// timeout), and measures.
func Run(ctx context.Context, o Options, sim *Sim, st *store.Store, insp *asynq.Inspector) (*Result, error) {
	if o.Count <= 0 || len(o.Mailboxes) == 0 || len(o.Senders) == 0 || len(o.Folders) == 0 {
		return nil, errors.New("loadgen: need count, mailboxes, senders and folders")
	}
	if o.Injectors <= 0 {
		o.Injectors = 16
	}
	if o.Sample <= 0 {
		o.Sample = 250 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	res := &Result{Tag: o.Tag, Mailboxes: len(o.Mailboxes), TargetRate: o.Rate, Duplicates: o.Duplicates}

	base, _, err := st.ActivityCount(ctx)
	if err != nil {
		return nil, err
	}
	before, err := sim.Stats(ctx)
	if err != nil {
		return nil, err
	}
	if o.Duplicates > 1 {
		if err := sim.SetFaults(ctx, map[string]any{"duplicateNotifications": o.Duplicates}); err != nil {
			return nil, err
		}
		defer sim.SetFaults(context.Background(), map[string]any{"duplicateNotifications": 0})
	}

	// Plan the mails: folder by weight, round-robin mailboxes.
	total := 0
	for _, f := range o.Folders {
		total += f.Weight
	}
	rng := rand.New(rand.NewPCG(uint64(len(o.Tag)), 42))
	msgs := make([]Message, o.Count)
	subjects := make([]string, o.Count)
	expect := make(map[string]int, o.Count) // subject → index
	for i := range msgs {
		pick := rng.IntN(total)
		var folder string
		for _, f := range o.Folders {
			if pick < f.Weight {
				folder = f.Ref
				break
			}
			pick -= f.Weight
		}
		mb := o.Mailboxes[i%len(o.Mailboxes)]
		contact := o.Senders[i%len(o.Senders)]
		subject := fmt.Sprintf("%s-%06d Anfrage Lieferung", o.Tag, i)
		from, to := contact, mb
		if strings.HasPrefix(strings.ToLower(folder), "sentitems") {
			from, to = mb, contact
		}
		m := Message{Mailbox: mb, Folder: folder, Message: map[string]any{
			"subject":      subject,
			"from":         map[string]any{"emailAddress": map[string]any{"address": from}},
			"toRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": to}}},
			"body":         map[string]any{"contentType": "text", "content": "Guten Tag, anbei die Unterlagen. " + subject},
		}}
		if o.AttachEvery > 0 && i%o.AttachEvery == o.AttachEvery-1 {
			m.Attachments = []map[string]any{{"name": fmt.Sprintf("Lieferschein-%d.pdf", i), "contentType": "application/pdf", "size": o.AttachSize}}
			res.Attachments++
		}
		msgs[i] = m
		subjects[i] = subject
		if importedFolder(folder) {
			expect[subject] = i
		}
	}
	res.Expected = len(expect)
	sent := make([]time.Time, o.Count)

	// Sampler: backlog, RSS, activity count.
	start := time.Now()
	var sampMu sync.Mutex
	sampleOnce := func() {
		s := Sample{T: time.Since(start).Seconds()}
		if insp != nil {
			if qs, err := insp.Queues(); err == nil {
				for _, q := range qs {
					if qi, err := insp.GetQueueInfo(q); err == nil {
						s.Pending += qi.Pending
						s.Active += qi.Active
						s.Retry += qi.Retry
						s.Backlog += qi.Pending + qi.Active + qi.Scheduled + qi.Retry
					}
				}
			}
		}
		if o.PID > 0 {
			if m, err := ReadMem(o.PID); err == nil {
				s.RSSKB = m.RSSKB
				sampMu.Lock()
				res.MaxRSSKB = max(res.MaxRSSKB, m.RSSKB)
				res.HWMKB = max(res.HWMKB, m.HWMKB)
				sampMu.Unlock()
			}
		}
		if n, _, err := st.ActivityCount(ctx); err == nil {
			s.Activities = n - base
		}
		sampMu.Lock()
		res.Samples = append(res.Samples, s)
		res.MaxBacklog = max(res.MaxBacklog, s.Backlog)
		sampMu.Unlock()
	}
	sampCtx, stopSampler := context.WithCancel(ctx)
	var sampWG sync.WaitGroup
	sampWG.Go(func() {
		t := time.NewTicker(o.Sample)
		defer t.Stop()
		for {
			sampleOnce()
			select {
			case <-sampCtx.Done():
				return
			case <-t.C:
			}
		}
	})
	defer func() { stopSampler(); sampWG.Wait() }()

	// Inject.
	var errs atomic.Int64
	var firstErr atomic.Value
	inject := func(i int) {
		sent[i] = time.Now()
		if err := sim.CreateMessage(ctx, msgs[i]); err != nil {
			if errs.Add(1) == 1 {
				firstErr.Store(err)
			}
		}
	}
	if o.Rate > 0 {
		// Open loop at the rate: each mail goes out at its due time, in its
		// own goroutine, so a slow POST does not delay the next one.
		var wg sync.WaitGroup
		interval := time.Duration(float64(time.Second) / o.Rate)
		for i := range o.Count {
			due := start.Add(time.Duration(i) * interval)
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
			if ctx.Err() != nil {
				break
			}
			wg.Go(func() { inject(i) })
		}
		wg.Wait()
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range o.Injectors {
			wg.Go(func() {
				for ctx.Err() == nil {
					i := int(next.Add(1)) - 1
					if i >= o.Count {
						return
					}
					inject(i)
				}
			})
		}
		wg.Wait()
	}
	res.Injected = o.Count
	res.InjectionErrors = int(errs.Load())
	injected := time.Since(start)
	res.InjectSeconds = injected.Seconds()
	res.InjectRate = float64(o.Count) / injected.Seconds()
	if e, ok := firstErr.Load().(error); ok && res.InjectionErrors == o.Count {
		return nil, e
	}

	// Wait for the activities.
	want := res.Expected - res.InjectionErrors
	var last int
	for {
		n, _, err := st.ActivityCount(ctx)
		if err == nil {
			last = n - base
			if last >= want {
				break
			}
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	done := time.Since(start)
	res.TotalSeconds = done.Seconds()
	res.Complete = last >= want
	res.Throughput = float64(min(last, res.Expected)) / done.Seconds()

	// Latencies of the tagged subjects: injection → activity created_at.
	qctx, qcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer qcancel()
	times, err := st.ActivityTimes(qctx)
	if err != nil {
		return nil, err
	}
	var lat []time.Duration
	for subject, i := range expect {
		if at, ok := times[subject]; ok && !sent[i].IsZero() {
			lat = append(lat, at.Sub(sent[i]))
		}
	}
	res.Found = len(lat)
	if len(lat) > 0 {
		slices.Sort(lat)
		pct := func(p float64) int64 { return lat[int(p*float64(len(lat)-1))].Milliseconds() }
		res.LatencyMS = [3]int64{pct(0.50), pct(0.95), pct(0.99)}
		res.MaxLatencyMS = lat[len(lat)-1].Milliseconds()
	}
	if after, err := sim.Stats(qctx); err == nil {
		res.Delivered = after.Notifications.Delivered - before.Notifications.Delivered
		res.NotifyFailed = after.Notifications.Failed - before.Notifications.Failed
		res.DeliveredRate = float64(res.Delivered) / injected.Seconds()
	}
	stopSampler()
	sampWG.Wait()
	sampleOnce()
	res.FinalBacklog = res.Samples[len(res.Samples)-1].Backlog
	if !res.Complete {
		return res, fmt.Errorf("loadgen: only %d of %d activities after %s", last, want, o.Timeout)
	}
	return res, nil
}
