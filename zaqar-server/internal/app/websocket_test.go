package app

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/testserver"
)

type socket struct {
	t *testing.T
	c *websocket.Conn
}

func dialSocket(t *testing.T, port int) *socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://127.0.0.1:"+strconv.Itoa(port)+"/", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &socket{t: t, c: c}
}

func (s *socket) next() map[string]any {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, data, err := s.c.Read(ctx)
	if err != nil {
		s.t.Fatalf("read: %v", err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		s.t.Fatalf("not JSON: %s", data)
	}
	return v
}

// do sends a request and returns its status and body.
func (s *socket) do(action string, headers, body map[string]any) (int, any) {
	s.t.Helper()
	req, _ := json.Marshal(map[string]any{"action": action, "headers": headers, "body": body})
	if err := s.c.Write(s.t.Context(), websocket.MessageText, req); err != nil {
		s.t.Fatalf("write: %v", err)
	}
	v := s.next()
	status, _ := v["headers"].(map[string]any)["status"].(float64)
	return int(status), v["body"]
}

// TestRunServesWebSocket runs the whole server: a socket subscribes,
// a post over HTTP reaches it through the notifier and the internal
// listener, and shutting down closes it with 1001.
func TestRunServesWebSocket(t *testing.T) {
	cfg := config.Default()
	cfg.MessageStore = "memory"
	cfg.WebSocket.Port = testserver.FreePort(t)
	base, stop := startNode(t, cfg)
	addr := strings.TrimPrefix(base, "http://")
	s := dialSocket(t, cfg.WebSocket.Port)
	h := map[string]any{"Client-ID": "3381af92-2b9e-11e3-b191-71861300734c", "X-Project-ID": "app-ws"}
	if status, body := s.do("subscription_create", h, map[string]any{"queue_name": "feed"}); status != 201 {
		t.Fatalf("subscription_create = %d %v", status, body)
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/v2/queues/feed/messages", strings.NewReader(`{"messages":[{"body":"hello"}]}`))
	req.Header.Set("Client-ID", "3381af92-2b9e-11e3-b191-71861300734c")
	req.Header.Set("X-Project-ID", "app-ws")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("REST post: %v %v", res, err)
	}
	res.Body.Close()
	if n := s.next(); n["body"] != "hello" || n["queue_name"] != "feed" {
		t.Fatalf("notification = %v", n)
	}

	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }() // Run's error, if any, fails the test
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	_, _, err = s.c.Read(ctx2)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
		t.Errorf("on shutdown the socket got %v, want 1001", err)
	}
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestKeystoneWebSocket: with auth_strategy = keystone a socket must
// authenticate with a real token, and then acts in the token's project only.
func TestKeystoneWebSocket(t *testing.T) {
	k := requireKeystone(t)
	port := testserver.FreePort(t)
	base := serveWithKeystone(t, k, func(c *config.Config) { c.WebSocket.Port = port })
	demo := k.token(t, "DEMO")
	s := dialSocket(t, port)
	h := map[string]any{"Client-ID": "3381af92-2b9e-11e3-b191-71861300734c", "X-Project-ID": "forged"}
	if status, body := s.do("queue_create", h, map[string]any{"queue_name": "ws-mine"}); status != 403 {
		t.Fatalf("before authenticate: %d %v", status, body)
	}
	auth := map[string]any{"X-Auth-Token": "gAAAAAbogus", "X-Project-ID": "forged"}
	if status, body := s.do("authenticate", auth, nil); status != 401 {
		t.Fatalf("bogus token: %d %v", status, body)
	}
	auth["X-Auth-Token"] = demo
	if status, body := s.do("authenticate", auth, nil); status != 200 {
		t.Fatalf("authenticate: %d %v", status, body)
	}
	// Another project named in X-Project-ID is refused, as in Zaqar;
	// the token's own runs.
	if status, body := s.do("queue_create", h, map[string]any{"queue_name": "ws-mine"}); status != 403 {
		t.Fatalf("queue_create in another project: %d %v", status, body)
	}
	h["X-Project-ID"] = os.Getenv("KEYSTONE_DEMO_PROJECT_ID")
	if status, body := s.do("queue_create", h, map[string]any{"queue_name": "ws-mine"}); status != 201 {
		t.Fatalf("queue_create: %d %v", status, body)
	}
	c := must(t, do(t, "GET", base+"/v2/queues", demo, ""), 200, "list as demo")
	if !strings.Contains(string(c.body), `"name":"ws-mine"`) {
		t.Fatalf("the socket's queue is not in the token's project: %s", c.body)
	}
}

// TestRunWebSocketDisabled: with [drivers:transport:websocket] enabled =
// false the REST API serves and nothing listens on the WebSocket port.
func TestRunWebSocketDisabled(t *testing.T) {
	cfg := config.Default()
	cfg.MessageStore = "memory"
	cfg.WebSocket.Enabled = false
	cfg.WebSocket.Port = testserver.FreePort(t)
	base, stop := startNode(t, cfg)
	res, err := http.Get(base + "/")
	if err != nil || res.StatusCode != http.StatusMultipleChoices {
		t.Fatalf("GET / = %v, %v", res, err)
	}
	res.Body.Close()
	if c, err := net.Dial("tcp", cfg.WebSocket.Addr()); err == nil {
		c.Close()
		t.Errorf("something listens on the WebSocket port %s", cfg.WebSocket.Addr())
	}
	stop() // shutting down without a WebSocket transport returns cleanly
}
