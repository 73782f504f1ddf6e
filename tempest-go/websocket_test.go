//go:build tempest

package tempest

// Black-box tests of Zaqar's WebSocket API (zaqar/api/v2/endpoints.py over
// zaqar/transport/websocket): every action over a real socket, in JSON
// (text frames) and MessagePack (binary frames), with coder/websocket and
// vmihailenco/msgpack, never the server's packages.
//
//	ZAQAR_WEBSOCKET_ENDPOINT  e.g. ws://127.0.0.1:9000/ ([messaging]
//	                          websocket_endpoint), else with Keystone the
//	                          catalog's messaging-websocket endpoint; the
//	                          tests skip without one.
//
// With Keystone the socket authenticates with the session's token first.

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/zaqar-go/suite/internal/testenv"
)

// wsClient is one socket speaking JSON or MessagePack.
type wsClient struct {
	t       *testing.T
	c       *websocket.Conn
	binary  bool
	headers map[string]any
}

func wsEndpoint(t *testing.T) string {
	t.Helper()
	c := requireCloud(t)
	if c.wsEndpoint == "" {
		t.Skip("set ZAQAR_WEBSOCKET_ENDPOINT (e.g. ws://127.0.0.1:9000/), or register a messaging-websocket endpoint, to run WebSocket tests")
	}
	return c.wsEndpoint
}

// dialWS connects and, with Keystone, authenticates. project is used
// without Keystone; with it the token's project is.
func dialWS(t *testing.T, binary bool, project string) *wsClient {
	t.Helper()
	endpoint := wsEndpoint(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, endpoint, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", endpoint, err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	w := &wsClient{t: t, c: c, binary: binary, headers: map[string]any{"Client-ID": newClientID(), "X-Project-ID": project}}
	if cl := requireCloud(t); cl.keystone {
		token, proj := keystoneProject(t, cl)
		w.headers["X-Project-ID"] = proj
		w.send(map[string]any{"action": "authenticate", "headers": map[string]any{"X-Auth-Token": token, "X-Project-ID": proj}})
		r := w.reply()
		wantWS(t, "authenticate", r, 200, map[string]any{"message": "Authentified."})
	}
	return w
}

// keystoneProject returns the session token and the id of its project.
func keystoneProject(t *testing.T, c *cloud) (string, string) {
	t.Helper()
	idc, err := openstack.NewIdentityV3(c.primary, gophercloud.EndpointOpts{Region: c.cfg.region})
	if err != nil {
		t.Fatalf("identity client: %v", err)
	}
	token := c.primary.Token()
	p, err := tokens.Get(t.Context(), idc, token).ExtractProject()
	if err != nil || p == nil {
		t.Fatalf("project of the token: %v", err)
	}
	return token, p.ID
}

func (w *wsClient) send(env map[string]any) {
	w.t.Helper()
	typ := websocket.MessageText
	var data []byte
	var err error
	if w.binary {
		typ = websocket.MessageBinary
		data, err = msgpack.Marshal(env)
	} else {
		data, err = json.Marshal(env)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	w.write(typ, data)
}

func (w *wsClient) write(typ websocket.MessageType, data []byte) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, typ, data); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// next reads one frame, checks its framing and returns it as plain JSON
// values (numbers as float64).
func (w *wsClient) next() any {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	typ, data, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	if (typ == websocket.MessageBinary) != w.binary {
		w.t.Fatalf("a %v frame answered a binary=%v request", typ, w.binary)
	}
	if w.binary {
		var v any
		if err := msgpack.Unmarshal(data, &v); err != nil {
			w.t.Fatalf("not MessagePack: %v", err)
		}
		if data, err = json.Marshal(v); err != nil {
			w.t.Fatal(err)
		}
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		w.t.Fatalf("not JSON: %v: %s", err, data)
	}
	return v
}

type wsReply struct {
	request map[string]any
	status  int
	body    any
}

func (r wsReply) obj() map[string]any { m, _ := r.body.(map[string]any); return m }

func (w *wsClient) reply() wsReply {
	w.t.Helper()
	raw := w.next()
	if !wantShape(w.t, "reply", raw, wsReplySchema) {
		w.t.FailNow()
	}
	v, _ := raw.(map[string]any)
	req, _ := v["request"].(map[string]any)
	h, _ := v["headers"].(map[string]any)
	status, ok := h["status"].(float64)
	if req == nil || !ok {
		w.t.Fatalf("not a response envelope: %v", v)
	}
	if _, ok := v["body"]; !ok {
		w.t.Fatalf("response without body: %v", v)
	}
	return wsReply{request: req, status: int(status), body: v["body"]}
}

func (w *wsClient) do(action string, body map[string]any) wsReply {
	w.t.Helper()
	env := map[string]any{"action": action, "headers": w.headers}
	if body != nil {
		env["body"] = body
	}
	w.send(env)
	r := w.reply()
	if r.request["action"] != action || r.request["api"] != "v2" {
		w.t.Fatalf("%s: request echo %v", action, r.request)
	}
	return r
}

// wantWS checks status and, unless want is nil, the body as JSON values.
func wantWS(t *testing.T, what string, r wsReply, status int, want any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %v", what, r.status, status, r.body)
	}
	if want == nil {
		return
	}
	b, _ := json.Marshal(want)
	var w any
	json.Unmarshal(b, &w)
	if !reflect.DeepEqual(r.body, w) {
		t.Fatalf("%s: body %v, want %v", what, r.body, w)
	}
}

func wsModes(t *testing.T, f func(t *testing.T, binary bool)) {
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

// TestWebSocketActions drives every action of the protocol.
func TestWebSocketActions(t *testing.T) {
	t.Parallel()
	wsEndpoint(t)
	wsModes(t, func(t *testing.T, binary bool) {
		w := dialWS(t, binary, "tempest-ws-"+randHex(6))
		q := queueName("ws")
		// Registered after dialWS's, so it runs while the socket is open.
		t.Cleanup(func() { w.do("queue_delete", map[string]any{"queue_name": q}) })

		wantWS(t, "queue_create", w.do("queue_create", map[string]any{"queue_name": q, "metadata": map[string]any{"k": "v"}}), 201, "Queue "+q+" created.")
		wantWS(t, "queue_create again", w.do("queue_create", map[string]any{"queue_name": q}), 204, "Queue "+q+" created.")
		r := w.do("queue_list", map[string]any{"detailed": true, "limit": 20})
		wantWS(t, "queue_list", r, 200, nil)
		found := false
		for _, e := range r.obj()["queues"].([]any) {
			if e.(map[string]any)["name"] == q {
				found = reflect.DeepEqual(e.(map[string]any)["metadata"], map[string]any{"k": "v"})
			}
		}
		if !found && !requireCloud(t).keystone {
			t.Errorf("queue_list detailed lacks %s with its metadata: %v", q, r.body)
		}
		wantWS(t, "queue_get", w.do("queue_get", map[string]any{"queue_name": q}), 200, map[string]any{"k": "v"})
		wantWS(t, "queue_get_stats", w.do("queue_get_stats", map[string]any{"queue_name": q}), 200,
			map[string]any{"messages": map[string]any{"claimed": 0, "free": 0, "total": 0}})

		r = w.do("message_post", map[string]any{"queue_name": q, "messages": []any{
			map[string]any{"body": map[string]any{"i": 0}, "ttl": 300}, map[string]any{"body": "one"}, map[string]any{"body": 2}}})
		wantWS(t, "message_post", r, 201, nil)
		ids, _ := r.obj()["message_ids"].([]any)
		if len(ids) != 3 {
			t.Fatalf("message_post = %v", r.body)
		}
		r = w.do("message_list", map[string]any{"queue_name": q, "echo": true})
		wantWS(t, "message_list", r, 200, nil)
		if msgs, _ := r.obj()["messages"].([]any); len(msgs) != 3 || msgs[0].(map[string]any)["id"] != ids[0] {
			t.Fatalf("message_list = %v", r.body)
		}
		r = w.do("message_get", map[string]any{"queue_name": q, "message_id": ids[1]})
		wantWS(t, "message_get", r, 200, nil)
		if m, _ := r.obj()["messages"].(map[string]any); m["body"] != "one" {
			t.Errorf("message_get = %v", r.body)
		}
		r = w.do("message_get_many", map[string]any{"queue_name": q, "message_ids": []any{ids[0], ids[2]}})
		if msgs, _ := r.obj()["messages"].([]any); r.status != 200 || len(msgs) != 2 {
			t.Errorf("message_get_many = %d %v", r.status, r.body)
		}

		r = w.do("claim_create", map[string]any{"queue_name": q, "limit": 2, "ttl": 60, "grace": 60})
		wantWS(t, "claim_create", r, 201, nil)
		cid, _ := r.obj()["claim_id"].(string)
		claimed, _ := r.obj()["messages"].([]any)
		if cid == "" || len(claimed) != 2 {
			t.Fatalf("claim_create = %v", r.body)
		}
		r = w.do("claim_get", map[string]any{"queue_name": q, "claim_id": cid})
		if r.status != 200 || r.obj()["ttl"] != 60.0 {
			t.Errorf("claim_get = %d %v", r.status, r.body)
		}
		wantWS(t, "claim_update", w.do("claim_update", map[string]any{"queue_name": q, "claim_id": cid, "ttl": 120}), 204, "Claim "+cid+" updated.")
		first := claimed[0].(map[string]any)["id"]
		wantWS(t, "message_delete claimed", w.do("message_delete", map[string]any{"queue_name": q, "message_id": first}), 403, nil)
		wantWS(t, "message_delete", w.do("message_delete", map[string]any{"queue_name": q, "message_id": first, "claim_id": cid}), 204, map[string]any{})
		wantWS(t, "claim_delete", w.do("claim_delete", map[string]any{"queue_name": q, "claim_id": cid}), 204, "Claim "+cid+" deleted.")
		wantWS(t, "message_delete_many", w.do("message_delete_many", map[string]any{"queue_name": q, "message_ids": []any{ids[1]}}), 204, map[string]any{})
		r = w.do("message_delete_many", map[string]any{"queue_name": q, "pop": 1})
		if msgs, _ := r.obj()["messages"].([]any); r.status != 200 || len(msgs) != 1 {
			t.Errorf("pop = %d %v", r.status, r.body)
		}
		wantWS(t, "claim_create on empty queue", w.do("claim_create", map[string]any{"queue_name": q}), 204, map[string]any{"claim_id": nil})

		r = w.do("subscription_create", map[string]any{"queue_name": q, "subscriber": "http://example.invalid/hook", "ttl": 3600})
		wantWS(t, "subscription_create", r, 201, nil)
		sid, _ := r.obj()["subscription_id"].(string)
		if r := w.do("subscription_get", map[string]any{"queue_name": q, "subscription_id": sid}); r.status != 200 || r.obj()["subscriber"] != "http://example.invalid/hook" {
			t.Errorf("subscription_get = %d %v", r.status, r.body)
		}
		if r := w.do("subscription_list", map[string]any{"queue_name": q}); r.status != 200 || len(r.obj()["subscriptions"].([]any)) != 1 {
			t.Errorf("subscription_list = %d %v", r.status, r.body)
		}
		wantWS(t, "subscription_delete", w.do("subscription_delete", map[string]any{"queue_name": q, "subscription_id": sid}), 204, "Subscription "+sid+" removed.")
		wantWS(t, "subscription_get deleted", w.do("subscription_get", map[string]any{"queue_name": q, "subscription_id": sid}), 404, nil)

		w.do("message_post", map[string]any{"queue_name": q, "messages": []any{map[string]any{"body": 1}}})
		wantWS(t, "queue_purge", w.do("queue_purge", map[string]any{"queue_name": q}), 204, map[string]any{})
		wantWS(t, "queue_delete", w.do("queue_delete", map[string]any{"queue_name": q}), 204, "Queue "+q+" removed.")
		wantWS(t, "queue_get_stats missing", w.do("queue_get_stats", map[string]any{"queue_name": q}), 404,
			map[string]any{"messages": map[string]any{"claimed": 0, "free": 0, "total": 0}})
	})
}

// TestWebSocketErrors: protocol errors, as Zaqar words them.
func TestWebSocketErrors(t *testing.T) {
	t.Parallel()
	wsEndpoint(t)
	wsModes(t, func(t *testing.T, binary bool) {
		w := dialWS(t, binary, "tempest-ws-"+randHex(6))
		bad, typ, prefix := []byte("{"), websocket.MessageText, "Can't decode text (JSON) request."
		if binary {
			bad, typ, prefix = []byte{0xc1}, websocket.MessageBinary, "Can't decode binary (MessagePack) request."
		}
		w.write(typ, bad)
		r := w.reply()
		if e, _ := r.obj()["error"].(string); r.status != 400 || !strings.HasPrefix(e, prefix) || r.request["action"] != nil {
			t.Errorf("undecodable frame: %d %v %v", r.status, r.request, r.body)
		}
		w.send(map[string]any{"action": "queue_glorify", "headers": w.headers, "body": map[string]any{}})
		wantWS(t, "unknown action", w.reply(), 400, map[string]any{"error": "queue_glorify is not a valid action"})
		wantWS(t, "limit not an integer", w.do("message_list", map[string]any{"queue_name": "q", "limit": "5"}), 400,
			map[string]any{"error": "Schema validation failed."})
		wantWS(t, "missing queue_name", w.do("queue_get", map[string]any{}), 400, map[string]any{"error": "Schema validation failed."})
		r = w.do("claim_create", map[string]any{"queue_name": "q", "ttl": 10})
		if r.status != 400 || r.obj()["error"] == nil {
			t.Errorf("claim ttl 10: %d %v", r.status, r.body)
		}
	})
}

// TestWebSocketNotifications: a socket subscribed without a subscriber
// receives the messages posted over HTTP to that queue, in post order, and
// its subscription ends with it.
func TestWebSocketNotifications(t *testing.T) {
	t.Parallel()
	wsEndpoint(t)
	s := newSession(t)
	project := s.project
	if s.cloud.keystone {
		project = "" // dialWS uses the token's
	}
	wsModes(t, func(t *testing.T, binary bool) {
		s := s.in(t)
		w := dialWS(t, binary, project)
		q := s.createQueue("wsnotify", nil)
		r := w.do("subscription_create", map[string]any{"queue_name": q, "ttl": 600})
		wantWS(t, "subscription_create", r, 201, map[string]any{"subscription_id": r.obj()["subscription_id"], "message": "Subscription " + q + " created."})
		const n = 10
		for i := range n {
			p := s.do("POST", queuePath(q, "messages"), map[string]any{"messages": []any{map[string]any{"body": map[string]any{"seq": i}, "ttl": 120}}})
			if p.status != http.StatusCreated {
				t.Fatalf("REST post: %v", p)
			}
		}
		for i := range n {
			got, _ := w.next().(map[string]any)
			body, _ := got["body"].(map[string]any)
			if body["seq"] != float64(i) || got["queue_name"] != q || got["Message_Type"] != "Notification" || got["ttl"] != 120.0 {
				t.Fatalf("notification %d = %v", i, got)
			}
		}
		w.c.Close(websocket.StatusNormalClosure, "")
		testenv.Eventually(t, "the socket's subscription to go with it", 20*time.Second, 100*time.Millisecond, func() bool {
			r := s.do("GET", queuePath(q, "subscriptions"), nil)
			var doc struct {
				Subscriptions []any `json:"subscriptions"`
			}
			json.Unmarshal(r.body, &doc)
			return r.status == 200 && len(doc.Subscriptions) == 0
		})
	})
}
