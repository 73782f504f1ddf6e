package rest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/notify"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func TestTopics(t *testing.T) {
	store := memory.New()
	n := notify.New(store, notify.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	a := newAPIWith(t, store, service.Options{Limits: zaqar.DefaultLimits(), Notifier: n}, rest.Options{})

	r := a.expect("PUT", "/v2/topics/alerts", `{"color":"red"}`, 201)
	if r.header.Get("Location") != "/v2/topics/alerts" {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}
	a.expect("PUT", "/v2/topics/alerts", ``, 204)
	r = a.expect("GET", "/v2/topics/alerts", "", 200)
	equalJSON(t, r.body, `{"color":"red","_max_messages_post_size":262144,"_default_message_ttl":3600,"_default_message_delay":0}`)
	r = a.expect("GET", "/v2/topics", "", 200)
	equalJSON(t, r.body, `{"topics":[{"name":"alerts","href":"/v2/topics/alerts"}],"links":[{"rel":"next","href":"/v2/topics?marker=alerts"}]}`)
	// A queue of the same name is another resource.
	r = a.expect("GET", "/v2/queues", "", 200)
	equalJSON(t, r.body, `{"queues":[],"links":[]}`)
	a.expect("PATCH", "/v2/topics/alerts", `[{"op":"add","path":"/metadata/x","value":1}]`, 200,
		"Content-Type", "application/openstack-messaging-v2.0-json-patch")
	a.expect("GET", "/v2/topics/bad%20name", "", 400)

	got := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer hook.Close()
	a.expect("POST", "/v2/topics/alerts/subscriptions", `{"subscriber":"`+hook.URL+`"}`, 201, "X-Roles", "admin")

	r = a.expect("POST", "/v2/topics/alerts/messages", `{"messages":[{"body":"fire","ttl":60}]}`, 201)
	href := r.json(t)["resources"].([]any)[0].(string)
	if !strings.HasPrefix(href, "/v2/topics/alerts/messages/") {
		t.Errorf("resource = %s", href)
	}
	select {
	case b := <-got:
		if b != `{"body":"fire","ttl":60,"queue_name":"alerts","Message_Type":"Notification"}` {
			t.Errorf("topic notification = %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no topic notification")
	}
	r = a.expect("GET", href, "", 200)
	if r.json(t)["href"] != href {
		t.Errorf("message = %s", r.body)
	}
	r = a.expect("GET", "/v2/topics/alerts/stats", "", 200)
	if m := r.json(t)["messages"].(map[string]any); m["total"] != 1.0 || m["claimed"] != nil || !strings.HasPrefix(m["oldest"].(map[string]any)["href"].(string), "/v2/topics/alerts/messages/") {
		t.Errorf("topic stats = %s", r.body)
	}
	r = a.expect("GET", "/v2/topics/nothing/messages/abc", "", 404)
	if !strings.Contains(string(r.body), "in topic nothing for project p1") {
		t.Errorf("404 = %s", r.body)
	}
	a.expect("POST", "/v2/topics/alerts/claims", "", 404) // topics have no claims
	a.expect("POST", "/v2/topics/alerts/purge", `{"resource_types":["messages"]}`, 204)
	r = a.expect("GET", "/v2/topics/alerts/stats", "", 200)
	equalJSON(t, r.body, `{"messages":{"claimed":0,"free":0,"total":0}}`)
	a.expect("DELETE", "/v2/topics/alerts", "", 204)
	r = a.expect("GET", "/v2/topics", "", 200)
	equalJSON(t, r.body, `{"topics":[],"links":[]}`)
}
