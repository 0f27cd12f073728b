package alert

import (
	"slices"
	"time"
)

// Parameters of SilentMailbox.
const (
	// SilentMinMails is how many recent mails it takes to know a mailbox's
	// rhythm; with fewer, a mailbox is never called silent.
	SilentMinMails = 5
	// SilentFactor is how many usual gaps of silence are suspicious.
	SilentFactor = 10
	// SilentFloor is the least silence that is ever suspicious.
	SilentFloor = 24 * time.Hour
)

// SilentMailbox reports whether a mailbox has been silent for far longer
// than its usual rhythm: the heuristic behind KindMailboxSilent.
//
// lastMails are the times of its recent mails (any order; e.g. the last
// 50). Its rhythm is the median gap between consecutive mails; it is
// silent when the time since its last mail exceeds max(SilentFloor,
// SilentFactor × median). Weekends do not count: gaps and silence are
// measured in Monday–Friday time (in the location of the times), so a
// Friday-evening-to-Monday pause is not a silence, while a mailbox that
// normally gets mail hourly and has had none for two working days is.
// With fewer than SilentMinMails mails there is no rhythm and the answer
// is false; the median (not the mean) keeps one holiday from hiding or
// causing an alert.
func SilentMailbox(lastMails []time.Time, now time.Time) bool {
	if len(lastMails) < SilentMinMails {
		return false
	}
	limit := max(SilentFloor, SilentFactor*UsualGap(lastMails))
	return workingTime(slices.MaxFunc(lastMails, time.Time.Compare), now) > limit
}

// UsualGap is a mailbox's rhythm: the median working-time gap between
// consecutive mails (any order); 0 with fewer than two mails.
func UsualGap(lastMails []time.Time) time.Duration {
	if len(lastMails) < 2 {
		return 0
	}
	ts := slices.Clone(lastMails)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	gaps := make([]time.Duration, 0, len(ts)-1)
	for i := 1; i < len(ts); i++ {
		gaps = append(gaps, workingTime(ts[i-1], ts[i]))
	}
	slices.Sort(gaps)
	median := gaps[len(gaps)/2]
	if len(gaps)%2 == 0 {
		median = (gaps[len(gaps)/2-1] + gaps[len(gaps)/2]) / 2
	}
	return median
}

// workingTime is the part of [from, to) that falls on Monday to Friday,
// in from's location.
func workingTime(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	to = to.In(from.Location())
	var total time.Duration
	for cur := from; cur.Before(to); {
		y, m, d := cur.Date()
		next := time.Date(y, m, d+1, 0, 0, 0, 0, cur.Location())
		if next.After(to) {
			next = to
		}
		if wd := cur.Weekday(); wd != time.Saturday && wd != time.Sunday {
			total += next.Sub(cur)
		}
		cur = next
	}
	return total
}
