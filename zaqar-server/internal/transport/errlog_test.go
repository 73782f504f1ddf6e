package transport

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestErrorLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	clock := time.Unix(1000, 0)
	l := ErrorLog{PerSecond: 3, now: func() time.Time { return clock }}
	for range 10 {
		l.Error(log, "request failed", "status", 503)
	}
	if n := strings.Count(buf.String(), "request failed"); n != 3 {
		t.Fatalf("%d lines in the first second, want 3:\n%s", n, buf.String())
	}
	clock = clock.Add(1100 * time.Millisecond)
	buf.Reset()
	l.Error(log, "request failed", "status", 503)
	l.Error(log, "request failed", "status", 503)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "suppressed=7") || strings.Contains(lines[1], "suppressed") {
		t.Errorf("next second:\n%s\nwant the first line to carry suppressed=7, the second none", buf.String())
	}
}
