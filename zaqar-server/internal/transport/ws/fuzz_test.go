package ws

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// FuzzHandle feeds arbitrary frames through the whole request path, frame
// decoder to storage, on a memory store: every frame must get a response
// envelope in its own framing, and nothing may panic (run() would turn a
// panic into a 500, which the fuzzer reports too).
//
//	go test -run=^$ -fuzz=FuzzHandle -fuzztime=60s ./zaqar-server/internal/transport/ws/
func FuzzHandle(f *testing.F) {
	h := map[string]any{"Client-ID": clientID, "X-Project-ID": "fuzz"}
	for _, env := range []map[string]any{
		{"action": "queue_list", "headers": h, "body": map[string]any{"limit": 2, "detailed": true}},
		{"action": "queue_create", "headers": h, "body": map[string]any{"queue_name": "q", "metadata": map[string]any{"_max_claim_count": 2}}},
		{"action": "queue_get_stats", "headers": h, "body": map[string]any{"queue_name": "q"}},
		{"action": "queue_purge", "headers": h, "body": map[string]any{"queue_name": "q", "resource_types": []any{"messages"}}},
		{"action": "message_post", "headers": h, "body": map[string]any{"queue_name": "q", "messages": []any{map[string]any{"body": map[string]any{"k": []any{1, 2.5, nil}}, "ttl": 60}}}},
		{"action": "message_list", "headers": h, "body": map[string]any{"queue_name": "q", "echo": true, "include_claimed": true}},
		{"action": "message_get_many", "headers": h, "body": map[string]any{"queue_name": "q", "message_ids": []any{"a", "b"}}},
		{"action": "message_delete_many", "headers": h, "body": map[string]any{"queue_name": "q", "pop": 3}},
		{"action": "claim_create", "headers": h, "body": map[string]any{"queue_name": "q", "ttl": 60, "grace": 60, "limit": 5}},
		{"action": "claim_update", "headers": h, "body": map[string]any{"queue_name": "q", "claim_id": "c", "ttl": 90}},
		{"action": "subscription_create", "headers": h, "body": map[string]any{"queue_name": "q", "ttl": 60, "options": map[string]any{}}},
		{"action": "subscription_create", "headers": h, "body": map[string]any{"queue_name": "q", "subscriber": "http://x/", "options": map[string]any{"_retry_policy": map[string]any{"minimum_delay": 1}}}},
		{"action": "subscription_list", "headers": h, "body": map[string]any{"queue_name": "q", "limit": 1}},
		{"action": "authenticate", "headers": map[string]any{"X-Auth-Token": "t", "X-Project-ID": "p"}},
		{"action": "flavor_get", "headers": h, "body": map[string]any{"flavor_name": "f"}},
	} {
		j, _ := json.Marshal(env)
		m, _ := msgpack.Marshal(env)
		f.Add(j, false)
		f.Add(m, true)
	}
	f.Add([]byte("\ufeff"), false)
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff}, true)

	store := memory.New()
	defer store.Close()
	limits := zaqar.DefaultLimits()
	srv := New(service.New(store, service.Options{Limits: limits}), Options{NotificationURL: "http://127.0.0.1:1/"})
	c := &conn{id: "fuzz", s: srv, out: make(chan frame, 1), done: make(chan struct{})}
	f.Fuzz(func(t *testing.T, data []byte, binary bool) {
		out := c.handle(context.Background(), data, binary)
		if out == nil {
			t.Fatal("no response")
		}
		var v map[string]any
		var err error
		if binary {
			err = msgpack.Unmarshal(out, &v)
		} else {
			err = json.Unmarshal(out, &v)
		}
		if err != nil {
			t.Fatalf("response not decodable: %v", err)
		}
		status, _ := v["headers"].(map[string]any)["status"]
		if n, _ := asInt(status); n == 500 {
			t.Fatalf("500 for %q: %v", data, v)
		}
	})
}

// FuzzDecodeFrame checks the frame decoder alone: it never panics, and a
// MessagePack frame it accepts survives MessagePack -> JSON -> MessagePack
// -> JSON unchanged (the path of a binary request and its echo).
//
//	go test -run=^$ -fuzz=FuzzDecodeFrame -fuzztime=60s ./zaqar-server/internal/transport/ws/
func FuzzDecodeFrame(f *testing.F) {
	f.Add([]byte(`{"action":"queue_list","headers":{},"body":{"limit":1.5e3}}`), false)
	f.Add([]byte{0x82, 0xa1, 'a', 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xa1, 'b', 0x92, 0xc3, 0xd0, 0x80}, true)
	f.Add([]byte{0xdc, 0x00, 0x02, 0xc4, 0x01, 0xff, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, true)
	f.Fuzz(func(t *testing.T, data []byte, binary bool) {
		r, err := decodeFrame(data, binary)
		if err == nil && r == nil {
			t.Fatal("no request and no error")
		}
		if !binary {
			return
		}
		j1, err := msgpackToJSON(data)
		if err != nil {
			return
		}
		if !json.Valid(j1) {
			t.Fatalf("msgpackToJSON(%x) = %q: not JSON", data, j1)
		}
		m, err := jsonToMsgpack(j1)
		if err != nil {
			t.Fatalf("jsonToMsgpack(%q): %v", j1, err)
		}
		j2, err := msgpackToJSON(m)
		var v1, v2 any
		if err != nil || json.Unmarshal(j1, &v1) != nil || json.Unmarshal(j2, &v2) != nil || !reflect.DeepEqual(v1, v2) {
			t.Fatalf("round trip of %x: %q then %q (%v)", data, j1, j2, err)
		}
	})
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), true
	}
	return 0, false
}
