package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dedesales/exchange-connector/internal/model"
)

// changeNotification is one item of a change-notification POST, in the
// order of testdata/graph/notification-created.json.
type changeNotification struct {
	SubscriptionID                 string       `json:"subscriptionId"`
	SubscriptionExpirationDateTime string       `json:"subscriptionExpirationDateTime"`
	ChangeType                     string       `json:"changeType"`
	Resource                       string       `json:"resource"`
	ResourceData                   resourceData `json:"resourceData"`
	ClientState                    *string      `json:"clientState"`
	TenantID                       string       `json:"tenantId"`
}

type resourceData struct {
	ODataType string `json:"@odata.type"`
	ODataID   string `json:"@odata.id"`
	ODataEtag string `json:"@odata.etag"`
	ID        string `json:"id"`
}

// lifecycleNotification is one item of a lifecycle-event POST.
type lifecycleNotification struct {
	SubscriptionID                 string  `json:"subscriptionId"`
	SubscriptionExpirationDateTime string  `json:"subscriptionExpirationDateTime"`
	TenantID                       string  `json:"tenantId"`
	ClientState                    *string `json:"clientState"`
	LifecycleEvent                 string  `json:"lifecycleEvent"`
}

// note is a pending delivery: one item for one URL of one subscription.
type note struct {
	subID        string
	url          string
	lifecycle    bool
	lifecycleURL string // for "missed" after drops
	item         any
	missed       lifecycleNotification // the missed event to send after a drop
	// held: the delivery knobs were applied already (latency served, or a
	// duplicate copy), so enqueue queues it at once.
	held bool
}

// NotifyStats count deliveries. Items are counted once per POST that
// carried them (duplicates count again in Duplicates).
type NotifyStats struct {
	Delivered          int64 `json:"delivered"`
	Failed             int64 `json:"failed"`
	Dropped            int64 `json:"dropped"`
	Retries            int64 `json:"retries"`
	Duplicates         int64 `json:"duplicates"`
	LifecycleDelivered int64 `json:"lifecycleDelivered"`
	LifecycleFailed    int64 `json:"lifecycleFailed"`
	// Delayed counts notifications held back by notifyLatency.
	Delayed int64 `json:"delayed"`
	// NotFoundAfterCreated counts messages that answered 404 for a while
	// after their "created" notification (notFoundAfterCreated).
	NotFoundAfterCreated int64 `json:"notFoundAfterCreated"`
	// InFlight is the deliveries still to come: notifications held by
	// latency or as late duplicates, and failed POSTs awaiting a retry
	// (in the simulator's total only; 0 per subscription).
	InFlight int64 `json:"inFlight"`
}

type counters struct {
	delivered, failed, dropped, retries, duplicates, lcDelivered, lcFailed, delayed, hidden, inFlight atomic.Int64
}

func (c *counters) snapshot() NotifyStats {
	return NotifyStats{c.delivered.Load(), c.failed.Load(), c.dropped.Load(), c.retries.Load(),
		c.duplicates.Load(), c.lcDelivered.Load(), c.lcFailed.Load(), c.delayed.Load(), c.hidden.Load(), c.inFlight.Load()}
}

// notifier delivers notifications: one queue per subscription and URL;
// items that pile up while a POST is in flight go out together in the next
// POST. Failed POSTs are retried in the background with backoff.
type notifier struct {
	s      *Server
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	queues map[string]*queue
	perSub map[string]*counters
	total  counters
	hidden hidden // notified messages not readable yet
}

type queue struct {
	url     string
	subID   string
	items   []note
	running bool
}

func newNotifier(s *Server) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	return &notifier{s: s, ctx: ctx, cancel: cancel, queues: map[string]*queue{}, perSub: map[string]*counters{}}
}

func (n *notifier) close() {
	n.cancel()
	n.wg.Wait()
}

func (n *notifier) counters(subID string) *counters {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.perSub[subID]
	if c == nil {
		c = &counters{}
		n.perSub[subID] = c
	}
	return c
}

// enqueue schedules notes for delivery, applying the delivery knobs
// (latency, duplicates) to change notifications.
func (n *notifier) enqueue(notes ...note) {
	d := &n.s.faults.Load().Delivery
	now := notes[:0:0]
	for _, nt := range notes {
		if nt.lifecycle || nt.held {
			now = append(now, nt)
			continue
		}
		nt.held = true
		lat := d.latency()
		if lag, ok := d.duplicate(); ok {
			n.total.duplicates.Add(1)
			n.counters(nt.subID).duplicates.Add(1)
			n.later(lat+lag, nt)
		}
		if lat <= 0 {
			now = append(now, nt)
			continue
		}
		n.total.delayed.Add(1)
		n.counters(nt.subID).delayed.Add(1)
		n.later(lat, nt)
	}
	n.enqueueNow(now...)
}

// later enqueues nt after wait (abandoned when the simulator closes).
func (n *notifier) later(wait time.Duration, nt note) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ctx.Err() != nil {
		return
	}
	n.wg.Add(1)
	n.total.inFlight.Add(1)
	go func() {
		defer n.wg.Done()
		defer n.total.inFlight.Add(-1)
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
			n.enqueueNow(nt)
		case <-n.ctx.Done():
		}
	}()
}

// enqueueNow queues notes for their next POST.
func (n *notifier) enqueueNow(notes ...note) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ctx.Err() != nil {
		return
	}
	for _, nt := range notes {
		key := fmt.Sprintf("%t|%s|%s", nt.lifecycle, nt.subID, nt.url)
		q := n.queues[key]
		if q == nil {
			q = &queue{url: nt.url, subID: nt.subID}
			n.queues[key] = q
		}
		q.items = append(q.items, nt)
		if !q.running {
			q.running = true
			n.wg.Add(1)
			go n.run(key, q)
		}
	}
}

// take removes and returns the queued items (nil ends the worker).
func (n *notifier) take(key string, q *queue) []note {
	n.mu.Lock()
	defer n.mu.Unlock()
	items := q.items
	q.items = nil
	if len(items) == 0 {
		q.running = false
		delete(n.queues, key)
	}
	return items
}

func (n *notifier) run(key string, q *queue) {
	defer n.wg.Done()
	for {
		items := n.take(key, q)
		if items == nil {
			return
		}
		if items[0].lifecycle {
			n.send(q, items)
			continue
		}
		f := n.s.faults.Load()
		kept := items[:0:0]
		var missed *note
		for _, it := range items {
			if n.s.takeDrop() {
				n.total.dropped.Add(1)
				n.counters(it.subID).dropped.Add(1)
				if it.lifecycleURL != "" {
					missed = &note{subID: it.subID, url: it.lifecycleURL, lifecycle: true, item: it.missed}
				}
				continue
			}
			kept = append(kept, it)
		}
		if missed != nil && f.MissedAfterDrop {
			n.enqueueNow(*missed)
		}
		if len(kept) == 0 {
			continue
		}
		if f.ReorderNotifications {
			window := time.Duration(f.ReorderWindowMS) * time.Millisecond
			if window <= 0 {
				window = 200 * time.Millisecond
			}
			select {
			case <-time.After(window):
			case <-n.ctx.Done():
				return
			}
			n.mu.Lock()
			kept = append(kept, q.items...)
			q.items = nil
			n.mu.Unlock()
			for i := len(kept) - 1; i >= 0; i-- {
				n.send(q, kept[i:i+1])
			}
			continue
		}
		n.send(q, kept)
	}
}

// send POSTs one batch (DuplicateNotifications times); the first attempt
// is made inline, retries in the background.
func (n *notifier) send(q *queue, items []note) {
	vals := make([]any, len(items))
	for i, it := range items {
		vals[i] = it.item
	}
	body, err := json.Marshal(map[string]any{"value": vals})
	if err != nil {
		n.s.log.Error("marshal notification", "error", err)
		return
	}
	times := 1
	lifecycle := items[0].lifecycle
	if d := n.s.faults.Load().DuplicateNotifications; d > 1 && !lifecycle {
		times = d
	}
	for i := 0; i < times; i++ {
		if i > 0 {
			n.total.duplicates.Add(int64(len(items)))
			n.counters(q.subID).duplicates.Add(int64(len(items)))
		}
		if err := n.post(q.url, body); err != nil {
			n.wg.Add(1)
			n.total.inFlight.Add(1)
			go n.retry(q.url, q.subID, body, items, err)
			continue
		}
		n.delivered(q.subID, len(items), lifecycle)
	}
}

func (n *notifier) delivered(subID string, k int, lifecycle bool) {
	c := n.counters(subID)
	if lifecycle {
		n.total.lcDelivered.Add(int64(k))
		c.lcDelivered.Add(int64(k))
		return
	}
	n.total.delivered.Add(int64(k))
	c.delivered.Add(int64(k))
}

// retry redelivers a failed POST of items on the retry schedule: the
// simulator's RetryPolicy, or Graph's (retryWindow: exponential back-off
// for up to 4 hours). When it runs out the items are counted as failed and,
// with missedAfterDrop, a "missed" lifecycle event follows (Graph's event
// for notifications that were not delivered; whether Graph sends it after
// its retries run out is not documented, hence opt-in).
func (n *notifier) retry(url, subID string, body []byte, items []note, err error) {
	defer n.wg.Done()
	defer n.total.inFlight.Add(-1)
	f := n.s.faults.Load()
	k, lifecycle := len(items), items[0].lifecycle
	c := n.counters(subID)
	for i, wait := range f.retrySchedule(n.s.opts.NotifyRetry) {
		n.s.log.Warn("notification delivery failed; retrying", "url", url, "attempt", i+1, "backoff", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-n.ctx.Done():
			t.Stop()
			return
		}
		n.total.retries.Add(1)
		c.retries.Add(1)
		if err = n.post(url, body); err == nil {
			n.delivered(subID, k, lifecycle)
			return
		}
	}
	n.s.log.Error("notification delivery failed; giving up", "url", url, "items", k, "error", err)
	if lifecycle {
		n.total.lcFailed.Add(int64(k))
		c.lcFailed.Add(int64(k))
		return
	}
	n.total.failed.Add(int64(k))
	c.failed.Add(int64(k))
	if it := items[0]; it.lifecycleURL != "" && n.s.faults.Load().MissedAfterDrop {
		n.enqueueNow(note{subID: it.subID, url: it.lifecycleURL, lifecycle: true, item: it.missed})
	}
}

// post makes one delivery attempt; non-2xx and timeouts are errors.
func (n *notifier) post(url string, body []byte) error {
	ctx, cancel := context.WithTimeout(n.ctx, n.s.opts.NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notification request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := n.s.opts.NotifyClient.Do(req)
	if err != nil {
		return fmt.Errorf("post notification: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post notification: status %d", resp.StatusCode)
	}
	return nil
}

// changeNotes builds the notes for a change of m in the subscriptions that
// cover it. Callers hold s.mu.
func (s *Server) changeNotes(m *message, changeType string) []note {
	now := s.now()
	var out []note
	for _, sub := range s.tenant.subs {
		if !sub.Expiration.After(now) || !sub.wants(m.user, m.folder, changeType) {
			continue
		}
		id := m.idFor(sub.immutable) // the ID format of the subscription's creation request
		res := "Users/" + m.user.ID + "/Messages/" + id
		out = append(out, note{
			subID: sub.ID, url: sub.NotificationURL, lifecycleURL: sub.LifecycleURL,
			item: changeNotification{
				SubscriptionID:                 sub.ID,
				SubscriptionExpirationDateTime: formatSubTime(sub.Expiration),
				ChangeType:                     changeType,
				Resource:                       res,
				ResourceData: resourceData{ODataType: "#Microsoft.Graph.Message", ODataID: res,
					ODataEtag: str(m.data["@odata.etag"]), ID: id},
				ClientState: clientStatePtr(sub.ClientState),
				TenantID:    s.opts.TenantID,
			},
			missed: s.lifecycleItem(sub, model.EventMissed),
		})
	}
	return out
}

func (s *Server) lifecycleItem(sub *subscription, event string) lifecycleNotification {
	return lifecycleNotification{SubscriptionID: sub.ID, SubscriptionExpirationDateTime: formatSubTime(sub.Expiration),
		TenantID: s.opts.TenantID, ClientState: clientStatePtr(sub.ClientState), LifecycleEvent: event}
}

func clientStatePtr(cs string) *string {
	if cs == "" {
		return nil
	}
	return &cs
}

// NotifyStats reports the delivery counters.
func (s *Server) NotifyStats() NotifyStats { return s.notify.total.snapshot() }
