package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/dedesales/exchange-connector/internal/graphsim"
)

// Sim drives the Graph simulator through its control API (/_sim/…) over
// HTTPS, trusting the CA file graphsim wrote with --ca-out.
type Sim struct {
	base string
	hc   *http.Client
}

// NewSim returns a control-API client for the simulator at base
// (https://127.0.0.1:PORT).
func NewSim(base, caFile string) (*Sim, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("loadgen: simulator CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("loadgen: no certificate in %s", caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConns: 128, MaxIdleConnsPerHost: 128}
	return &Sim{base: strings.TrimRight(base, "/"), hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

// Close releases idle connections.
func (s *Sim) Close() { s.hc.CloseIdleConnections() }

func (s *Sim) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("loadgen: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("loadgen: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("loadgen: %s %s: %s: %.200s", method, path, resp.Status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("loadgen: %s %s: %w", method, path, err)
		}
	}
	return nil
}

// Message is one POST /_sim/messages.
type Message struct {
	Mailbox     string           `json:"mailbox"`
	Folder      string           `json:"folder"`
	Message     map[string]any   `json:"message"`
	Attachments []map[string]any `json:"attachments,omitempty"`
}

// CreateMessage stores a message in the simulator, which notifies the
// subscribers.
func (s *Sim) CreateMessage(ctx context.Context, m Message) error {
	return s.do(ctx, http.MethodPost, "/_sim/messages", m, nil)
}

// SetFaults merges faults into the simulator's (POST /_sim/faults).
func (s *Sim) SetFaults(ctx context.Context, faults map[string]any) error {
	return s.do(ctx, http.MethodPost, "/_sim/faults", faults, nil)
}

// Stats returns GET /_sim/stats (the counters, without the tenant).
func (s *Sim) Stats(ctx context.Context) (*graphsim.Stats, error) {
	var st graphsim.Stats
	if err := s.do(ctx, http.MethodGet, "/_sim/stats", nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}
