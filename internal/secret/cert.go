package secret

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1" // #nosec G505 -- the thumbprint Entra shows is SHA-1; nothing is signed with it
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Certificate is the public part of a certificate credential: what Entra
// shows under "Certificates & secrets" and what the connector may print.
type Certificate struct {
	// Thumbprint is the SHA-1 thumbprint in upper-case hex, as Entra shows it.
	Thumbprint string
	Subject    string
	NotBefore  time.Time
	NotAfter   time.Time
}

// ErrNotPEM means the data is not PEM, e.g. a PKCS#12 (.pfx) file.
var ErrNotPEM = errors.New("not a PEM file")

// ParseCertificate checks a certificate credential: PEM holding one
// certificate and the unencrypted RSA private key that belongs to it (MSAL
// signs client assertions with RSA; Entra accepts RSA keys only). It returns
// the certificate's public facts and the credential normalised to the
// certificate followed by the key in PKCS#8, which is what gets sealed.
// The private key appears in no error.
func ParseCertificate(data []byte, now time.Time) (Certificate, string, error) {
	var (
		certs []*x509.Certificate
		key   any
		rest  = data
	)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if _, encrypted := block.Headers["DEK-Info"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
			return Certificate{}, "", errors.New("the private key is encrypted; store it unencrypted " +
				"(openssl pkey -in key.pem -out plain.pem) in a file only the connector's user can read")
		}
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return Certificate{}, "", fmt.Errorf("the certificate cannot be read: %w", err)
			}
			certs = append(certs, c)
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			if key != nil {
				return Certificate{}, "", errors.New("the file holds more than one private key")
			}
			var err error
			if block.Type == "PRIVATE KEY" {
				key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
			} else {
				key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
			}
			if err != nil {
				return Certificate{}, "", errors.New("the private key cannot be read")
			}
		}
	}
	if len(certs) == 0 && key == nil {
		if !bytes.Contains(data, []byte("-----BEGIN")) {
			return Certificate{}, "", fmt.Errorf("%w: a .pfx/.p12 file must be converted first "+
				"(openssl pkcs12 -in cert.pfx -out cert.pem -nodes)", ErrNotPEM)
		}
		return Certificate{}, "", errors.New("no certificate and no private key found")
	}
	if len(certs) == 0 {
		return Certificate{}, "", errors.New("no certificate found; the file must hold the certificate and its private key")
	}
	if key == nil {
		return Certificate{}, "", errors.New("no private key found; the file must hold the certificate and its private key " +
			"(cat cert.pem key.pem > credential.pem)")
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return Certificate{}, "", fmt.Errorf("the private key is %T; Entra ID and MSAL need an RSA key (openssl req -newkey rsa:2048 …)", key)
	}
	// The key's certificate is the one that goes to Entra (a chain may follow it).
	var cert *x509.Certificate
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&rsaKey.PublicKey) {
			cert = c
			break
		}
	}
	if cert == nil {
		return Certificate{}, "", errors.New("the private key does not belong to the certificate in the file")
	}
	info := Certificate{Thumbprint: Thumbprint(cert), Subject: cert.Subject.String(),
		NotBefore: cert.NotBefore.UTC(), NotAfter: cert.NotAfter.UTC()}
	if !now.Before(cert.NotAfter) {
		return info, "", fmt.Errorf("the certificate %s expired on %s; create a new one", info.Thumbprint, info.NotAfter.Format(time.DateOnly))
	}
	der, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		return Certificate{}, "", errors.New("the private key cannot be encoded")
	}
	var out strings.Builder
	_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	_ = pem.Encode(&out, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return info, out.String(), nil
}

// Thumbprint is a certificate's SHA-1 thumbprint in upper-case hex, the
// form Entra shows ("Thumbprint") and names in AADSTS700027.
func Thumbprint(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw) // #nosec G401 -- an identifier, as in Entra
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
