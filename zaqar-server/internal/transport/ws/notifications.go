package ws

import (
	"io"
	"net/http"
	"strings"

	"github.com/coder/websocket"
)

// notificationAllowance is room for what a webhook adds around a message
// body (queue name, ttl, a post_data template of up to 64 KiB).
const notificationAllowance = 128 << 10

// Notifications is the internal listener's handler: the notifier POSTs a
// connection's notifications to /<connection id>, and each is forwarded,
// unwrapped, as one frame (factory.py NotificationFactory.send_data).
// It answers only after the frame is queued, so the notifier, which sends
// a subscription's notifications one at a time, keeps them in order.
//
// Answers: 200 forwarded; 405 not a POST; 400 no Content-Length (as
// Zaqar); 413 too large; 404 no such connection on this node; 410 the
// connection was too slow and is being closed. 4xx are final for the
// notifier, so nothing is retried towards a connection that is gone.
func (s *Server) Notifications() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.ContentLength < 0 {
			http.Error(w, "Content-Length required", http.StatusBadRequest)
			return
		}
		limit := s.svc.Limits().MaxMessagesPostSize + notificationAllowance
		if r.ContentLength > limit {
			http.Error(w, "notification too large", http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, r.ContentLength))
		if err != nil || int64(len(body)) != r.ContentLength {
			http.Error(w, "incomplete body", http.StatusBadRequest)
			return
		}
		c := s.lookup(strings.TrimPrefix(r.URL.Path, "/"))
		if c == nil {
			http.Error(w, "no such connection", http.StatusNotFound)
			return
		}
		f := frame{typ: websocket.MessageText, data: body}
		if c.notifyBinary.Load() {
			// The payload is the notifier's JSON; a post_data template may
			// make it something else, which then goes as text.
			if packed, err := jsonToMsgpack(body); err == nil {
				f = frame{typ: websocket.MessageBinary, data: packed}
			}
		}
		if !c.notify(f) {
			http.Error(w, "connection closed", http.StatusGone)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}
