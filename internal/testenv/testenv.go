// Package testenv is what tests share about their environment: a real
// server or program a test needs (skipped when absent, failed when
// ZAQAR_TEST_REQUIRE_ALL=1, as scripts/test sets, so CI never passes by
// skipping), and waiting for a condition without sleeping a fixed time.
package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// RequireAll reports whether every real-server test must run
// (ZAQAR_TEST_REQUIRE_ALL=1).
func RequireAll() bool { return os.Getenv("ZAQAR_TEST_REQUIRE_ALL") == "1" }

// Missing skips the test for lack of what (hint says how to provide it),
// or fails it under ZAQAR_TEST_REQUIRE_ALL=1.
func Missing(t testing.TB, what, hint string) {
	t.Helper()
	msg := what
	if hint != "" {
		msg += " (" + hint + ")"
	}
	if RequireAll() {
		t.Fatalf("%s, and ZAQAR_TEST_REQUIRE_ALL=1", msg)
	}
	t.Skip(msg)
}

// Env returns the environment variable name, which locates a real server;
// unset, the test is Missing it.
func Env(t testing.TB, name, hint string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		Missing(t, name+" is not set", hint)
	}
	return v
}

// LookPath finds a program the test runs; absent, the test is Missing it.
func LookPath(t testing.TB, name, hint string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not on PATH", hint)
	}
	return bin
}

// Eventually polls cond every interval until it holds, failing the test
// after limit.
func Eventually(t testing.TB, what string, limit, interval time.Duration, cond func() bool) {
	t.Helper()
	if !Poll(t, limit, interval, cond) {
		t.Fatalf("timed out after %v waiting for %s", limit, what)
	}
}

// Poll polls cond every interval until it holds and reports whether it
// did within limit: for a caller that, on false, reports in more detail
// than Eventually can. It does not watch t.Context(), which is cancelled
// before cleanups run, so cleanups may wait with it too (stacks deleted).
func Poll(t testing.TB, limit, interval time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.After(limit)
	for !cond() {
		select {
		case <-deadline:
			return false
		case <-time.After(interval):
		}
	}
	return true
}

// SyncBuffer is a bytes.Buffer that goroutines may write at once: a
// server's log or a command's output under test.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Clock is a time source a test moves by hand (for code that takes a
// clock: stores with TTLs, token caches), so expiry is tested without
// sleeping. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock showing start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
