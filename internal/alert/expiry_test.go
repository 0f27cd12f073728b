package alert

import (
	"testing"
	"time"
)

func TestSecretExpiryLevels(t *testing.T) {
	exp := time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		before    time.Duration // now = exp - before
		wantLevel string
		wantDue   bool
	}{
		{"far ahead", 60 * 24 * time.Hour, "", false},
		{"just over 30 days", 30*24*time.Hour + time.Hour, "", false},
		{"exactly 30 days", 30 * 24 * time.Hour, "30d", true},
		{"29 days", 29 * 24 * time.Hour, "30d", true},
		{"15 days", 15 * 24 * time.Hour, "30d", true},
		{"14 days", 14 * 24 * time.Hour, "14d", true},
		{"8 days", 8 * 24 * time.Hour, "14d", true},
		{"7 days", 7 * 24 * time.Hour, "7d", true},
		{"6.5 days rounds up to 7", 6*24*time.Hour + 12*time.Hour, "7d", true},
		{"first check 5 days before: only 7d", 5 * 24 * time.Hour, "7d", true},
		{"3 days", 3 * 24 * time.Hour, "3d", true},
		{"2 days", 2 * 24 * time.Hour, "3d", true},
		{"1 day", 24 * time.Hour, "1d", true},
		{"1 hour", time.Hour, "1d", true},
		{"at expiry", 0, "expired-2026-12-31", true},
		{"hours after", -11 * time.Hour, "expired-2026-12-31", true},
		{"next day", -13 * time.Hour, "expired-2027-01-01", true},
		{"ten days after", -10 * 24 * time.Hour, "expired-2027-01-10", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			level, due := SecretExpiryLevels(exp.Add(-tt.before), exp)
			if level != tt.wantLevel || due != tt.wantDue {
				t.Errorf("SecretExpiryLevels(exp-%v) = %q, %v; want %q, %v", tt.before, level, due, tt.wantLevel, tt.wantDue)
			}
		})
	}
}

func TestSecretExpiryLevelsDateInNowsLocation(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	exp := time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)
	level, _ := SecretExpiryLevels(exp.Add(time.Minute).In(berlin), exp)
	if level != "expired-2027-01-01" {
		t.Errorf("level = %q, want the date in now's location", level)
	}
}

func TestSecretExpiringDays(t *testing.T) {
	exp := time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC)
	d := SecretExpiring{ExpiresAt: exp, CheckedAt: exp.Add(-6*24*time.Hour - time.Hour)}
	if d.DaysLeft() != 7 || d.Expired() {
		t.Errorf("DaysLeft, Expired = %d, %v; want 7, false", d.DaysLeft(), d.Expired())
	}
	d.CheckedAt = exp.Add(2*24*time.Hour + time.Hour)
	if !d.Expired() || d.DaysExpired() != 2 {
		t.Errorf("Expired, DaysExpired = %v, %d; want true, 2", d.Expired(), d.DaysExpired())
	}
}
