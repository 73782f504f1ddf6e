package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
)

// wireServer echoes each request as "METHOD TARGET client-id project
// length body" and counts the connections it accepted. /chunked answers a
// large body in chunks, /close asks for the connection to be closed,
// /empty answers 204, /block waits until the client leaves.
func wireServer(t *testing.T, configure ...func(*http.Server)) (*httptest.Server, *atomic.Int32) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/p/chunked":
			for i := range 100 {
				fmt.Fprintf(w, "%04d%s", i, strings.Repeat("x", 996))
				w.(http.Flusher).Flush()
			}
			return
		case "/p/close":
			w.Header().Set("Connection", "close")
		case "/p/empty":
			w.WriteHeader(http.StatusNoContent)
			return
		case "/p/block":
			<-r.Context().Done()
			return
		}
		w.Header().Set("X-Seen", r.Host)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "%s %s %s %s %d %s", r.Method, r.URL.RequestURI(), r.Header.Get("Client-ID"), r.Header.Get("X-Project-ID"), r.ContentLength, body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	for _, f := range configure {
		f(srv.Config)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestWire(t *testing.T) {
	srv, conns := wireServer(t)
	w := newWire(srv.URL + "/p")
	headers := []string{"Client-ID", clientID, "X-Project-ID", "proj"}
	ctx := t.Context()
	for i := range 50 {
		status, h, body, err := w.do(ctx, "POST", fmt.Sprintf("/q/%d?claim_id=c", i), headers, []byte(`{"a":1}`))
		want := fmt.Sprintf(`POST /p/q/%d?claim_id=c %s proj 7 {"a":1}`, i, clientID)
		if err != nil || status != 201 || string(body) != want || h.Get("X-Seen") != strings.TrimPrefix(srv.URL, "http://") {
			t.Fatalf("request %d: %d %q %v %v; want 201 %q", i, status, body, h, err, want)
		}
	}
	status, _, body, err := w.do(ctx, "DELETE", "/q", headers, nil)
	if err != nil || status != 201 || !strings.HasPrefix(string(body), "DELETE /p/q ") || !strings.HasSuffix(string(body), " 0 ") {
		t.Errorf("DELETE without a body: %d %q %v", status, body, err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for sequential requests, want 1 kept alive", n)
	}

	status, _, body, err = w.do(ctx, "GET", "/chunked", headers, nil)
	if err != nil || status != 200 || len(body) != 100_000 || !strings.HasPrefix(string(body[99_000:]), "0099x") {
		t.Errorf("chunked: %d, %d bytes, %v", status, len(body), err)
	}
	if status, _, body, err := w.do(ctx, "DELETE", "/empty", headers, nil); err != nil || status != 204 || len(body) != 0 {
		t.Errorf("204: %d %q %v", status, body, err)
	}
	if status, _, _, err := w.do(ctx, "PUT", "/close", headers, nil); err != nil || status != 201 {
		t.Errorf("Connection: close: %d %v", status, err)
	}
	if status, _, _, err := w.do(ctx, "GET", "/after-close", headers, nil); err != nil || status != 201 {
		t.Errorf("after a closed connection: %d %v", status, err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (a new one after Connection: close)", n)
	}

	// A request in flight when its context ends returns at once, and its
	// connection (with an answer perhaps still to come) is not reused.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, _, err = w.do(short, "GET", "/block", headers, nil)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled request: %v after %v", err, time.Since(start))
	}
	if status, _, body, err := w.do(ctx, "GET", "/next", headers, nil); err != nil || status != 201 || !strings.HasPrefix(string(body), "GET /p/next ") {
		t.Errorf("after a cancelled request: %d %q %v", status, body, err)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3 (the cancelled one dropped)", n)
	}
}

// A connection the server closed while idle (its keep-alive timeout) is
// replaced by a new one for the request that finds it closed.
func TestWireServerClosedIdle(t *testing.T) {
	var closed atomic.Int32
	srv, conns := wireServer(t, func(s *http.Server) {
		s.IdleTimeout = 50 * time.Millisecond
		counted := s.ConnState
		s.ConnState = func(c net.Conn, st http.ConnState) {
			counted(c, st)
			if st == http.StateClosed {
				closed.Add(1)
			}
		}
	})
	w := newWire(srv.URL + "/p")
	for i := range 3 {
		if status, _, _, err := w.do(t.Context(), "POST", "/q", nil, []byte("{}")); err != nil || status != 201 {
			t.Fatalf("request %d: %d %v", i, status, err)
		}
		testenv.Eventually(t, "the server to close the idle connection", 10*time.Second, time.Millisecond, func() bool {
			return closed.Load() == int32(i+1)
		})
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3 (each closed by the server while idle)", n)
	}
}

func TestWireOnlyForPlainHTTP(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		ok       bool
		addr     string
	}{
		{"http://127.0.0.1:8888", true, "127.0.0.1:8888"},
		{"http://zaqar.example/messaging", true, "zaqar.example:80"},
		{"https://zaqar.example", false, ""},
		{"not a url", false, ""},
	} {
		w := newWire(tc.endpoint)
		if (w != nil) != tc.ok || (w != nil && w.addr != tc.addr) {
			t.Errorf("newWire(%q) = %+v", tc.endpoint, w)
		}
	}
}
