package alert

import (
	"testing"
	"time"
)

// every returns n mail times, step apart, the last at last.
func every(last time.Time, step time.Duration, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = last.Add(-time.Duration(n-1-i) * step)
	}
	return out
}

func TestSilentMailbox(t *testing.T) {
	// Wednesday 2026-11-04 10:00 UTC.
	wed := time.Date(2026, 11, 4, 10, 0, 0, 0, time.UTC)
	fri := time.Date(2026, 11, 6, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		mails []time.Time
		now   time.Time
		want  bool
	}{
		{"no mail at all", nil, wed, false},
		{"too few mails to know a rhythm", every(wed.Add(-72*time.Hour), time.Hour, 4), wed, false},
		{"hourly, silent 3 hours", every(wed.Add(-3*time.Hour), time.Hour, 20), wed, false},
		{"hourly, silent 20 hours: under the 24 h floor", every(wed.Add(-20*time.Hour), time.Hour, 20), wed, false},
		{"hourly, silent 2 working days", every(wed.Add(-48*time.Hour), time.Hour, 20), wed, true},
		{"hourly until Friday evening, Monday morning", every(fri, time.Hour, 20), time.Date(2026, 11, 9, 9, 0, 0, 0, time.UTC), false},
		{"hourly until Friday evening, Tuesday evening", every(fri, time.Hour, 20), time.Date(2026, 11, 10, 18, 0, 0, 0, time.UTC), true},
		{"every 2 days, silent 5 days", every(wed.Add(-5*24*time.Hour), 48*time.Hour, 10), wed, false},
		{"every 2 days, silent 5 weeks", every(wed.Add(-35*24*time.Hour), 48*time.Hour, 10), wed, true},
		{"one long holiday does not move the median", append(every(wed.Add(-50*time.Hour), time.Hour, 10), wed.Add(-30*24*time.Hour)), wed, true},
		{"order does not matter", []time.Time{wed.Add(-49 * time.Hour), wed.Add(-53 * time.Hour), wed.Add(-50 * time.Hour), wed.Add(-52 * time.Hour), wed.Add(-51 * time.Hour)}, wed, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SilentMailbox(tt.mails, tt.now); got != tt.want {
				t.Errorf("SilentMailbox = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWorkingTime(t *testing.T) {
	fri := time.Date(2026, 11, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		from, to time.Time
		want     time.Duration
	}{
		{fri, fri.Add(time.Hour), time.Hour},
		{fri, fri.Add(72 * time.Hour), 24 * time.Hour}, // Fri 12:00 → Mon 12:00
		{fri.Add(24 * time.Hour), fri.Add(36 * time.Hour), 0},
		{fri, fri.Add(-time.Hour), 0},
	}
	for _, tt := range tests {
		if got := workingTime(tt.from, tt.to); got != tt.want {
			t.Errorf("workingTime(%v, %v) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}
