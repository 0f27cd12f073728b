package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/dedesales/exchange-connector/internal/app"
	"github.com/dedesales/exchange-connector/internal/config"
)

// cmdServe runs the connector's own Serve (as `connector serve`) inside
// loadgen, with net/http/pprof on a separate loopback listener, so that the
// real service can be profiled under load without a pprof endpoint in the
// product:
//
//	loadgen serve --role=web --pprof 127.0.0.1:6060 &
//	wrk … ; curl -o cpu.prof 'http://127.0.0.1:6060/debug/pprof/profile?seconds=8'
func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("serve", "serve [--role=all|web|worker] --pprof ADDR [--config FILE]", stderr)
	role := fs.String("role", app.RoleWeb, "all, web or worker")
	cfgFile := fs.String("config", "", "connector configuration file (default: as the connector; env overrides)")
	pprofAddr := fs.String("pprof", "127.0.0.1:6060", "loopback address of the pprof endpoint")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgFile, nil)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *pprofAddr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	psrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go psrv.Serve(ln)
	defer psrv.Close()
	fmt.Fprintf(stderr, "loadgen serve: pprof on http://%s/debug/pprof/\n", ln.Addr())
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	err = app.Serve(ctx, app.Options{Config: cfg, Role: *role, Log: log})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
