package queue

import (
	"context"
	"net"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// maxPipeline bounds the commands sent in one pipeline.
const maxPipeline = 128

// DefaultPipelineFlushers is the number of pipelines the web role keeps in
// flight; 1, 2 and 4 measured alike under wrk with 64 connections.
const DefaultPipelineFlushers = 2

// AutoPipeline makes rdb send the script calls that concurrent callers issue at
// the same time together, as one pipeline (one write, one read), instead of
// one round trip each. At most flushers pipelines are in flight; commands
// issued meanwhile queue up and go out in the next one. Under load this cuts
// the system calls per enqueue several-fold, which is what an enqueue costs
// on a small machine; a lone caller still gets its own immediate round trip.
//
// Only EVAL and EVALSHA (asynq's enqueue scripts) are batched; other
// commands go out as usual. Use it only on a client dedicated to enqueuing (the web role's
// asynq.Client, via asynq.NewClientFromRedisClient): a blocking command
// (BLPOP, …) would hold up every command queued behind it.
func AutoPipeline(rdb *redis.Client, flushers int) {
	if flushers < 1 {
		flushers = 1
	}
	rdb.AddHook(&autoPipe{rdb: rdb, slots: make(chan struct{}, flushers)})
}

// NewPipelinedClient returns the web role's enqueuer: an asynq client on rdb
// with AutoPipeline and DefaultPipelineFlushers. The load suite's floor uses
// it too, so that both are measured with the same client. rdb must be
// dedicated to it (see AutoPipeline).
func NewPipelinedClient(rdb *redis.Client) *asynq.Client {
	AutoPipeline(rdb, DefaultPipelineFlushers)
	return asynq.NewClientFromRedisClient(rdb)
}

// autoPipe is the redis.Hook of AutoPipeline.
type autoPipe struct {
	rdb   *redis.Client
	slots chan struct{} // one token per pipeline in flight
	mu    sync.Mutex
	queue []*pipeCall
}

// pipeCall is one queued command.
type pipeCall struct {
	cmd  redis.Cmder
	done chan struct{}
}

// DialHook passes dials through.
func (a *autoPipe) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

// ProcessPipelineHook passes pipelines (including its own) through.
func (a *autoPipe) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// ProcessHook queues the command; a caller that finds a free pipeline slot
// sends the queue until it is empty, the others wait for their result.
func (a *autoPipe) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name != "evalsha" && name != "eval" {
			// Connection set-up (HELLO, SELECT, …) runs through this hook
			// inside a pipeline's connection wait: batching it would deadlock.
			return next(ctx, cmd)
		}
		c := &pipeCall{cmd: cmd, done: make(chan struct{})}
		a.mu.Lock()
		a.queue = append(a.queue, c)
		a.mu.Unlock()
		select {
		case <-c.done:
		case a.slots <- struct{}{}:
			// Flushing until the queue is empty sends c, unless another
			// flusher has already taken it; either way c is on its way.
			a.flush()
			<-a.slots
			<-c.done
		case <-ctx.Done():
			// The command may still be sent; the caller has given up on it.
			return ctx.Err()
		}
		return cmd.Err()
	}
}

// flush sends the queued commands in pipelines until the queue is empty.
func (a *autoPipe) flush() {
	for {
		a.mu.Lock()
		n := min(len(a.queue), maxPipeline)
		batch := make([]*pipeCall, n)
		copy(batch, a.queue)
		a.queue = a.queue[:copy(a.queue, a.queue[n:])]
		a.mu.Unlock()
		if n == 0 {
			return
		}
		pipe := a.rdb.Pipeline()
		for _, c := range batch {
			pipe.Process(context.Background(), c.cmd)
		}
		pipe.Exec(context.Background()) // each command carries its own result and error
		for _, c := range batch {
			close(c.done)
		}
	}
}
