package rest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/notify"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func TestSubscriptions(t *testing.T) {
	store := memory.New()
	n := notify.New(store, notify.Options{DeniedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	a := newAPIWith(t, store, service.Options{Limits: zaqar.DefaultLimits(), Notifier: n}, rest.Options{})

	got := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer hook.Close()

	r := a.expect("POST", "/v2/queues/news/subscriptions", `{"subscriber":"`+hook.URL+`","ttl":3600,"options":{"k":"v"}}`, 201, "X-Roles", "admin")
	id := r.json(t)["subscription_id"].(string)
	if r.header.Get("Location") != "/v2/queues/news/subscriptions" {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}
	// Unconfirmed duplicates answer 201 with the same id.
	r = a.expect("POST", "/v2/queues/news/subscriptions", `{"subscriber":"`+hook.URL+`"}`, 201)
	if r.json(t)["subscription_id"] != id {
		t.Errorf("re-create id = %s, want %s", r.body, id)
	}
	// The queue was created by the subscription.
	if qs := a.expect("GET", "/v2/queues", "", 200).json(t)["queues"].([]any); len(qs) != 1 {
		t.Errorf("queues = %v", qs)
	}

	r = a.expect("GET", "/v2/queues/news/subscriptions/"+id, "", 200)
	s := r.json(t)
	if s["id"] != id || s["source"] != "news" || s["subscriber"] != hook.URL || s["ttl"] != 3600.0 ||
		s["confirmed"] != false || s["options"].(map[string]any)["k"] != "v" {
		t.Errorf("subscription = %s", r.body)
	}
	r = a.expect("GET", "/v2/queues/news/subscriptions", "", 200)
	if subs := r.json(t)["subscriptions"].([]any); len(subs) != 1 || !strings.Contains(string(r.body), `"href":"/v2/queues/news/subscriptions?marker=`+id+`"`) {
		t.Errorf("list = %s", r.body)
	}

	// Notifications arrive as Zaqar formats them.
	a.expect("POST", "/v2/queues/news/messages", `{"messages":[{"body":{"headline":"hi"},"ttl":120}]}`, 201)
	select {
	case b := <-got:
		if b != `{"body":{"headline":"hi"},"ttl":120,"queue_name":"news","Message_Type":"Notification"}` {
			t.Errorf("notification = %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
	}

	r = a.expect("PATCH", "/v2/queues/news/subscriptions/"+id, `{"ttl":7200}`, 204)
	if r.header.Get("Location") != "/v2/queues/news/subscriptions/"+id {
		t.Errorf("PATCH Location = %q", r.header.Get("Location"))
	}
	a.expect("PATCH", "/v2/queues/news/subscriptions/nope", `{"ttl":7200}`, 404)
	a.expect("PATCH", "/v2/queues/news/subscriptions/"+id, ``, 400)
	a.expect("PUT", "/v2/queues/news/subscriptions/"+id+"/confirm", `{"confirmed":"yes"}`, 400)
	a.expect("PUT", "/v2/queues/news/subscriptions/nope/confirm", `{"confirmed":true}`, 404)
	a.expect("PUT", "/v2/queues/news/subscriptions/"+id+"/confirm", `{"confirmed":true}`, 204)
	// Now confirmed: a duplicate is a conflict.
	r = a.expect("POST", "/v2/queues/news/subscriptions", `{"subscriber":"`+hook.URL+`"}`, 409)
	if r.header.Get("Location") != "/v2/queues/news/subscriptions" {
		t.Errorf("409 Location = %q", r.header.Get("Location"))
	}

	for _, bad := range []string{``, `{}`, `[]`, `{"subscriber":"ftp://x"}`, `{"subscriber":"http://u:pw@x"}`,
		`{"subscriber":"http://x","ttl":10}`, `{"subscriber":"http://x","ttl":"60"}`, `{"subscriber":"http://x","options":[1]}`,
		`{"subscriber":"http://x","options":{"_retry_policy":{"retry_backoff_function":"cubic"}}}`} {
		a.expect("POST", "/v2/queues/news/subscriptions", bad, 400)
	}
	a.expect("GET", "/v2/queues/news/subscriptions?limit=21", "", 400)
	a.expect("GET", "/v2/queues/news/subscriptions/"+id, "", 404, "X-Project-ID", "p2")

	// A non-admin cannot mark itself allowed to reach internal addresses.
	r = a.expect("POST", "/v2/queues/news/subscriptions", `{"subscriber":"http://127.0.0.1:1/x","options":{"_allow_internal_target":true}}`, 201)
	r = a.expect("GET", "/v2/queues/news/subscriptions/"+r.json(t)["subscription_id"].(string), "", 200)
	if strings.Contains(string(r.body), "_allow_internal_target") {
		t.Errorf("client-set internal flag kept: %s", r.body)
	}

	a.expect("DELETE", "/v2/queues/news/subscriptions/"+id, "", 204)
	a.expect("DELETE", "/v2/queues/news/subscriptions/"+id, "", 204)
	a.expect("GET", "/v2/queues/news/subscriptions/"+id, "", 404)
}
