package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
)

func TestPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"neither", Options{}, ""},
		{"file alone", Options{File: "zaqar.log"}, "zaqar.log"},
		{"dir alone", Options{Dir: "/var/log/zaqar"}, "/var/log/zaqar/zaqar-server.log"},
		{"dir and file", Options{Dir: "/var/log/zaqar", File: "api.log"}, "/var/log/zaqar/api.log"},
		{"dir and absolute file", Options{Dir: "/var/log/zaqar", File: "/tmp/api.log"}, "/tmp/api.log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.o.Path("zaqar-server"); got != tc.want {
				t.Errorf("Path(%+v) = %q, want %q", tc.o, got, tc.want)
			}
		})
	}
}

// TestDestinations checks oslo.log's choice of outputs: the file and/or
// stderr, and stdout only when neither is configured.
func TestDestinations(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name                     string
		o                        Options
		stdout, stderr, fileLine bool
	}{
		{"default: stdout", Options{}, true, false, false},
		{"use_stderr", Options{UseStderr: true}, false, true, false},
		{"log_dir", Options{Dir: dir, File: "a.log"}, false, false, true},
		{"log_dir and use_stderr", Options{Dir: dir, File: "b.log", UseStderr: true}, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			l, err := New(tc.o, "zaqar-server", &stdout, &stderr)
			if err != nil {
				t.Fatal(err)
			}
			l.Info("hello")
			if err := l.Close(); err != nil { // writes the lines gathered
				t.Fatal(err)
			}
			if got := strings.Contains(stdout.String(), "hello"); got != tc.stdout {
				t.Errorf("stdout has the line: %v, want %v", got, tc.stdout)
			}
			if got := strings.Contains(stderr.String(), "hello"); got != tc.stderr {
				t.Errorf("stderr has the line: %v, want %v", got, tc.stderr)
			}
			if path := tc.o.Path("zaqar-server"); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Contains(string(b), "hello"); got != tc.fileLine {
					t.Errorf("file has the line: %v, want %v", got, tc.fileLine)
				}
			} else if tc.fileLine {
				t.Errorf("no log file for %+v", tc.o)
			}
			if (l.File != nil) != tc.fileLine {
				t.Errorf("Logger.File set: %v, want %v", l.File != nil, tc.fileLine)
			}
		})
	}
}

func TestMissingDirectoryIsAnError(t *testing.T) {
	_, err := New(Options{Dir: filepath.Join(t.TempDir(), "absent")}, "zaqar-server", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "zaqar-server.log") {
		t.Errorf("New with a missing log_dir: err = %v, want an error naming the file", err)
	}
}

func TestJSONWithRequestID(t *testing.T) {
	var out bytes.Buffer
	l, err := New(Options{JSON: true, Debug: true}, "zaqar-server", &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRequestID(context.Background(), "req-1")
	l.DebugContext(ctx, "first", "queue", "q")
	l.With("component", "x").InfoContext(ctx, "second")
	l.Info("third")
	l.Close()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), out.String())
	}
	for i, want := range []map[string]any{
		{"level": "DEBUG", "msg": "first", "queue": "q", "request_id": "req-1"},
		{"level": "INFO", "msg": "second", "component": "x", "request_id": "req-1"},
		{"level": "INFO", "msg": "third"},
	} {
		var got map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i, err, lines[i])
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, got[k], v)
			}
		}
		if _, ok := want["request_id"]; !ok {
			if _, ok := got["request_id"]; ok {
				t.Errorf("line %d has a request_id without one in its context", i)
			}
		}
	}
}

func TestLevel(t *testing.T) {
	var out bytes.Buffer
	l, err := New(Options{}, "zaqar-server", &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("hidden")
	if out.Len() != 0 {
		t.Errorf("debug line logged without debug = true: %s", out.String())
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFileFollowsRotation moves the file away as logrotate does: the next
// write after a check goes to a new file at the path.
func TestFileFollowsRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "zaqar.log")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("one\n"))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.checked = time.Time{} // the check is due
	f.mu.Unlock()
	f.Write([]byte("two\n"))
	if got := readFile(t, path+".1"); got != "one\n" {
		t.Errorf("rotated file = %q, want %q", got, "one\n")
	}
	if got := readFile(t, path); got != "two\n" {
		t.Errorf("new file = %q, want %q", got, "two\n")
	}
	// Deleted outright: recreated too.
	os.Remove(path)
	f.mu.Lock()
	f.checked = time.Time{}
	f.mu.Unlock()
	f.Write([]byte("three\n"))
	if got := readFile(t, path); got != "three\n" {
		t.Errorf("recreated file = %q, want %q", got, "three\n")
	}
}

// TestReopen is SIGHUP's path: the move is seen at once, not at the next
// check.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zaqar.log")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("one\n"))
	os.Rename(path, path+".1")
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("two\n"))
	if got := readFile(t, path); got != "two\n" {
		t.Errorf("new file = %q, want %q", got, "two\n")
	}
}

// countingWriter counts the writes reaching it.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

// TestLinesGathered: INFO lines are written together, a warning at once
// with the lines before it, and what is gathered by the interval.
func TestLinesGathered(t *testing.T) {
	var out countingWriter
	l, err := New(Options{}, "zaqar-server", &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.buf.every = time.Hour
	for i := range 100 {
		l.Info("request", "n", i)
	}
	if out.writes != 0 {
		t.Errorf("%d writes for 100 INFO lines before the interval, want 0", out.writes)
	}
	l.Warn("trouble")
	if out.writes != 1 || strings.Count(out.String(), "\n") != 101 || !strings.Contains(out.String(), "trouble") {
		t.Errorf("after a warning: %d writes, %d lines; want 1 write of 101 lines", out.writes, strings.Count(out.String(), "\n"))
	}
	l.Info("last")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "last") {
		t.Error("Close did not write the line gathered")
	}

	var timed testenv.SyncBuffer
	l2, err := New(Options{}, "zaqar-server", &timed, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	l2.Info("soon")
	testenv.Eventually(t, "the line written after the interval", 30*time.Second, time.Millisecond, func() bool {
		return strings.Contains(timed.String(), "soon")
	})
}
