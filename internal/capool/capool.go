// Package capool loads the extra CA file (extra_ca_file) that the connector
// trusts besides the system's CAs: one loader for every client that honours
// it (Microsoft Graph and Entra ID, the SMTP server of the alerts), so that
// they trust the same certificates and refuse the same bad files.
package capool

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// Load returns the system's CA pool (an empty pool where the system has
// none) plus every certificate of the PEM file at path.
//
// A file that would silently trust nothing is an error, so that it shows up
// at start rather than as TLS failures later: an unreadable file, a file
// without any PEM certificate (DER, a typo'd path to some other file), a PEM
// block that is not a certificate (a private key, OpenSSL's "TRUSTED
// CERTIFICATE") and a certificate that does not parse. Text between the
// blocks (the comments of CA bundles) is allowed.
func Load(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("extra CA file: %w", err)
	}
	certs, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("extra CA file %s: %w", path, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// parse decodes every PEM block of data as a certificate.
func parse(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %q, not a CERTIFICATE", n, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("holds no PEM certificate")
	}
	return certs, nil
}
