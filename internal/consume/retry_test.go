package consume

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	r := RetryConfig{Attempts: 10, Initial: time.Second, Max: 30 * time.Second}
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{6, 15 * time.Second, 30 * time.Second}, // 32s capped
		{60, 15 * time.Second, 30 * time.Second},
	} {
		for range 50 {
			if d := r.backoff(tc.attempt); d < tc.min || d > tc.max {
				t.Fatalf("backoff(%d) = %s, want %s..%s", tc.attempt, d, tc.min, tc.max)
			}
		}
	}
	if d := (RetryConfig{}).backoff(3); d != 0 {
		t.Errorf("no initial wait: backoff = %s, want 0", d)
	}
}
