package alert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes of SMTPConfig.TLS.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, required (default; port 587)
	TLSImplicit = "tls"      // TLS from the first byte, "SMTPS" (port 465)
	TLSNone     = "none"     // no encryption: only for a relay on localhost or a trusted network (port 25)
)

// DefaultSMTPTimeout bounds connecting and each SMTP command.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig is how alert mail leaves. The proposed configuration keys (YAML
// key, environment variable) are:
//
//	Host         smtp_host           CONNECTOR_SMTP_HOST           required to send alerts
//	Port         smtp_port           CONNECTOR_SMTP_PORT           0: 587, 465 or 25 by TLS mode
//	TLS          smtp_tls            CONNECTOR_SMTP_TLS            starttls (default) | tls | none
//	Username     smtp_username       CONNECTOR_SMTP_USERNAME       empty: no SMTP AUTH
//	PasswordFile smtp_password_file  CONNECTOR_SMTP_PASSWORD_FILE  file holding the password
//	From         smtp_from           CONNECTOR_SMTP_FROM           e.g. "Exchange Connector <connector@example.com>"
//	Timeout      smtp_timeout        CONNECTOR_SMTP_TIMEOUT        Go duration, default 30s
//	RootCAs      (CONNECTOR_EXTRA_CA_FILE, shared with Graph)      nil: the system's roots
//
// The password is only ever read from a file, never from the config or the
// command line; it is sent only over TLS (SMTP AUTH with the strongest
// mechanism the server offers: SCRAM, CRAM-MD5, PLAIN or LOGIN).
type SMTPConfig struct {
	Host         string
	Port         int
	TLS          string
	Username     string
	PasswordFile string
	From         string
	Timeout      time.Duration
	RootCAs      *x509.CertPool
}

// Validate checks the configuration and fills in defaults.
func (c *SMTPConfig) Validate() error {
	if c.Host == "" {
		return errors.New("alert: smtp_host is not set")
	}
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	defPort := map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[c.TLS]
	if defPort == 0 {
		return fmt.Errorf("alert: smtp_tls %q is not starttls, tls or none", c.TLS)
	}
	if c.Port == 0 {
		c.Port = defPort
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("alert: smtp_port %d is not a port", c.Port)
	}
	if c.Username != "" && c.TLS == TLSNone {
		return errors.New("alert: smtp_username needs smtp_tls starttls or tls: the password is never sent unencrypted")
	}
	if c.Username != "" && c.PasswordFile == "" {
		return errors.New("alert: smtp_username is set but smtp_password_file is not")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("alert: smtp_from %q is not an e-mail address: %w", c.From, err)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultSMTPTimeout
	}
	return nil
}

// Mailer sends plain-text mail over SMTP.
type Mailer struct {
	cfg      SMTPConfig
	password string
}

// NewMailer validates cfg and reads the password file (once: a changed
// password takes a restart).
func NewMailer(cfg SMTPConfig) (*Mailer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Mailer{cfg: cfg}
	if cfg.Username != "" {
		b, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("alert: reading smtp_password_file: %w", err)
		}
		m.password = strings.TrimRight(string(b), "\r\n")
	}
	return m, nil
}

// Send delivers one message to all recipients (one SMTP transaction).
// The message is marked as automatically generated (RFC 3834), so that
// out-of-office replies are not sent back.
func (m *Mailer) Send(ctx context.Context, to []string, subject, body string) error {
	if len(to) == 0 {
		return ErrNoRecipients
	}
	msg := gomail.NewMsg()
	if err := msg.From(m.cfg.From); err != nil {
		return fmt.Errorf("alert: from address: %w", err)
	}
	if err := msg.To(to...); err != nil {
		return fmt.Errorf("alert: recipients: %w", err)
	}
	msg.Subject(subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader("X-Auto-Response-Suppress", "All")
	msg.SetBodyString(gomail.TypeTextPlain, body)

	client, err := gomail.NewClient(m.cfg.Host, m.options()...)
	if err != nil {
		return fmt.Errorf("alert: smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("alert: sending via %s:%d: %w", m.cfg.Host, m.cfg.Port, err)
	}
	return nil
}

func (m *Mailer) options() []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(m.cfg.Port),
		gomail.WithTimeout(m.cfg.Timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: m.cfg.Host, RootCAs: m.cfg.RootCAs, MinVersion: tls.VersionTLS12}),
	}
	switch m.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if m.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(m.cfg.Username), gomail.WithPassword(m.password))
	}
	return opts
}
