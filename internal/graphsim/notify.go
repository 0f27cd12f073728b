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
}

type counters struct {
	delivered, failed, dropped, retries, duplicates, lcDelivered, lcFailed atomic.Int64
}

func (c *counters) snapshot() NotifyStats {
	return NotifyStats{c.delivered.Load(), c.failed.Load(), c.dropped.Load(), c.retries.Load(),
		c.duplicates.Load(), c.lcDelivered.Load(), c.lcFailed.Load()}
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

// enqueue schedules notes for delivery.
func (n *notifier) enqueue(notes ...note) {
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
			n.enqueue(*missed)
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
			go n.retry(q.url, q.subID, body, len(items), lifecycle, err)
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

// retry redelivers a failed POST with exponential backoff.
func (n *notifier) retry(url, subID string, body []byte, k int, lifecycle bool, err error) {
	defer n.wg.Done()
	p := n.s.opts.NotifyRetry
	backoff := p.InitialBackoff
	c := n.counters(subID)
	for attempt := 2; attempt <= p.MaxAttempts; attempt++ {
		n.s.log.Warn("notification delivery failed; retrying", "url", url, "attempt", attempt-1, "backoff", backoff, "error", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-n.ctx.Done():
			t.Stop()
			return
		}
		backoff = min(2*backoff, p.MaxBackoff)
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
