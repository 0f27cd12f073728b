package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/dedesales/exchange-connector/internal/grapherr"
)

// tokenSource gets app-only tokens with MSAL, one confidential client per
// stored secret. It uses the newest secret that works and falls back to the
// next when Entra rejects one (wrong, expired, revoked), so a rotation
// needs no downtime.
type tokenSource struct {
	scope    string
	onResult func(int64, error)

	mu      sync.Mutex
	apps    []credApp
	current int // index into apps of the secret in use
}

type credApp struct {
	secretID int64
	app      confidential.Client
}

func newTokenSource(creds Credentials, authorityURL, scope string, hc *http.Client, onResult func(int64, error)) (*tokenSource, error) {
	authority := strings.TrimRight(authorityURL, "/") + "/" + creds.TenantID
	ts := &tokenSource{scope: scope, onResult: onResult}
	for _, s := range creds.Secrets {
		cred, err := credential(s)
		if err != nil {
			return nil, fmt.Errorf("graph: credential %d: %w", s.ID, err)
		}
		// Instance discovery asks login.microsoftonline.com about the
		// authority; sovereign clouds and the simulator answer for themselves.
		app, err := confidential.New(authority, creds.ClientID, cred,
			confidential.WithHTTPClient(hc), confidential.WithInstanceDiscovery(false))
		if err != nil {
			return nil, fmt.Errorf("graph: credential %d: %w", s.ID, err)
		}
		ts.apps = append(ts.apps, credApp{secretID: s.ID, app: app})
	}
	return ts, nil
}

// credential is MSAL's form of a stored secret or certificate. For a
// certificate MSAL signs a client assertion (PS256, x5t#S256) with the
// private key; the key never leaves the process.
func credential(s Secret) (confidential.Credential, error) {
	if !s.Certificate {
		return confidential.NewCredFromSecret(s.Value)
	}
	certs, key, err := confidential.CertFromPEM([]byte(s.Value), "")
	if err != nil {
		// MSAL's messages name the PEM block, never its content.
		return confidential.Credential{}, &grapherr.Error{Kind: grapherr.ErrAuth, Op: "credentials",
			Message: "the stored certificate cannot be used: " + err.Error()}
	}
	return confidential.NewCredFromCert(certs, key)
}

// token returns a valid access token (MSAL caches it until shortly before
// it expires).
func (ts *tokenSource) token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	start := ts.current
	ts.mu.Unlock()
	var firstErr error
	for i := start; i < len(ts.apps); i++ {
		a := ts.apps[i]
		res, err := a.app.AcquireTokenByCredential(ctx, []string{ts.scope})
		if err == nil {
			ts.mu.Lock()
			changed := ts.current != i
			ts.current = i
			ts.mu.Unlock()
			if changed || res.Metadata.TokenSource == 0 {
				ts.report(a.secretID, nil)
			}
			return res.AccessToken, nil
		}
		gerr := tokenError(err)
		if firstErr == nil {
			firstErr = gerr
		}
		if !secretRejected(gerr) {
			return "", gerr // Entra unreachable: do not blame the secret
		}
		ts.report(a.secretID, gerr)
	}
	if start > 0 {
		// Every newer secret failed before; the one in use failed now. Start
		// from the newest again next time, in case it was fixed.
		ts.mu.Lock()
		ts.current = 0
		ts.mu.Unlock()
	}
	return "", firstErr
}

// CheckToken fetches a token and says which stored secret produced it.
func (c *Client) CheckToken(ctx context.Context) (secretID int64, err error) {
	ts, _, err := c.signer.current(ctx)
	if err != nil {
		return 0, err
	}
	if _, err := ts.token(ctx); err != nil {
		return 0, err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.apps[ts.current].secretID, nil
}

func (ts *tokenSource) report(id int64, err error) {
	if ts.onResult != nil {
		ts.onResult(id, err)
	}
}

var aadstsRE = regexp.MustCompile(`AADSTS\d+`)

// tokenError classifies an MSAL failure, keeping Entra's AADSTS code.
func tokenError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	e := &grapherr.Error{Kind: grapherr.ErrTransient, Op: "token", Err: err, AADSTS: aadstsRE.FindString(msg)}
	switch {
	case e.AADSTS != "":
		e.Kind = grapherr.ErrAuth
		e.Message = aadstsMeaning(e.AADSTS)
	case strings.Contains(msg, "status code was 4"), strings.Contains(msg, "invalid_client"):
		e.Kind = grapherr.ErrAuth
	}
	return e
}

// secretRejected: the failure is the secret's, so the next one may work.
func secretRejected(err error) bool {
	var e *grapherr.Error
	return errors.As(err, &e) && errors.Is(e.Kind, grapherr.ErrAuth)
}

// aadstsMeaning explains the Entra codes an operator meets most.
func aadstsMeaning(code string) string {
	switch code {
	case "AADSTS7000215":
		return "invalid client secret (wrong value, or the secret ID was entered instead of its value)"
	case "AADSTS7000222":
		return "the client secret has expired; create a new one in Entra and run `connector credentials rotate`"
	case "AADSTS700016":
		return "no application with this client ID in the tenant"
	case "AADSTS90002":
		return "tenant not found"
	case "AADSTS7000112":
		return "the application is disabled"
	case "AADSTS700027":
		return "Entra does not accept the certificate: it is not uploaded under the app's Certificates & secrets → Certificates, " +
			"was removed there, or has expired; upload its public part (the .cer/.pem without the key) and compare the thumbprints"
	case "AADSTS700024":
		return "the signed client assertion is outside its valid time range; check the clock of the connector's machine (NTP)"
	case "AADSTS7000218":
		return "neither a client secret nor a certificate was sent"
	default:
		return "Entra ID refused the token request"
	}
}
