package ws

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// TestProtocolErrors covers what Zaqar answers before any endpoint runs
// (zaqar/transport/websocket/protocol.py onMessage, api/handler.py).
func TestProtocolErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	modes(t, func(t *testing.T, binary bool) {
		cl := e.dial(binary, "proto")
		typ := websocket.MessageText
		undecodable := []byte("{nope")
		notObject := []byte("123")
		prefix := "Can't decode text (JSON) request. "
		if binary {
			typ = websocket.MessageBinary
			undecodable = []byte{0x81} // a map with its member missing
			notObject, _ = msgpack.Marshal("Apparently, I'm not a dictionary")
			prefix = "Can't decode binary (MessagePack) request. "
		}
		cl.write(typ, undecodable)
		r := cl.reply()
		if r.Headers.Status != http.StatusBadRequest || !strings.HasPrefix(r.obj()["error"].(string), prefix) {
			t.Errorf("undecodable frame = %d %v", r.Headers.Status, r.Body)
		}
		if want := map[string]any{"action": nil, "body": map[string]any{}, "headers": map[string]any{}, "api": "v2"}; !equal(r.Request, want) {
			t.Errorf("undecodable frame echo = %v, want %v", r.Request, want)
		}
		cl.write(typ, notObject)
		expect(t, "not an object", cl.reply(), http.StatusBadRequest, map[string]any{"error": "Unexpected body type. Expected dict or dict like."})

		h := cl.headers
		// 10.0: encoding/json would write a float64 10 as 10.
		var ten any = json.Number("10.0")
		if binary {
			ten = 10.0
		}
		for _, tc := range []struct {
			name string
			env  map[string]any
			want string
		}{
			{"unknown action", map[string]any{"action": "queue_glorify", "headers": h, "body": map[string]any{}}, "queue_glorify is not a valid action"},
			{"no action", map[string]any{"headers": h}, "None is not a valid action"},
			{"action not a string", map[string]any{"action": 5, "headers": h}, "5 is not a valid action"},
			{"no headers", map[string]any{"action": "queue_list"}, "Schema validation failed."},
			{"headers not an object", map[string]any{"action": "queue_list", "headers": "x"}, "Schema validation failed."},
			{"no Client-ID", map[string]any{"action": "queue_list", "headers": map[string]any{"X-Project-ID": "p"}}, "Schema validation failed."},
			{"Client-ID not a string", map[string]any{"action": "queue_list", "headers": map[string]any{"X-Project-ID": "p", "Client-ID": 1}}, "Schema validation failed."},
			{"no body", map[string]any{"action": "queue_get", "headers": h}, "Schema validation failed."},
			{"body not an object", map[string]any{"action": "queue_list", "headers": h, "body": []any{}}, "Schema validation failed."},
			{"no queue_name", map[string]any{"action": "queue_get", "headers": h, "body": map[string]any{}}, "Schema validation failed."},
			{"queue_name not a string", map[string]any{"action": "queue_get", "headers": h, "body": map[string]any{"queue_name": 1}}, "Schema validation failed."},
			{"limit a string", map[string]any{"action": "queue_list", "headers": h, "body": map[string]any{"limit": "10"}}, "Schema validation failed."},
			{"limit a float", map[string]any{"action": "message_list", "headers": h, "body": map[string]any{"queue_name": "q", "limit": ten}}, "Schema validation failed."},
			{"limit a bool", map[string]any{"action": "claim_create", "headers": h, "body": map[string]any{"queue_name": "q", "limit": true}}, "Schema validation failed."},
			{"echo a string", map[string]any{"action": "message_list", "headers": h, "body": map[string]any{"queue_name": "q", "echo": "true"}}, "Schema validation failed."},
			{"ttl null", map[string]any{"action": "claim_update", "headers": h, "body": map[string]any{"queue_name": "q", "claim_id": "c", "ttl": nil}}, "Schema validation failed."},
			{"messages not an array", map[string]any{"action": "message_post", "headers": h, "body": map[string]any{"queue_name": "q", "messages": map[string]any{}}}, "Schema validation failed."},
			{"message_ids not strings", map[string]any{"action": "message_get_many", "headers": h, "body": map[string]any{"queue_name": "q", "message_ids": []any{1}}}, "Schema validation failed."},
			{"options not an object", map[string]any{"action": "subscription_create", "headers": h, "body": map[string]any{"queue_name": "q", "options": []any{}}}, "Schema validation failed."},
			{"resource_types not an array", map[string]any{"action": "queue_purge", "headers": h, "body": map[string]any{"queue_name": "q", "resource_types": "messages"}}, "Schema validation failed."},
			{"authenticate without token", map[string]any{"action": "authenticate", "headers": h}, "Schema validation failed."},
		} {
			cl.send(tc.env)
			expect(t, tc.name, cl.reply(), http.StatusBadRequest, map[string]any{"error": tc.want})
		}

		for _, tc := range []struct {
			name, project string
			want          map[string]any
		}{
			{"empty project", "", map[string]any{"error": "Empty project header not allowed",
				"exception": "X-PROJECT-ID cannot be an empty string. Specify the right header X-PROJECT-ID and retry."}},
			{"control character in project", "\x00notify", map[string]any{"error": "Invalid project header",
				"exception": "X-PROJECT-ID may not contain control characters."}},
		} {
			cl.send(map[string]any{"action": "queue_list", "headers": map[string]any{"Client-ID": clientID, "X-Project-ID": tc.project}})
			expect(t, tc.name, cl.reply(), http.StatusBadRequest, tc.want)
		}
		expect(t, "bad Client-ID", (&client{t: t, c: cl.c, binary: binary, headers: map[string]any{"Client-ID": "nope", "X-Project-ID": "p"}}).
			do("message_list", map[string]any{"queue_name": "q"}), http.StatusBadRequest,
			map[string]any{"error": "Wrong UUID value", "exception": "Malformed hexadecimal UUID."})
		// The connection survives all of it.
		expect(t, "queue_list", cl.do("queue_list", nil), http.StatusOK, map[string]any{"queues": []any{}})
	})
}

// TestMalformedMessagePack: frames that would make the decoder allocate
// what they declare, nest without end or carry values JSON cannot hold are
// refused with a 400, never a crash.
func TestMalformedMessagePack(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.dial(true, "mp")
	deep := append([]byte{}, []byte(strings.Repeat("\x91", 20000))...)
	deep = append(deep, 0xc0)
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"array of 4 billion", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}},
		{"map of 4 billion", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}},
		{"string of 4 GiB", []byte{0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}},
		{"deep nesting", deep},
		{"NaN", []byte{0x81, 0xa1, 'x', 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1}},
		{"extension", []byte{0xd4, 0x01, 0x00}},
		{"trailing bytes", []byte{0x80, 0x80}},
		{"never used code", []byte{0xc1}},
		{"empty", []byte{}},
		{"integer key", []byte{0x81, 0x01, 0x02}},
	} {
		cl.write(websocket.MessageBinary, tc.frame)
		r := cl.reply()
		if r.Headers.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, body %v", tc.name, r.Headers.Status, r.Body)
		}
	}
	expect(t, "still serving", cl.do("queue_list", nil), http.StatusOK, nil)
}

// TestOversizeFrame: a frame over the read limit closes the connection
// with 1009, as [transport] limits bound what a request may carry.
func TestOversizeFrame(t *testing.T) {
	limits := zaqar.DefaultLimits()
	limits.MaxMessagesPostSize = 1024
	limits.MaxQueueMetadata = 1024
	e := newEnv(t, envOptions{limits: &limits})
	if want := int64(1024 + envelopeAllowance); e.srv.opts.ReadLimit != want {
		t.Fatalf("ReadLimit = %d, want %d", e.srv.opts.ReadLimit, want)
	}
	cl := e.dial(false, "big")
	// Over the post size but within the frame limit: Zaqar's 400.
	r := cl.do("message_post", map[string]any{"queue_name": "q", "messages": []any{map[string]any{"body": strings.Repeat("x", 2000)}}})
	expect(t, "post over max_messages_post_size", r, http.StatusBadRequest,
		map[string]any{"error": "Invalid API request", "exception": "Message collection size is too large. Max size 1024"})
	cl.write(websocket.MessageText, []byte(`{"action": "queue_list", "pad": "`+strings.Repeat("x", 1024+envelopeAllowance)+`"}`))
	if ce := cl.closeStatus(); ce.Code != websocket.StatusMessageTooBig {
		t.Errorf("close = %v, want 1009", ce)
	}
}

func TestCheckMsgpack(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"fixmap", []byte{0x81, 0xa1, 'a', 0x01}, nil},
		{"nil", []byte{0xc0}, nil},
		{"nested", []byte{0x91, 0x91, 0x90}, nil},
		{"str8", []byte{0xd9, 0x02, 'h', 'i'}, nil},
		{"float64", []byte{0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}, nil},
		{"truncated str", []byte{0xd9, 0x05, 'h'}, errTruncated},
		{"truncated length", []byte{0xdc, 0x00}, errTruncated},
		{"declared items", []byte{0xdc, 0x00, 0x03, 0x01}, errTruncated},
		{"extra", []byte{0x01, 0x02}, errExtraData},
		{"ext", []byte{0xc7, 0x01, 0x01, 0x00}, errExt},
		{"inf32", []byte{0xca, 0x7f, 0x80, 0, 0}, errNonFinite},
	} {
		if got := checkMsgpack(tc.in); !errors.Is(got, tc.want) {
			t.Errorf("%s: checkMsgpack(%x) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestTranscodeKeepsOrderAndTypes(t *testing.T) {
	in := `{"z":1,"a":[1.5,-2,18446744073709551615,"s",true,null],"m":{"y":{},"b":[]},"f":60.0}`
	packed, err := jsonToMsgpack([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	back, err := msgpackToJSON(packed)
	if err != nil {
		t.Fatal(err)
	}
	if string(back) != in {
		t.Errorf("round trip\n got %s\nwant %s", back, in)
	}
}
