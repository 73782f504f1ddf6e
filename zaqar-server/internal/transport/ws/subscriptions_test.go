package ws

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func restPost(t *testing.T, e *env, project, queue, doc string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.restURL+"/v2/queues/"+queue+"/messages", strings.NewReader(doc))
	req.Header.Set("Client-ID", clientID)
	req.Header.Set("X-Project-ID", project)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("REST post: %d", res.StatusCode)
	}
}

// TestNotificationsFromREST: messages posted over HTTP, through the
// notifier and the internal listener, reach a subscribed socket in post
// order; the subscription goes when the socket does.
func TestNotificationsFromREST(t *testing.T) {
	e := newEnv(t, envOptions{})
	modes(t, func(t *testing.T, binary bool) {
		project := fmt.Sprintf("notify-%v", binary)
		cl := e.dial(binary, project)
		r := cl.do("subscription_create", map[string]any{"queue_name": "news", "ttl": 600})
		expect(t, "subscription_create", r, http.StatusCreated, nil)
		sid, _ := r.obj()["subscription_id"].(string)
		if r.obj()["message"] != "Subscription news created." || sid == "" {
			t.Fatalf("subscription_create = %v", r.Body)
		}
		expect(t, "subscription_create again", cl.do("subscription_create", map[string]any{"queue_name": "news"}),
			http.StatusConflict, "Subscription news not created.")
		r = cl.do("subscription_get", map[string]any{"queue_name": "news", "subscription_id": sid})
		if sub, _ := r.Body.(map[string]any)["subscriber"].(string); !strings.HasPrefix(sub, "http://127.0.0.1:") {
			t.Errorf("subscriber = %v", r.Body)
		}

		const n = 30
		for i := range n {
			// One message per post, then a batch: order is post order.
			restPost(t, e, project, "news", fmt.Sprintf(`{"messages": [{"body": {"seq": %d}, "ttl": 300}]}`, i))
		}
		restPost(t, e, project, "news", `{"messages": [{"body": {"seq": 30}}, {"body": {"seq": 31}}]}`)
		for i := range n + 2 {
			got, _ := cl.read().(map[string]any)
			body, _ := got["body"].(map[string]any)
			if body["seq"] != float64(i) || got["queue_name"] != "news" || got["Message_Type"] != "Notification" {
				t.Fatalf("notification %d = %v", i, got)
			}
			if i < n && got["ttl"] != 300.0 {
				t.Fatalf("notification %d ttl = %v", i, got["ttl"])
			}
		}

		// A post over the socket notifies as well.
		other := e.dial(false, project)
		expect(t, "message_post", other.do("message_post", map[string]any{"queue_name": "news", "messages": []any{map[string]any{"body": "ws"}}}),
			http.StatusCreated, nil)
		if got, _ := cl.read().(map[string]any); got["body"] != "ws" {
			t.Fatalf("notification of a socket post = %v", got)
		}

		cl.c.Close(websocket.StatusNormalClosure, "")
		q := zaqar.QueueRef{Project: project, Name: "news"}
		eventually(t, "the connection's subscription to go", func() bool {
			subs, err := e.svc.ListSubscriptions(t.Context(), q, "", nil)
			return err == nil && len(subs) == 0
		})
	})
}

// TestNotificationListener checks the internal listener's answers.
func TestNotificationListener(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.dial(false, "listener")
	expect(t, "subscription_create", cl.do("subscription_create", map[string]any{"queue_name": "q"}), http.StatusCreated, nil)
	var id string
	e.srv.mu.Lock()
	for k := range e.srv.conns {
		id = k
	}
	e.srv.mu.Unlock()
	h := e.srv.Notifications()
	post := func(method, path, body string, chunked bool) int {
		req := httptest.NewRequest(method, "http://listener"+path, strings.NewReader(body))
		if chunked {
			req.ContentLength = -1
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if got := post(http.MethodGet, "/"+id, "", false); got != http.StatusMethodNotAllowed {
		t.Errorf("GET = %d", got)
	}
	if got := post(http.MethodPost, "/"+id, `{"a":1}`, true); got != http.StatusBadRequest {
		t.Errorf("no Content-Length = %d", got)
	}
	if got := post(http.MethodPost, "/nope", `{"a":1}`, false); got != http.StatusNotFound {
		t.Errorf("unknown connection = %d", got)
	}
	if got := post(http.MethodPost, "/"+id, `{"a":1}`, false); got != http.StatusOK {
		t.Errorf("forward = %d", got)
	}
	if got, _ := cl.read().(map[string]any); got["a"] != 1.0 {
		t.Errorf("forwarded = %v", got)
	}
	big := `"` + strings.Repeat("x", int(e.svc.Limits().MaxMessagesPostSize+notificationAllowance)) + `"`
	if got := post(http.MethodPost, "/"+id, big, false); got != http.StatusRequestEntityTooLarge {
		t.Errorf("too large = %d", got)
	}
}
