package ws

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// TestSlowClient: a client that stops reading is closed with 1008 and a
// clear reason once its send queue is full; the server and the notifier
// never wait for it.
func TestSlowClient(t *testing.T) {
	e := newEnv(t, envOptions{ws: Options{SendQueue: 4}})
	cl := e.dial(false, "slow")
	expect(t, "subscription_create", cl.do("subscription_create", map[string]any{"queue_name": "q"}), http.StatusCreated, nil)
	id := onlyConn(t, e.srv)
	h := e.srv.Notifications()
	// Large notifications fill the socket buffers, then the queue.
	payload := `{"body": "` + strings.Repeat("x", 200<<10) + `"}`
	var code int
	for i := 0; i < 1000 && code != http.StatusGone; i++ {
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/"+id, strings.NewReader(payload)))
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("the listener waited %v for a slow client", d)
		}
		code = w.Code
	}
	if code != http.StatusGone {
		t.Fatalf("the queue never filled: last answer %d", code)
	}
	if n := e.srv.SlowDisconnects(); n != 1 {
		t.Errorf("SlowDisconnects = %d, want 1", n)
	}
	// Reading now drains the backlog, then the close frame arrives.
	ce := cl.closeStatus()
	if ce.Code != websocket.StatusPolicyViolation || ce.Reason != "Send queue full: client too slow." {
		t.Errorf("close = %d %q", ce.Code, ce.Reason)
	}
	eventually(t, "the slow connection's subscription to go", func() bool {
		subs, err := e.svc.ListSubscriptions(t.Context(), zaqar.QueueRef{Project: "slow", Name: "q"}, "", nil)
		return err == nil && len(subs) == 0
	})
}

func onlyConn(t *testing.T, s *Server) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) != 1 {
		t.Fatalf("%d connections, want 1", len(s.conns))
	}
	for id := range s.conns {
		return id
	}
	return ""
}

// TestKeepalive: a peer that answers pings stays, one that does not (it
// never reads, so its pongs never go) is dropped.
func TestKeepalive(t *testing.T) {
	e := newEnv(t, envOptions{ws: Options{PingInterval: 20 * time.Millisecond, PingTimeout: 100 * time.Millisecond}})
	live := e.dial(false, "ka")
	ctx := live.c.CloseRead(t.Context()) // reads (and answers pings) in the background
	dead := e.dial(false, "ka")
	eventually(t, "both connections", func() bool { return e.srv.connCount() == 2 })
	eventually(t, "the silent peer to be dropped", func() bool { return e.srv.connCount() == 1 })
	select {
	case <-ctx.Done():
		t.Fatal("the live peer was dropped")
	default:
	}
	_ = dead
}

// TestShutdown: connections get 1001, their subscriptions are deleted and
// new connections are refused.
func TestShutdown(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.dial(true, "shut")
	expect(t, "subscription_create", cl.do("subscription_create", map[string]any{"queue_name": "q"}), http.StatusCreated, nil)
	done := make(chan error, 1)
	go func() { done <- e.srv.Shutdown(context.Background()) }()
	ce := cl.closeStatus()
	if ce.Code != websocket.StatusGoingAway || ce.Reason != "Server shutting down." {
		t.Errorf("close = %d %q", ce.Code, ce.Reason)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	subs, err := e.svc.ListSubscriptions(t.Context(), zaqar.QueueRef{Project: "shut", Name: "q"}, "", nil)
	if err != nil || len(subs) != 0 {
		t.Errorf("after Shutdown: subscriptions %v, %v", subs, err)
	}
	dctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, res, err := websocket.Dial(dctx, e.url, nil); err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Shutdown: %v", err)
	}
}
