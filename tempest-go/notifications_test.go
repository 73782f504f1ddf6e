//go:build tempest

package tempest

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Notification delivery to a webhook receiver the test starts
// (zaqar/notification/tasks/webhook.py; docs/api.md "Notifications").
//
// The receiver listens on TEMPEST_RECEIVER_BIND ([messaging] receiver_bind,
// default 127.0.0.1:0) and is given to the server as TEMPEST_RECEIVER_HOST
// ([messaging] receiver_host, default the bind address): the server must
// reach it there. zaqar-go refuses webhooks to loopback and link-local
// addresses from non-admin subscribers ([notification]
// block_internal_webhooks, on by default), so a loopback receiver is
// subscribed by an admin, unless ZAQAR_BLOCK_INTERNAL_WEBHOOKS=false
// ([messaging] block_internal_webhooks) says the server allows it; Zaqar has
// no such guard. Zaqar delivers only with zaqar.notification.notifier in
// [storage] message_pipeline; TEMPEST_NOTIFICATIONS=false ([messaging]
// notifications) skips these tests for a deployment without it.

// delivery is one request the receiver got.
type delivery struct {
	path   string
	header http.Header
	body   []byte
}

// receiver is an HTTP server for webhook deliveries, stopped with the test.
type receiver struct {
	url string // what subscribers are given, with a path unique to the test
	got chan delivery
}

func startReceiver(t *testing.T) (*receiver, bool) {
	t.Helper()
	c := requireCloud(t)
	if !c.cfg.notifications {
		t.Skip("TEMPEST_NOTIFICATIONS=false: the deployment does not deliver notifications")
	}
	ln, err := net.Listen("tcp", c.cfg.receiverBind)
	if err != nil {
		t.Fatalf("receiver: listen on %s: %v", c.cfg.receiverBind, err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if c.cfg.receiverHost != "" {
		host = c.cfg.receiverHost
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		ln.Close()
		t.Skipf("receiver: bound to %s; set TEMPEST_RECEIVER_HOST to the address the server reaches it at", host)
	}
	rv := &receiver{url: "http://" + net.JoinHostPort(host, port) + "/tempest-" + randHex(4), got: make(chan delivery, 100)}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case rv.got <- delivery{path: r.URL.Path, header: r.Header.Clone(), body: b}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return rv, internalHost(host)
}

// internalHost: loopback, link-local or unspecified, as zaqar-go's guard
// sees the resolved address.
func internalHost(host string) bool {
	ips, err := net.LookupIP(host)
	if err != nil {
		return false
	}
	for _, ip := range ips {
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
			return true
		}
	}
	return false
}

// subscriber returns the session that may subscribe the receiver: the
// primary user, or an admin when the server would refuse the address.
func subscriber(t *testing.T, rv *receiver, internal bool) *session {
	t.Helper()
	c := requireCloud(t)
	if !internal || !c.cfg.blockInternalWebhooks {
		return newSession(t)
	}
	if c.keystone && c.admin == nil {
		t.Skipf("the receiver %s is an internal address, which zaqar-go refuses for non-admin subscribers "+
			"(block_internal_webhooks): set admin credentials (OS_ADMIN_* or [auth] admin_*), "+
			"or TEMPEST_RECEIVER_HOST to an address the server reaches, "+
			"or ZAQAR_BLOCK_INTERNAL_WEBHOOKS=false if the server allows internal webhooks", rv.url)
	}
	return adminSession(t)
}

// next waits for a delivery.
func (rv *receiver) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-rv.got:
		return d
	case <-time.After(30 * time.Second):
		t.Fatalf("no notification reached %s within 30 s", rv.url)
		return delivery{}
	}
}

// Each message posted to a subscribed queue reaches the webhook as one POST
// {"body", "ttl", "queue_name", "Message_Type": "Notification"} (pitfall 21).
func TestNotificationDelivery(t *testing.T) {
	t.Parallel()
	rv, internal := startReceiver(t)
	s := subscriber(t, rv, internal)
	q := s.createQueue("notify", nil)
	s.subscribe(q, object{"subscriber": rv.url, "ttl": 600})

	want := map[string]bool{"a": true, "b": true, "c": true}
	r := s.postRaw(q, object{"body": object{"event": "a"}, "ttl": 300},
		object{"body": object{"event": "b"}, "ttl": 300}, object{"body": object{"event": "c"}, "ttl": 300})
	wantStatus(t, r, 201)
	for range len(want) {
		d := rv.next(t)
		u, _ := url.Parse(rv.url)
		if d.path != u.Path {
			t.Errorf("notification to path %q, want %q", d.path, u.Path)
		}
		if ct := d.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("notification Content-Type %q, want application/json", ct)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(d.body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("notification body is not JSON: %v: %s", err, d.body)
		}
		if !wantShape(t, "notification", v, notificationSchema) {
			continue
		}
		n := v.(object)
		if n["queue_name"] != q || num(n["ttl"]) != 300 {
			t.Errorf("notification %s: want queue_name %s and ttl 300", d.body, q)
		}
		ev, _ := n["body"].(object)["event"].(string)
		if !want[ev] {
			t.Errorf("unexpected or repeated notification %s", d.body)
		}
		delete(want, ev)
	}
}

// options.post_headers are sent; options.post_data, a string, replaces the
// body, with "$zaqar_message$" standing for the notification (zaqar-api.md 7,
// zaqar-semantics.md 6).
func TestNotificationPostDataAndHeaders(t *testing.T) {
	t.Parallel()
	rv, internal := startReceiver(t)
	s := subscriber(t, rv, internal)
	q := s.createQueue("notify-opts", nil)
	s.subscribe(q, object{"subscriber": rv.url, "ttl": 600, "options": object{
		"post_headers": object{"X-Tempest": "yes"},
		// A string: Zaqar replaces the quoted token in it (webhook.py).
		"post_data": `{"wrapped": "$zaqar_message$", "from": "tempest-go"}`,
	}})
	wantStatus(t, s.postRaw(q, object{"body": "hello", "ttl": 120}), 201)
	d := rv.next(t)
	if got := d.header.Get("X-Tempest"); got != "yes" {
		t.Errorf("post_headers: X-Tempest = %q, want yes", got)
	}
	var v object
	dec := json.NewDecoder(bytes.NewReader(d.body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("post_data body is not JSON: %v: %s", err, d.body)
	}
	if v["from"] != "tempest-go" {
		t.Errorf("post_data body %s lacks from: tempest-go", d.body)
	}
	if wantShape(t, "wrapped", v["wrapped"], notificationSchema) {
		if w := v["wrapped"].(object); w["body"] != "hello" || w["queue_name"] != q {
			t.Errorf("wrapped notification %v, want body hello from %s", w, q)
		}
	}
}

// A deleted subscription gets nothing more: a message posted after the
// delete never arrives, while one posted later still reaches a second
// subscription of the same receiver (the marker that ends the wait).
func TestNotificationAfterUnsubscribe(t *testing.T) {
	t.Parallel()
	rv, internal := startReceiver(t)
	s := subscriber(t, rv, internal)
	q := s.createQueue("notify-unsub", nil)
	id := s.subscribe(q, object{"subscriber": rv.url, "ttl": 600})
	wantStatus(t, s.postRaw(q, object{"body": "before", "ttl": 120}), 201)
	if d := rv.next(t); !strings.Contains(string(d.body), `"before"`) {
		t.Fatalf("first notification %s, want the message posted while subscribed", d.body)
	}
	wantStatus(t, s.do("DELETE", queuePath(q, "subscriptions", id), nil), 204)
	wantStatus(t, s.postRaw(q, object{"body": "after", "ttl": 120}), 201)

	second := rv.url + "/second"
	s.subscribe(q, object{"subscriber": second, "ttl": 600})
	wantStatus(t, s.postRaw(q, object{"body": "marker", "ttl": 120}), 201)
	u, _ := url.Parse(second)
	for {
		d := rv.next(t)
		if d.path != u.Path {
			t.Fatalf("the deleted subscription was notified: %s", d.body)
		}
		if strings.Contains(string(d.body), `"after"`) {
			t.Fatalf("a message posted before the second subscription reached it: %s", d.body)
		}
		if strings.Contains(string(d.body), `"marker"`) {
			return
		}
	}
}
