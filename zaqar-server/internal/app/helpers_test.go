package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
)

// startNode runs the server with cfg, its HTTP API on a port the system
// picks and its WebSocket on the port the test chose, else one the system
// picks (never the default 9000, which another server may hold), until
// stop is called or the test ends. It returns the API's base URL.
func startNode(t *testing.T, cfg config.Config) (base string, stop func()) {
	t.Helper()
	cfg.WSGI.Port = 0
	if cfg.WebSocket.Port == config.Default().WebSocket.Port {
		cfg.WebSocket.Port = 0 // the server picks one: no race with other tests for a "free" port
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, slog.New(slog.DiscardHandler), func(a string) { addrc <- a }) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case a := <-addrc:
		return "http://" + a, stop
	case err := <-done:
		once.Do(cancel) // Run has returned: stop has nothing to wait for
		t.Fatalf("Run: %v", err)
	}
	return "", stop
}

// serve is startNode for a server that runs until the test ends.
func serve(t *testing.T, cfg config.Config) string {
	t.Helper()
	base, _ := startNode(t, cfg)
	return base
}

// request sends one request as project with roles (no auth: the headers
// are trusted) and returns the status and body.
func request(t *testing.T, method, url, project, roles, body string) (int, []byte) {
	t.Helper()
	hdr := []string{"X-Project-ID", project}
	if roles != "" {
		hdr = append(hdr, "X-Roles", roles)
	}
	status, _, b := send(t, method, url, body, hdr...)
	return status, b
}

// send sends one request with a Client-ID, a JSON body and hdr (name,
// value pairs, sent as they are, empty values too). A transport failure fails the
// test with a zero status (t.Error: callers may be other goroutines).
func send(t *testing.T, method, url, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Client-ID", "3381af92-2b9e-11e3-b191-71861300734c")
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}
