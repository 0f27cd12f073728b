// Command graphsim runs the Microsoft Graph + Entra ID simulator over HTTPS.
//
//	graphsim --listen ADDR [--scenario FILE] --tenant-id T --client-id C \
//	    --client-secret S --ca-out FILE [--allow-http-notify]
//
// See internal/graphsim for the endpoints, the control API and the
// scenario format.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dedesales/exchange-connector/internal/graphsim"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "graphsim:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("graphsim", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8443", "address to serve HTTPS on")
	scenario := fs.String("scenario", "", "YAML scenario file (default: empty tenant)")
	tenantID := fs.String("tenant-id", "", "tenant ID")
	clientID := fs.String("client-id", "", "client (application) ID")
	clientSecret := fs.String("client-secret", "", "client secret")
	caOut := fs.String("ca-out", "", "file to write the CA certificate (PEM) to")
	allowHTTP := fs.Bool("allow-http-notify", false, "also accept http://127.0.0.1|localhost notification URLs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenantID == "" || *clientID == "" || *clientSecret == "" || *caOut == "" {
		return errors.New("--tenant-id, --client-id, --client-secret and --ca-out are required")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)

	ca, err := graphsim.NewCA()
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", *listen, err)
	}
	tlsCfg, err := ca.ServerTLSConfig(host)
	if err != nil {
		return err
	}
	if err := ca.WriteFile(*caOut); err != nil {
		return err
	}
	sim := graphsim.New(graphsim.Options{
		TenantID: *tenantID, ClientID: *clientID, ClientSecret: *clientSecret,
		AllowHTTPNotify: *allowHTTP, Logger: log,
	})
	defer sim.Close()
	if *scenario != "" {
		sc, err := graphsim.LoadScenario(*scenario)
		if err != nil {
			return err
		}
		if err := sim.ApplyScenario(sc); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: sim, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	log.Info("graphsim listening", "url", "https://"+ln.Addr().String(), "graph", "https://"+ln.Addr().String()+"/v1.0",
		"tenant", *tenantID, "ca", *caOut, "scenario", *scenario)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("graphsim shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
