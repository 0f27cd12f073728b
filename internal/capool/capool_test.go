package capool_test

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/capool"
)

func write(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadTrustsTheFilesCertificates(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer other.Close()
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	// A bundle as distributions ship them: comments between the blocks.
	bundle := "# Issuer: the test server\n" + string(certPEM) + "\n# another one\n" +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.Certificate().Raw}))

	pool, err := capool.Load(write(t, []byte(bundle)))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*httptest.Server{srv, other} {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := hc.Get(s.URL)
		if err != nil {
			t.Fatalf("a server whose certificate is in the file is not trusted: %v", err)
		}
		resp.Body.Close()
	}
}

func TestLoadRefusesFilesThatTrustNothing(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	der := srv.Certificate().Raw
	good := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no PEM certificate"},
		{"DER instead of PEM", der, "no PEM certificate"},
		{"text", []byte("this is not a certificate\n"), "no PEM certificate"},
		{"a private key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), `"PRIVATE KEY", not a CERTIFICATE`},
		{"a broken certificate after a good one", append(append([]byte{}, good...), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})...), "PEM block 2"},
		{"OpenSSL's trusted form", pem.EncodeToMemory(&pem.Block{Type: "TRUSTED CERTIFICATE", Bytes: der}), "not a CERTIFICATE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, tc.data)
			_, err := capool.Load(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Load = %v, want an error naming the file and %q", err, tc.want)
			}
		})
	}
	if _, err := capool.Load(filepath.Join(t.TempDir(), "missing.pem")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
