package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dedesales/exchange-connector/internal/graphsim"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/store"
)

// GenerateCRM returns the CRM import base (configs/demo/crm.json's shape)
// with its employees replaced by n generated ones, each with the mailbox
// graphsim's generate option names user i (graphsim.GeneratedName of
// mailTemplate), active: the scale bench's CRM, generated instead of an
// n-entry file. Customers, contacts and settings stay, so that mail from the
// base's contacts becomes activities.
func GenerateCRM(base []byte, n int, mailTemplate string) ([]byte, error) {
	if n < 1 || n > graphsim.MaxGeneratedUsers {
		return nil, fmt.Errorf("loadgen: employees %d: between 1 and %d", n, graphsim.MaxGeneratedUsers)
	}
	var crm map[string]json.RawMessage
	if err := json.Unmarshal(base, &crm); err != nil {
		return nil, fmt.Errorf("loadgen: CRM base: %w", err)
	}
	type employee struct {
		ID      int64  `json:"id"`
		Name    string `json:"name"`
		Email   string `json:"email"`
		Mailbox string `json:"exchange_mailbox"`
		Active  bool   `json:"active"`
	}
	emps := make([]employee, n)
	for i := range emps {
		mail := graphsim.GeneratedName(mailTemplate, i+1, n)
		emps[i] = employee{ID: int64(i + 1), Name: graphsim.GeneratedName("Scale User {n}", i+1, n), Email: mail, Mailbox: mail, Active: true}
	}
	b, err := json.Marshal(emps)
	if err != nil {
		return nil, err
	}
	crm["employees"] = b
	return json.MarshalIndent(crm, "", " ")
}

// SyncedResult is the outcome of WaitSynced.
type SyncedResult struct {
	Mailboxes     int              `json:"mailboxes"`      // subscribed with a completed sync
	Pending       int              `json:"pending"`        // syncable ones still without
	SyncedSeconds float64          `json:"synced_s"`       // since the start until every one was
	Progress      []SyncedSample   `json:"progress"`       // one sample a second
	GraphRequests int64            `json:"graph_requests"` // simulator's count at the end
	Throttled     int64            `json:"graph_429"`      // 429s the simulator answered
	ByStatus      map[string]int64 `json:"graph_by_status"`
	Complete      bool             `json:"complete"`
}

// SyncedSample is the count of synced mailboxes at T seconds.
type SyncedSample struct {
	T    float64 `json:"t_s"`
	Done int     `json:"done"`
}

// WaitSynced waits until expect mailboxes are subscribed and first-synced
// (every syncable one, as `connector report --wait-synced`), measuring from
// since, and reads the simulator's request counts at the end.
func WaitSynced(ctx context.Context, st *store.Store, sim *Sim, since time.Time, expect int, timeout time.Duration) (*SyncedResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := &SyncedResult{}
	lastSample := time.Time{}
	var werr error
	for {
		done, pending, err := st.SyncProgress(ctx)
		if err == nil {
			res.Mailboxes, res.Pending = done, pending
			if time.Since(lastSample) >= time.Second {
				lastSample = time.Now()
				res.Progress = append(res.Progress, SyncedSample{T: time.Since(since).Seconds(), Done: done})
			}
			if pending == 0 && done >= expect {
				res.SyncedSeconds = time.Since(since).Seconds()
				res.Complete = true
				break
			}
		}
		select {
		case <-ctx.Done():
			werr = fmt.Errorf("loadgen: %d of %d mailboxes synced after %s", res.Mailboxes, expect, timeout)
		case <-time.After(250 * time.Millisecond):
		}
		if werr != nil {
			break
		}
	}
	sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
	defer scancel()
	if s, err := sim.Stats(sctx); err == nil {
		res.GraphRequests = s.Requests.Graph
		res.ByStatus = map[string]int64{}
		for code, n := range s.Requests.ByStatus {
			res.ByStatus[code] = n
		}
		res.Throttled = s.Requests.ByStatus["429"]
	}
	return res, werr
}

// UpkeepResult is the outcome of RunUpkeep: the wall time of one round of
// the periodic tasks, enqueued by hand.
type UpkeepResult struct {
	EnsureSeconds float64 `json:"ensure_subscriptions_s"`
	HealthSeconds float64 `json:"health_check_s"`
}

// RunUpkeep enqueues one subscription upkeep and one health check (a slot
// of their own, so that they run whatever the workers' own slots did) and
// waits until both completed; their wall times are from asynq (enqueued →
// completed, so queueing behind other tasks counts too).
func RunUpkeep(ctx context.Context, client *asynq.Client, insp *asynq.Inspector, timeout time.Duration) (*UpkeepResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	slot := "bench:" + time.Now().UTC().Format(time.RFC3339Nano)
	res := &UpkeepResult{}
	for _, t := range []struct {
		task *asynq.Task
		out  *float64
	}{{queue.NewEnsureSubscriptionsTask(slot), &res.EnsureSeconds}, {queue.NewHealthCheckTask(slot), &res.HealthSeconds}} {
		start := time.Now()
		info, err := client.EnqueueContext(ctx, t.task, asynq.Retention(time.Hour))
		if err != nil {
			return res, fmt.Errorf("loadgen: enqueue %s: %w", t.task.Type(), err)
		}
		// One at a time: the round's cost, not the two's overlap.
		for {
			ti, err := insp.GetTaskInfo(info.Queue, info.ID)
			if err == nil && ti.State == asynq.TaskStateCompleted {
				*t.out = ti.CompletedAt.Sub(start).Seconds()
				if *t.out <= 0 { // CompletedAt has second resolution
					*t.out = time.Since(start).Seconds()
				}
				break
			}
			if err == nil && ti.State == asynq.TaskStateArchived {
				return res, fmt.Errorf("loadgen: %s failed: %s", t.task.Type(), ti.LastErr)
			}
			if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
				return res, err
			}
			select {
			case <-ctx.Done():
				return res, fmt.Errorf("loadgen: %s not done: %w", t.task.Type(), ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return res, nil
}
