//go:build tempest

package tempest

import (
	"testing"
)

// Bad subscription bodies answer 400 (test_subscriptions_negative.py
// test_create_subscriptions_with_*; zaqar-api.md 7.1).
func TestCreateSubscriptionBadBodies(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("sub-bad", nil)
	for _, c := range []struct {
		name  string
		body  any
		title string
	}{
		{"empty object", `{}`, titleAPI},
		{"no subscriber", object{"ttl": 600, "options": object{"k": "v"}}, titleAPI},
		{"subscriber without scheme", object{"subscriber": "fake", "ttl": 600}, titleAPI},
		{"unsupported scheme", object{"subscriber": "email://fake", "ttl": 600}, titleAPI},
		{"ttl string", object{"subscriber": "http://example.invalid/x", "ttl": "123"}, titleAPI},
		{"ttl below 60", object{"subscriber": "http://example.invalid/x", "ttl": 59}, titleAPI},
		{"ttl negative", object{"subscriber": "http://example.invalid/x", "ttl": -1}, titleAPI},
		{"options string", object{"subscriber": "http://example.invalid/x", "options": "123"}, titleAPI},
		{"options array", object{"subscriber": "http://example.invalid/x", "options": []any{1}}, titleAPI},
		{"bad retry policy", object{"subscriber": "http://example.invalid/x", "options": object{"_retry_policy": "fast"}}, titleAPI},
		{"array", `[]`, ""},
		{"not JSON", `{`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.in(t).do("POST", queuePath(q, "subscriptions"), c.body)
			wantError(t, r, 400, c.title)
		})
	}
	// Nothing was created by the refused requests.
	doc := wantBody[object](t, s.do("GET", queuePath(q, "subscriptions"), nil), 200, subscriptionListSchema)
	if n := len(doc["subscriptions"].([]any)); n != 0 {
		t.Errorf("refused requests left %d subscriptions", n)
	}
}

// Bad updates: 400 for bodies, 404 for unknown subscriptions or queues
// (test_update_subscription_*; zaqar-api.md 7.4).
func TestUpdateSubscriptionErrors(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("sub-patch-bad", nil)
	id := s.subscribe(q, object{"subscriber": "http://example.invalid/patch", "ttl": 600})
	path := queuePath(q, "subscriptions", id)
	for _, c := range []struct {
		name  string
		body  any
		title string
	}{
		{"empty object", `{}`, titleAPI},
		{"ttl 50", object{"ttl": 50}, titleAPI},
		{"ttl string", object{"ttl": "1000"}, titleAPI},
		{"options string", object{"options": "x"}, titleAPI},
		{"subscriber without scheme", object{"subscriber": "fake"}, titleAPI},
		{"array", `[]`, ""},
		{"not JSON", `{"123"}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, s.in(t).do("PATCH", path, c.body), 400, c.title)
		})
	}
	if got := s.getSubscription(q, id); num(got["ttl"]) != 600 {
		t.Errorf("refused PATCHes changed the subscription: %v", got)
	}
	wantError(t, s.do("PATCH", queuePath(q, "subscriptions", "0123456789abcdef01234567"), object{"ttl": 1000}), 404, "")
	wantError(t, s.do("PATCH", queuePath(queueName("sub-missing"), "subscriptions", id), object{"ttl": 1000}), 404, "")
}

// Unknown subscriptions: show 404, delete 204, confirm 404; confirm wants a
// boolean; list limits are 1..20 (test_show_subscriptions_with_invalid_id,
// test_delete_subscription_using_a_nonexisting_id; zaqar-api.md 7.2-7.6).
func TestSubscriptionNotFoundAndLimits(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("sub-404", nil)
	id := s.subscribe(q, object{"subscriber": "http://example.invalid/404"})
	unknown := "0123456789abcdef01234567"

	wantError(t, s.do("GET", queuePath(q, "subscriptions", unknown), nil), 404, "")
	wantError(t, s.do("GET", queuePath(queueName("sub-missing"), "subscriptions", id), nil), 404, "")
	wantStatus(t, s.do("DELETE", queuePath(q, "subscriptions", unknown), nil), 204)
	wantStatus(t, s.do("DELETE", queuePath(queueName("sub-missing"), "subscriptions", id), nil), 204)
	wantError(t, s.do("PUT", queuePath(q, "subscriptions", unknown, "confirm"), object{"confirmed": true}), 404, "")
	for _, body := range []any{object{"confirmed": "yes"}, object{"confirmed": 1}, object{}} {
		wantError(t, s.do("PUT", queuePath(q, "subscriptions", id, "confirm"), body), 400, "")
	}
	for _, limit := range []string{"0", "21", "x"} {
		wantError(t, s.do("GET", queuePath(q, "subscriptions")+"?limit="+limit, nil), 400, "")
	}
}
