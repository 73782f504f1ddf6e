package transport

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// ErrorLog logs failed requests (5xx) without flooding: when storage goes
// away, every request fails at once, and thousands of identical lines a
// second bury the first one. It passes up to PerSecond lines a second and
// counts the rest; the next line that passes carries that count as
// "suppressed". The zero value passes 10 a second.
type ErrorLog struct {
	PerSecond int

	mu         sync.Mutex
	window     time.Time // start of the current second
	passed     int
	suppressed int
	now        func() time.Time // tests
}

// Error logs msg at error level on log, unless this second's share is used.
func (l *ErrorLog) Error(log *slog.Logger, msg string, args ...any) {
	l.ErrorContext(context.Background(), log, msg, args...)
}

// ErrorContext is Error with the request's context, whose request id the
// line then carries.
func (l *ErrorLog) ErrorContext(ctx context.Context, log *slog.Logger, msg string, args ...any) {
	n, ok := l.take()
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	log.Log(ctx, slog.LevelError, msg, args...)
}

// take reports whether a line may pass now and how many were held back
// since the last one that did.
func (l *ErrorLog) take() (int, bool) {
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	limit := l.PerSecond
	if limit <= 0 {
		limit = 10
	}
	t := now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.Sub(l.window) >= time.Second {
		l.window, l.passed = t, 0
	}
	if l.passed >= limit {
		l.suppressed++
		return 0, false
	}
	l.passed++
	n := l.suppressed
	l.suppressed = 0
	return n, true
}
