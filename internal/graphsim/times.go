package graphsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseDuration accepts Go durations plus a day suffix: "7d", "-3d",
// "1d12h", "90m".
func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	neg := false
	if strings.HasPrefix(v, "-") || strings.HasPrefix(v, "+") {
		neg = v[0] == '-'
		v = v[1:]
	}
	var d time.Duration
	if i := strings.Index(v, "d"); i >= 0 {
		days, err := strconv.ParseFloat(v[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", v, err)
		}
		d = time.Duration(days * 24 * float64(time.Hour))
		v = v[i+1:]
	}
	if v != "" {
		rest, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", v, err)
		}
		d += rest
	}
	if neg {
		d = -d
	}
	return d, nil
}

// parseTime accepts RFC 3339, a date (YYYY-MM-DD, midnight UTC), "now",
// or a duration relative to now ("-3d", "+10d", "-2h30m").
func parseTime(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "now" || v == "" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t.UTC(), nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want RFC 3339, YYYY-MM-DD, now or a relative time like -3d: %w", v, err)
	}
	return now.Add(d).UTC(), nil
}
