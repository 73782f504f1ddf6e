package storage

import "time"

// MaxMillis bounds the durations drivers store as milliseconds: a century
// keeps every instant they compute far from int64 overflow and inside a
// double's exact integers (Redis scripts compute in Lua numbers).
const MaxMillis = 100 * 365 * 24 * 3600 * 1000

// Millis converts a duration for a driver that keeps milliseconds: a
// positive duration is at least 1 and at most MaxMillis; d <= 0 is 0
// (never).
func Millis(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	n := d.Milliseconds()
	switch {
	case n < 1:
		return 1
	case n > MaxMillis:
		return MaxMillis
	}
	return n
}

// Age is the time from start to now (both Unix milliseconds), never
// negative.
func Age(now, start int64) time.Duration {
	if now <= start {
		return 0
	}
	return time.Duration(now-start) * time.Millisecond
}
