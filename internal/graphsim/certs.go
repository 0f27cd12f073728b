package graphsim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" // #nosec G505 -- x5t is a SHA-1 thumbprint; nothing is signed with it
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// CA is a self-signed certificate authority that issues the simulator's
// server certificate. Clients trust it via PEM (CONNECTOR_EXTRA_CA_FILE) or
// CertPool.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// NewCA creates a fresh CA valid for ten years.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "graphsim test CA", Organization: []string{"graphsim"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &CA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

// PEM is the CA certificate in PEM form.
func (ca *CA) PEM() []byte { return ca.pem }

// WriteFile writes the CA certificate (PEM) to path.
func (ca *CA) WriteFile(path string) error {
	if err := os.WriteFile(path, ca.pem, 0o644); err != nil {
		return fmt.Errorf("write CA: %w", err)
	}
	return nil
}

// CertPool is a pool holding only this CA.
func (ca *CA) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Client is an HTTP client that trusts this CA.
func (ca *CA) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: ca.CertPool(), MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
	}}
}

// ServerTLSConfig issues a server certificate for 127.0.0.1, ::1,
// localhost and the extra hosts (names or IPs) and returns a TLS config
// serving it.
func (ca *CA) ServerTLSConfig(hosts ...string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "graphsim"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("create server certificate: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}},
	}, nil
}

// Running is a simulator serving HTTPS on a real listener.
type Running struct {
	*Server
	// URL is the base URL (https://127.0.0.1:PORT): authority URL, and
	// URL+"/v1.0" is the Graph base URL.
	URL string
	// CA issued the server certificate; CA.PEM() is what clients trust.
	CA  *CA
	srv *http.Server
	ln  net.Listener
}

// Start runs a simulator over HTTPS on addr ("127.0.0.1:0" when empty) with
// a fresh CA. Close it when done.
func Start(addr string, opts Options) (*Running, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ca, err := NewCA()
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	cfg, err := ca.ServerTLSConfig(host)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s := New(opts)
	rs := &Running{Server: s, CA: ca, ln: ln, URL: "https://" + ln.Addr().String(),
		srv: &http.Server{Handler: s, TLSConfig: cfg, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}}
	go rs.srv.ServeTLS(ln, "", "")
	return rs, nil
}

// GraphURL is the Graph base URL (…/v1.0).
func (rs *Running) GraphURL() string { return rs.URL + "/v1.0" }

// Close stops the server and the notification delivery.
func (rs *Running) Close() error {
	err := rs.srv.Close()
	rs.Server.Close()
	return err
}

// appCert is the public part of a certificate registered for the app
// (Entra: Certificates & secrets → Certificates → Upload certificate).
type appCert struct {
	KeyID       string
	DisplayName string
	cert        *x509.Certificate
	sha1, s256  []byte // thumbprints (x5t, x5t#S256)
	Start, End  time.Time
}

// appCerts are the app's registered certificates.
type appCerts struct {
	mu    sync.RWMutex
	certs []*appCert
}

// CertificateInput registers a certificate's public part for the app
// (POST /_sim/certificates "add"). PEM holds the certificate (a private key
// beside it is ignored, as Entra only ever sees the public part). The
// validity is the certificate's unless StartDateTime/EndDateTime (RFC 3339
// or relative, as for secrets) narrow it.
type CertificateInput struct {
	PEM           string `json:"pem" yaml:"pem"`
	DisplayName   string `json:"displayName" yaml:"displayName"`
	StartDateTime string `json:"startDateTime" yaml:"startDateTime"`
	EndDateTime   string `json:"endDateTime" yaml:"endDateTime"`
}

// CertificateInfo is a registered certificate as the state shows it.
type CertificateInfo struct {
	KeyID         string    `json:"keyId"`
	DisplayName   string    `json:"displayName"`
	Thumbprint    string    `json:"thumbprint"` // SHA-1, upper-case hex, as Entra shows it
	StartDateTime time.Time `json:"startDateTime"`
	EndDateTime   time.Time `json:"endDateTime"`
}

// AddCertificate registers a certificate for the app and returns its
// thumbprint. Entra accepts RSA keys only.
func (s *Server) AddCertificate(in CertificateInput) (string, error) {
	var cert *x509.Certificate
	rest := []byte(in.PEM)
	for cert == nil {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return "", errors.New("certificate: no PEM CERTIFICATE block")
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return "", fmt.Errorf("certificate: %w", err)
		}
		cert = c
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return "", fmt.Errorf("certificate: the key is %T; Entra accepts RSA keys only", cert.PublicKey)
	}
	now := s.now()
	start, end := cert.NotBefore, cert.NotAfter
	var err error
	if in.StartDateTime != "" {
		if start, err = parseTime(in.StartDateTime, now); err != nil {
			return "", fmt.Errorf("certificate startDateTime: %w", err)
		}
	}
	if in.EndDateTime != "" {
		if end, err = parseTime(in.EndDateTime, now); err != nil {
			return "", fmt.Errorf("certificate endDateTime: %w", err)
		}
	}
	h1, h256 := sha1.Sum(cert.Raw), sha256.Sum256(cert.Raw)
	c := &appCert{KeyID: newGUID(), DisplayName: in.DisplayName, cert: cert, sha1: h1[:], s256: h256[:], Start: start, End: end}
	if c.DisplayName == "" {
		c.DisplayName = cert.Subject.String()
	}
	s.appCerts.mu.Lock()
	s.appCerts.certs = append(s.appCerts.certs, c)
	s.appCerts.mu.Unlock()
	return c.thumbprint(), nil
}

func (c *appCert) thumbprint() string { return strings.ToUpper(hex.EncodeToString(c.sha1)) }

// RemoveCertificate deletes a registered certificate; ref is its key ID,
// thumbprint or display name.
func (s *Server) RemoveCertificate(ref string) error {
	s.appCerts.mu.Lock()
	defer s.appCerts.mu.Unlock()
	for i, c := range s.appCerts.certs {
		if c.KeyID == ref || strings.EqualFold(c.thumbprint(), ref) || c.DisplayName == ref {
			s.appCerts.certs = append(s.appCerts.certs[:i], s.appCerts.certs[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("remove certificate %q: %w", ref, errNotFound)
}

// Certificates lists the registered certificates.
func (s *Server) Certificates() []CertificateInfo {
	s.appCerts.mu.RLock()
	defer s.appCerts.mu.RUnlock()
	out := make([]CertificateInfo, 0, len(s.appCerts.certs))
	for _, c := range s.appCerts.certs {
		out = append(out, CertificateInfo{c.KeyID, c.DisplayName, c.thumbprint(), c.Start, c.End})
	}
	return out
}

// keyCredentialsJSON lists the registered certificates as Graph's
// application.keyCredentials (the public part only; "key" is returned only
// when selected explicitly, so it is null here as in a plain GET).
func (s *Server) keyCredentialsJSON() []any {
	s.appCerts.mu.RLock()
	defer s.appCerts.mu.RUnlock()
	out := make([]any, 0, len(s.appCerts.certs))
	for _, c := range s.appCerts.certs {
		out = append(out, map[string]any{
			"customKeyIdentifier": c.thumbprint(),
			"displayName":         c.DisplayName,
			"endDateTime":         formatTime(c.End),
			"key":                 nil,
			"keyId":               c.KeyID,
			"startDateTime":       formatTime(c.Start),
			"type":                "AsymmetricX509Cert",
			"usage":               "Verify",
		})
	}
	return out
}

// certByThumbprint finds a registered certificate by the x5t (SHA-1) or
// x5t#S256 header of a client assertion (base64url or, as MSAL Go sends
// it, standard base64).
func (s *Server) certByThumbprint(x5t, x5tS256 string) (*appCert, string) {
	decode := func(v string) []byte {
		if v == "" {
			return nil
		}
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
			if b, err := enc.DecodeString(v); err == nil {
				return b
			}
		}
		return nil
	}
	want1, want256 := decode(x5t), decode(x5tS256)
	shown := strings.ToUpper(hex.EncodeToString(want1))
	if want1 == nil {
		shown = strings.ToUpper(hex.EncodeToString(want256))
	}
	s.appCerts.mu.RLock()
	defer s.appCerts.mu.RUnlock()
	for _, c := range s.appCerts.certs {
		if (want1 != nil && bytes.Equal(c.sha1, want1)) || (want256 != nil && bytes.Equal(c.s256, want256)) {
			return c, c.thumbprint()
		}
	}
	return nil, shown
}

// ctlCertificates: {"add":{CertificateInput}, "remove":"ref"}; answers the
// registered certificates.
func (s *Server) ctlCertificates(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Add    *CertificateInput `json:"add"`
		Remove string            `json:"remove"`
	}
	if err := decodeJSON(r, &in); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	var err error
	if in.Add != nil {
		_, err = s.AddCertificate(*in.Add)
	}
	if err == nil && in.Remove != "" {
		err = s.RemoveCertificate(in.Remove)
	}
	if err != nil {
		ctlError(w, statusOf(err), err)
		return
	}
	ctlJSON(w, http.StatusOK, map[string]any{"certificates": s.Certificates()})
}

// NewAppCertificate makes a self-signed RSA certificate as
// `openssl req -x509 -newkey rsa:2048 -nodes -days N` does, valid until
// notAfter, and returns the certificate and its private key (PKCS#8) as
// PEM: the public part to register with AddCertificate, both together for
// the connector's --certificate-file (tests, demo).
func NewAppCertificate(commonName string, notAfter time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: commonName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}), nil
}
