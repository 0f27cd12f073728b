package secret

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

// selfSigned makes a certificate as `openssl req -x509 -newkey rsa:2048`
// does, returning the certificate and key PEM.
func selfSigned(t *testing.T, key any, pub any, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "exchange-connector"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
}

func TestParseCertificate(t *testing.T) {
	now := time.Now()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	notAfter := now.Add(365 * 24 * time.Hour).Truncate(time.Second)
	certPEM, keyPEM := selfSigned(t, key, &key.PublicKey, notAfter)

	// Key before or after the certificate, PKCS#1 or PKCS#8: one normal form.
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	var first string
	for i, in := range [][]byte{append(append([]byte{}, certPEM...), keyPEM...), append(append([]byte{}, keyPEM...), certPEM...),
		append(append([]byte{}, certPEM...), pkcs1...)} {
		info, norm, err := ParseCertificate(in, now)
		if err != nil {
			t.Fatalf("form %d: %v", i, err)
		}
		if len(info.Thumbprint) != 40 || strings.ToUpper(info.Thumbprint) != info.Thumbprint || !info.NotAfter.Equal(notAfter.UTC()) ||
			info.Subject != "CN=exchange-connector" {
			t.Errorf("form %d: %+v", i, info)
		}
		if first == "" {
			first = norm
		} else if norm != first {
			t.Errorf("form %d normalised differently", i)
		}
	}
	if !strings.HasPrefix(first, "-----BEGIN CERTIFICATE-----") || !strings.Contains(first, "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("normal form:\n%s", first)
	}

	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, otherKey := selfSigned(t, other, &other.PublicKey, notAfter)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecCert, ecKey := selfSigned(t, ec, &ec.PublicKey, notAfter)
	expiredCert, expiredKey := selfSigned(t, key, &key.PublicKey, now.Add(-time.Minute))
	encrypted := []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n")
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"pfx", []byte{0x30, 0x82, 0x0a, 0x01, 0x02}, "openssl pkcs12"},
		{"certificate only", certPEM, "no private key"},
		{"key only", keyPEM, "no certificate"},
		{"key of another certificate", append(append([]byte{}, certPEM...), otherKey...), "does not belong"},
		{"ecdsa", append(append([]byte{}, ecCert...), ecKey...), "RSA key"},
		{"expired", append(append([]byte{}, expiredCert...), expiredKey...), "expired on"},
		{"encrypted key", append(append([]byte{}, certPEM...), encrypted...), "encrypted"},
	} {
		_, _, err := ParseCertificate(tc.in, now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY-----") {
			t.Errorf("%s: the error shows key material: %v", tc.name, err)
		}
	}
	if _, _, err := ParseCertificate([]byte{0x30, 0x82}, now); !errors.Is(err, ErrNotPEM) {
		t.Errorf("binary input: %v, want ErrNotPEM", err)
	}
}
