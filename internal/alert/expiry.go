package alert

import (
	"fmt"
	"math"
	"time"
)

// ExpiryThresholds are the days before a secret's expiry at which an alert
// goes out, each once.
var ExpiryThresholds = []int{1, 3, 7, 14, 30}

// SecretExpiryLevels says which alert level a secret expiring at expiresAt
// is at now, and whether any is due. Before expiry the days left are
// rounded up and the level is the smallest threshold they reach: "30d"
// from 30 days before, then "14d", "7d", "3d", "1d" (a connector that was
// down and first checks 5 days before sends "7d" only, not the levels it
// missed). From the moment of expiry the level is "expired-YYYY-MM-DD", the
// date of now in now's location, so one alert goes out per day. More than
// 30 days before expiry nothing is due. The caller passes the nearer of the
// operator's date and Graph's end date.
func SecretExpiryLevels(now, expiresAt time.Time) (level string, due bool) {
	if !now.Before(expiresAt) {
		return "expired-" + now.Format(time.DateOnly), true
	}
	days := int(math.Ceil(expiresAt.Sub(now).Hours() / 24))
	for _, t := range ExpiryThresholds {
		if days <= t {
			return fmt.Sprintf("%dd", t), true
		}
	}
	return "", false
}
