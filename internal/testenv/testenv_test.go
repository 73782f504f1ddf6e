package testenv

import (
	"testing"
	"time"
)

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, "the third poll", time.Second, time.Millisecond, func() bool { n++; return n == 3 })
	if n != 3 {
		t.Errorf("polled %d times, want 3", n)
	}
}

func TestPoll(t *testing.T) {
	if !Poll(t, time.Second, time.Millisecond, func() bool { return true }) {
		t.Error("Poll of a true condition = false")
	}
	if Poll(t, 10*time.Millisecond, time.Millisecond, func() bool { return false }) {
		t.Error("Poll of a false condition = true")
	}
}

// A cleanup runs after t.Context() is cancelled and may still wait.
func TestPollInCleanup(t *testing.T) {
	t.Run("cleanup", func(t *testing.T) {
		t.Cleanup(func() {
			n := 0
			if !Poll(t, time.Second, time.Millisecond, func() bool { n++; return n == 3 }) {
				t.Error("Poll in a cleanup gave up before its condition held")
			}
		})
	})
}

func TestEnvSkipsOrFails(t *testing.T) {
	t.Setenv("TESTENV_SET", "v")
	if got := Env(t, "TESTENV_SET", ""); got != "v" {
		t.Errorf("Env = %q", got)
	}
	t.Setenv("ZAQAR_TEST_REQUIRE_ALL", "")
	t.Run("skipped", func(t *testing.T) {
		Env(t, "TESTENV_UNSET_VARIABLE", "set it")
		t.Error("not skipped")
	})
}
