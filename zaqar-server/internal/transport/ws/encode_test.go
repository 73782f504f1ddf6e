package ws

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// A body holding a number MessagePack cannot carry is refused at post, in
// both encodings, with Zaqar's 400.
func TestPostRefusesUnencodableNumbers(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.dial(false, "p")
	for _, tc := range []struct{ body, desc string }{
		{`{"n":99999999999999999999}`, "JSON contains integer that is too large."},
		{`[1,-1e400]`, "JSON contains float that is too large."},
	} {
		// Raw frames: encoding/json would not write these numbers.
		cl.write(1, []byte(`{"action":"message_post","headers":{"Client-ID":"`+clientID+`","X-Project-ID":"p"},`+
			`"body":{"queue_name":"q","messages":[{"body":`+tc.body+`}]}}`))
		// Read as text: the echo repeats the number, which encoding/json
		// would not read either.
		_, data := cl.readRaw()
		if want := `"body":{"error":"Invalid request body","exception":"` + tc.desc + `"},"headers":{"status":400}}`; !strings.HasSuffix(string(data), want) {
			t.Errorf("message_post %s = %s, want ...%s", tc.body, data, want)
		}
	}
	bin := e.dial(true, "p")
	r := bin.do("message_post", map[string]any{"queue_name": "q", "messages": []any{map[string]any{"body": uint64(1 << 63)}}})
	expect(t, "msgpack message_post of 2^63", r, http.StatusBadRequest,
		map[string]any{"error": "Invalid request body", "exception": "JSON contains integer that is too large."})
}

// A stored message that MessagePack cannot carry (posted before such
// bodies were refused) still gets every MessagePack request an answer: a
// 500 error frame, never silence.
func TestUnencodableAnswerIsAnError(t *testing.T) {
	e := newEnv(t, envOptions{})
	q := zaqar.QueueRef{Project: "p", Name: "old"}
	if _, err := e.store.Queues().Create(t.Context(), q, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Messages().Post(t.Context(), q, []zaqar.NewMessage{
		{Body: json.RawMessage(`{"n":1e400}`), TTL: time.Hour, ClientID: clientID},
	}); err != nil {
		t.Fatal(err)
	}
	cl := e.dial(true, "p")
	for _, action := range []struct {
		name string
		body map[string]any
	}{
		{"message_list", map[string]any{"queue_name": "old", "echo": true}},
		{"claim_create", map[string]any{"queue_name": "old", "ttl": 60, "grace": 60}},
	} {
		r := cl.do(action.name, action.body)
		if r.Headers.Status != http.StatusInternalServerError {
			t.Fatalf("%s: status %d, want 500: %v", action.name, r.Headers.Status, r.Body)
		}
		if exc, _ := r.obj()["exception"].(string); !strings.Contains(exc, "MessagePack") {
			t.Errorf("%s: body %v, want a description of the encoding failure", action.name, r.Body)
		}
		if r.Request["action"] != action.name {
			t.Errorf("%s: request echo %v", action.name, r.Request)
		}
	}
	// The JSON wire carries the number as stored.
	text := e.dial(false, "p")
	text.send(map[string]any{"action": "message_list", "headers": text.headers,
		"body": map[string]any{"queue_name": "old", "echo": true, "include_claimed": true}})
	if _, data := text.readRaw(); !strings.Contains(string(data), `"body":{"n":1e400}`) || !strings.HasSuffix(string(data), `"status":200}}`) {
		t.Errorf("JSON message_list = %s", data)
	}
}
