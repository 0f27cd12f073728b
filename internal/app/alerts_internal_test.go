package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dedesales/exchange-connector/internal/config"
)

// The alert mailer loads extra_ca_file with the Graph client's loader: a
// file that trusts nothing is an error, not silently the system's CAs.
func TestMailerRefusesABadExtraCAFile(t *testing.T) {
	cfg := config.Defaults()
	cfg.SMTPHost, cfg.SMTPFrom = "smtp.example.com", "connector@example.com"
	cfg.ExtraCAFile = filepath.Join(t.TempDir(), "ca.der")
	if err := os.WriteFile(cfg.ExtraCAFile, []byte{0x30, 0x82, 0x01, 0x0a}, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := newMailer(&cfg); err == nil || !strings.Contains(err.Error(), "extra_ca_file") || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("newMailer = %v, want an extra_ca_file error", err)
	}
}
