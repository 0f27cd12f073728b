// Command loadgen drives the Graph simulator (cmd/graphsim) and the
// connector and measures them: pipeline throughput and latency, backlog,
// the connector's memory, the initial sync, and the intake baseline for wrk.
// deploy/local/bench.sh (make bench) runs it; see internal/loadgen.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/dedesales/exchange-connector/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := loadgen.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
