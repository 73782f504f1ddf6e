package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// lossyStore wraps the memory store (fault injection, as
// zaqar/tests/faulty_storage.py does): every dropEvery-th post is
// acknowledged but not stored, and with starve set claims find nothing.
type lossyStore struct {
	storage.Store
	dropEvery int64
	starve    bool
	posts     atomic.Int64
	dropped   atomic.Int64
}

type lossyMessages struct {
	storage.MessageStore
	s *lossyStore
}

type starvedClaims struct{ storage.ClaimStore }

func (s *lossyStore) Messages() storage.MessageStore {
	return lossyMessages{s.Store.Messages(), s}
}

func (s *lossyStore) Claims() storage.ClaimStore {
	if s.starve {
		return starvedClaims{s.Store.Claims()}
	}
	return s.Store.Claims()
}

func (m lossyMessages) Post(ctx context.Context, q zaqar.QueueRef, msgs []zaqar.NewMessage) ([]string, error) {
	if m.s.dropEvery > 0 && m.s.posts.Add(1)%m.s.dropEvery == 0 {
		m.s.dropped.Add(int64(len(msgs)))
		ids := make([]string, len(msgs))
		for i := range ids {
			ids[i] = uuid.NewString()
		}
		return ids, nil
	}
	return m.MessageStore.Post(ctx, q, msgs)
}

func (starvedClaims) Create(context.Context, zaqar.QueueRef, storage.ClaimOptions) (zaqar.Claim, []zaqar.Message, error) {
	return zaqar.Claim{}, nil, nil
}

func serve(t *testing.T, st storage.Store, limits zaqar.Limits) string {
	t.Helper()
	svc := service.New(st, service.Options{Limits: limits, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(rest.New(svc, rest.Options{}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// runCLI runs zaqar-bench as a user would and returns its exit status,
// the JSON line and stderr.
func runCLI(t *testing.T, args ...string) (int, Report, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli(t.Context(), args, &out, &errb)
	var rep Report
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); out.Len() > 0 {
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
			t.Fatalf("last line of stdout is not the JSON report: %v\n%s", err, out.String())
		}
	}
	return code, rep, errb.String()
}

func TestDeadEndpointFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more
	for _, netHTTP := range []string{"-net-http=false", "-net-http=true"} {
		t.Run(netHTTP, func(t *testing.T) {
			code, rep, stderr := runCLI(t, "-endpoint", dead, "-producers", "2", "-consumers", "1", "-duration", "300ms", "-json", netHTTP)
			if code != 4 {
				t.Errorf("exit status %d, want 4 (requests failed); stderr:\n%s", code, stderr)
			}
			if rep.FailedRequests == 0 || rep.Ops["post"].Errors["transport"] == 0 {
				t.Errorf("report = %+v, want failed transport posts", rep)
			}
			if !strings.Contains(stderr, "requests failed") || !strings.Contains(stderr, "post transport") {
				t.Errorf("stderr does not say the posts failed:\n%s", stderr)
			}
		})
	}
	t.Run("ceiling", func(t *testing.T) {
		ok := serve(t, memory.New(), zaqar.DefaultLimits())
		code, _, stderr := runCLI(t, "-endpoint", ok, "-ceiling", dead, "-producers", "1", "-duration", "200ms", "-json")
		if code != 1 || !strings.Contains(stderr, "ceiling") || !strings.Contains(stderr, "requests failed") {
			t.Errorf("dead ceiling: exit status %d, stderr:\n%s", code, stderr)
		}
	})
}

// TestBadRequestsReported posts messages whose ttl (3600) the server's
// limits refuse: every post is a 400, counted, and the end of the run says
// so with the server's explanation.
func TestBadRequestsReported(t *testing.T) {
	limits := zaqar.DefaultLimits()
	limits.MaxMessageTTL = 120 * time.Second
	url := serve(t, memory.New(), limits)
	code, rep, stderr := runCLI(t, "-endpoint", url, "-producers", "2", "-duration", "300ms", "-json")
	if code != 4 {
		t.Errorf("exit status %d, want 4; stderr:\n%s", code, stderr)
	}
	if n := rep.Ops["post"].Errors["400"]; n == 0 || n != rep.FailedRequests || rep.Ops["post"].Requests != 0 {
		t.Errorf("post = %+v, failed %d: want every post counted as a 400", rep.Ops["post"], rep.FailedRequests)
	}
	if !strings.Contains(stderr, "post 400") || !strings.Contains(stderr, "TTL") {
		t.Errorf("stderr lacks the 400s and the server's reason:\n%s", stderr)
	}
}

// TestLostAgainstUndrained runs against a server that acknowledges every
// fourth post without storing it: those messages, and only those, are
// lost; what consumers did not get to is still on the server, so it is
// undrained, not lost.
func TestLostAgainstUndrained(t *testing.T) {
	for _, tc := range []struct {
		name      string
		consumers int
		starve    bool
	}{
		{"no consumers", 0, false},
		{"consumers drain", 2, false},
		{"consumers get nothing", 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &lossyStore{Store: memory.New(), dropEvery: 4, starve: tc.starve}
			c := config{endpoint: serve(t, st, zaqar.DefaultLimits()), project: "bench-lost", producers: 3, consumers: tc.consumers,
				batch: 1, msgSize: 50, claimLimit: 5, claimTTL: 60, queues: 2, duration: 300 * time.Millisecond,
				drain: 5 * time.Second, poll: time.Millisecond, jsonOnly: true, stderr: &bytes.Buffer{}}
			rep, err := load(t.Context(), c, false)
			if err != nil {
				t.Fatal(err)
			}
			dropped := st.dropped.Load()
			if dropped == 0 || rep.Lost != dropped {
				t.Errorf("lost %d, want the %d messages the server dropped; report %+v", rep.Lost, dropped, rep)
			}
			wantUndrained := int64(0)
			if tc.consumers > 0 {
				wantUndrained = rep.Produced - rep.Consumed - dropped
			}
			if rep.Undrained != wantUndrained || rep.OnServer != rep.Produced-rep.Consumed-dropped {
				t.Errorf("undrained %d, on server %d; want %d and %d (produced %d, consumed %d, dropped %d)",
					rep.Undrained, rep.OnServer, wantUndrained, rep.Produced-rep.Consumed-dropped, rep.Produced, rep.Consumed, dropped)
			}
			if tc.starve && (rep.Undrained == 0 || rep.Consumed != 0) {
				t.Errorf("starved consumers: undrained %d, consumed %d", rep.Undrained, rep.Consumed)
			}
		})
	}
	t.Run("exit status", func(t *testing.T) {
		st := &lossyStore{Store: memory.New(), dropEvery: 4}
		code, rep, stderr := runCLI(t, "-endpoint", serve(t, st, zaqar.DefaultLimits()), "-producers", "2", "-duration", "200ms", "-json")
		if code != 3 || rep.Lost == 0 || !strings.Contains(stderr, "lost") {
			t.Errorf("exit status %d, lost %d, stderr:\n%s", code, rep.Lost, stderr)
		}
	})
}

func TestUsage(t *testing.T) {
	code, _, stderr := runCLI(t, "-h")
	if code != 0 {
		t.Errorf("-h: exit status %d", code)
	}
	for _, want := range []string{"ceiling-server", "Scenarios", "-consumers 12 -claim-limit 10", "-ws-window 16", "Exit status", "-producers int"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("-h lacks %q:\n%s", want, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "bogus"); code != 2 || !strings.Contains(stderr, "ceiling-server") {
		t.Errorf("unknown subcommand: exit status %d, stderr %q", code, stderr)
	}
}

func TestProgressLine(t *testing.T) {
	p := progressLine(3*time.Second, false, 100, 300, 1, 300, 0)
	if !strings.Contains(p, "producing") || strings.Contains(p, "draining") {
		t.Errorf("while producing: %q", p)
	}
	d := progressLine(9*time.Second, true, 50, 900, 0, 800, 700)
	if !strings.Contains(d, "draining") || !strings.Contains(d, "700 of 800 messages consumed") {
		t.Errorf("while draining: %q", d)
	}
}

// TestCeilingServerStops: the ceiling server answers a post and ends on
// the signal (scripts/bench stops it with SIGTERM and waits for it).
func TestCeilingServerStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr testenv.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- cli(ctx, []string{"ceiling-server", "-addr", "127.0.0.1:0"}, io.Discard, &stderr) }()
	var addr string
	testenv.Eventually(t, "the ceiling server listening", 30*time.Second, 10*time.Millisecond, func() bool {
		_, addr, _ = strings.Cut(strings.TrimSpace(stderr.String()), "ceiling server on ")
		return addr != ""
	})
	resp, err := http.Post("http://"+addr+"/v2/queues/q/messages", "application/json", strings.NewReader(`{"messages": []}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("ceiling answered %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("ceiling-server exited %d after the signal", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ceiling-server did not stop on the signal")
	}
}
