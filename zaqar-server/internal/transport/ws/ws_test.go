package ws

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/notify"
	"github.com/zaqar-go/suite/zaqar-server/internal/policy"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

const clientID = "3381af92-2b9e-11e3-b191-71861300734c"

// env is a server over a memory store: the WebSocket endpoint, the
// internal notification listener, a notifier and the REST API, all on
// loopback ports.
type env struct {
	t        testing.TB
	store    storage.Store
	svc      *service.Service
	srv      *Server
	url      string // ws://…
	restURL  string // http://…
	notifier *notify.Notifier
}

type envOptions struct {
	ws         Options
	signingKey string
	limits     *zaqar.Limits
	policy     *policy.Enforcer
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	e := &env{t: t, store: memory.New()}
	limits := zaqar.DefaultLimits()
	if o.limits != nil {
		limits = *o.limits
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.notifier = notify.New(e.store, notify.Options{SignedURLKey: o.signingKey, Workers: 4})
	done := make(chan struct{})
	go func() { e.notifier.Run(ctx); close(done) }()
	e.svc = service.New(e.store, service.Options{Limits: limits, SignedURLKey: o.signingKey, Notifier: e.notifier, Policy: o.policy})
	// The listener needs the server and the server the listener's URL.
	var srv *Server
	listener := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.Notifications().ServeHTTP(w, r)
	}))
	opts := o.ws
	opts.NotificationURL = listener.URL + "/"
	srv = New(e.svc, opts)
	e.srv = srv
	hs := httptest.NewServer(srv)
	e.url = "ws" + strings.TrimPrefix(hs.URL, "http") + "/"
	rs := httptest.NewServer(rest.New(e.svc, rest.Options{}))
	e.restURL = rs.URL
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
		rs.Close()
		listener.Close()
		cancel()
		<-done
		e.store.Close()
	})
	return e
}

// client is a test client speaking JSON or MessagePack.
type client struct {
	t       testing.TB
	c       *websocket.Conn
	binary  bool
	headers map[string]any
}

func (e *env) dial(binary bool, project string) *client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url, nil)
	if err != nil {
		e.t.Fatalf("dial %s: %v", e.url, err)
	}
	c.SetReadLimit(-1)
	e.t.Cleanup(func() { c.CloseNow() })
	return &client{t: e.t, c: c, binary: binary, headers: map[string]any{"Client-ID": clientID, "X-Project-ID": project}}
}

// reply is a decoded response; numbers are float64, as encoding/json
// gives them.
type reply struct {
	Request map[string]any `json:"request"`
	Headers struct {
		Status int `json:"status"`
	} `json:"headers"`
	Body any `json:"body"`
}

func (r reply) obj() map[string]any {
	m, _ := r.Body.(map[string]any)
	return m
}

// send writes one request envelope.
func (cl *client) send(env map[string]any) {
	cl.t.Helper()
	var data []byte
	var err error
	typ := websocket.MessageText
	if cl.binary {
		typ = websocket.MessageBinary
		data, err = msgpack.Marshal(env)
	} else {
		data, err = json.Marshal(env)
	}
	if err != nil {
		cl.t.Fatal(err)
	}
	cl.write(typ, data)
}

func (cl *client) write(typ websocket.MessageType, data []byte) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.c.Write(ctx, typ, data); err != nil {
		cl.t.Fatalf("write: %v", err)
	}
}

// read returns the next frame decoded to plain JSON values, checking that
// it is framed as the client's requests are.
func (cl *client) read() any {
	cl.t.Helper()
	typ, data := cl.readRaw()
	want := websocket.MessageText
	if cl.binary {
		want = websocket.MessageBinary
	}
	if typ != want {
		cl.t.Fatalf("frame type %v, want %v: %q", typ, want, data)
	}
	return decodeAny(cl.t, typ, data)
}

func (cl *client) readRaw() (websocket.MessageType, []byte) {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, data, err := cl.c.Read(ctx)
	if err != nil {
		cl.t.Fatalf("read: %v", err)
	}
	return typ, data
}

func decodeAny(t testing.TB, typ websocket.MessageType, data []byte) any {
	t.Helper()
	if typ == websocket.MessageBinary {
		var v any
		if err := msgpack.Unmarshal(data, &v); err != nil {
			t.Fatalf("response is not MessagePack: %v", err)
		}
		var err error
		if data, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("response is not JSON: %v: %q", err, data)
	}
	return v
}

// do sends action with the client's headers and body and returns the reply.
func (cl *client) do(action string, body map[string]any) reply {
	cl.t.Helper()
	env := map[string]any{"action": action, "headers": cl.headers}
	if body != nil {
		env["body"] = body
	}
	cl.send(env)
	return cl.reply()
}

func (cl *client) reply() reply {
	cl.t.Helper()
	b, _ := json.Marshal(cl.read())
	var r reply
	if err := json.Unmarshal(b, &r); err != nil {
		cl.t.Fatalf("not a response envelope: %s", b)
	}
	return r
}

// expect checks a reply's status and, when want is not nil, its body.
func expect(t testing.TB, what string, r reply, status int, want any) {
	t.Helper()
	if r.Headers.Status != status {
		t.Fatalf("%s: status %d, want %d; body %v", what, r.Headers.Status, status, r.Body)
	}
	if want == nil {
		return
	}
	w := plain(t, want)
	if !reflect.DeepEqual(r.Body, w) {
		gb, _ := json.Marshal(r.Body)
		wb, _ := json.Marshal(w)
		t.Fatalf("%s: body\n got %s\nwant %s", what, gb, wb)
	}
}

// plain turns v into what encoding/json decodes its JSON to.
func plain(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// closeStatus reads until the connection ends and returns its close error.
func (cl *client) closeStatus() websocket.CloseError {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, _, err := cl.c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			cl.t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce
	}
}

// eventually polls cond for up to 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, what, 10*time.Second, 10*time.Millisecond, cond)
}

func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func modes(t *testing.T, f func(t *testing.T, binary bool)) {
	for _, m := range []struct {
		name   string
		binary bool
	}{{"json", false}, {"msgpack", true}} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f(t, m.binary)
		})
	}
}

// equal compares a and b as JSON values.
func equal(a, b any) bool {
	norm := func(v any) any {
		bs, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var out any
		_ = json.Unmarshal(bs, &out)
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// TestWait: a claim_create with wait is answered when a message arrives,
// while the connection goes on answering other requests (here the post
// that wakes it); a wait of the wrong type fails the schema.
func TestWait(t *testing.T) {
	modes(t, func(t *testing.T, binary bool) {
		e := newEnv(t, envOptions{})
		cl := e.dial(binary, "p-wait")
		cl.send(map[string]any{"action": "claim_create", "headers": cl.headers,
			"body": map[string]any{"queue_name": "lp", "wait": 20, "limit": 1}})
		eventually(t, "claim waiting", func() bool { return e.svc.WaitStats().Waiting == 1 })
		post := cl.do("message_post", map[string]any{"queue_name": "lp", "messages": []any{map[string]any{"body": 1}}})
		expect(t, "post beside the wait", post, 201, nil)
		claim := cl.reply()
		if claim.Request["action"] != "claim_create" {
			t.Fatalf("second answer is for %v, want claim_create", claim.Request["action"])
		}
		expect(t, "woken claim", claim, 201, nil)
		expect(t, "wait as a string", cl.do("message_list", map[string]any{"queue_name": "lp", "wait": "5"}),
			400, map[string]any{"error": "Schema validation failed."})
		expect(t, "negative wait", cl.do("claim_create", map[string]any{"queue_name": "lp", "wait": -1}),
			400, nil)
	})
}

// TestWaitEndsWithConnection: a waiting request ends when its connection
// closes.
func TestWaitEndsWithConnection(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.dial(false, "p-wait")
	cl.send(map[string]any{"action": "message_list", "headers": cl.headers,
		"body": map[string]any{"queue_name": "lp", "wait": 20}})
	eventually(t, "listing waiting", func() bool { return e.svc.WaitStats().Waiting == 1 })
	cl.c.CloseNow()
	eventually(t, "listing released", func() bool { return e.svc.WaitStats().Waiting == 0 })
}
