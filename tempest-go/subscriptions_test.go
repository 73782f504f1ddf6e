//go:build tempest

package tempest

import (
	"fmt"
	"slices"
	"testing"
)

// Subscriptions have no gophercloud package; these tests use raw HTTP
// (zaqar_tempest_plugin/tests/v2/test_subscriptions.py; zaqar-api.md 7).

// subscribe creates a subscription with a raw request, checks the 201
// answer and returns the subscription id.
func (s *session) subscribe(queue string, body object) string {
	s.t.Helper()
	r := s.do("POST", queuePath(queue, "subscriptions"), body)
	doc := wantBody[object](s.t, r, 201, subscriptionCreatedSchema)
	wantHeader(s.t, r, "Location", "/v2/queues/"+queue+"/subscriptions")
	return doc["subscription_id"].(string)
}

// getSubscription fetches one subscription, checked against its schema.
func (s *session) getSubscription(queue, id string) object {
	s.t.Helper()
	r := s.do("GET", queuePath(queue, "subscriptions", id), nil)
	return wantBody[object](s.t, r, 200, subscriptionSchema)
}

// Create, show, list, update and delete (test_create_subscriptions,
// test_list_subscriptions, test_show_subscription, test_update_subscription,
// test_delete_subscriptions).
func TestSubscriptionLifecycle(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("sub", nil)
	subscriber := "http://example.invalid:8080/" + randHex(4)
	id := s.subscribe(q, object{"subscriber": subscriber, "ttl": 600, "options": object{"MessagingKey": "MessagingValue"}})

	got := s.getSubscription(q, id)
	if got["id"] != id || got["source"] != q || got["subscriber"] != subscriber || num(got["ttl"]) != 600 {
		t.Errorf("subscription = %v, want id %s, source %s, subscriber %s, ttl 600", got, id, q, subscriber)
	}
	if opts := got["options"].(object); opts["MessagingKey"] != "MessagingValue" {
		t.Errorf("options = %v, want MessagingKey: MessagingValue", opts)
	}

	r := s.do("GET", queuePath(q, "subscriptions"), nil)
	doc := wantBody[object](t, r, 200, subscriptionListSchema)
	items := doc["subscriptions"].([]any)
	if len(items) != 1 || items[0].(object)["id"] != id {
		t.Errorf("list = %v, want just %s", items, id)
	}
	wantLinks(t, "subscription list", doc, len(items), "/v2/queues/"+q+"/subscriptions")

	// PATCH: 204, Location is the subscription; the new ttl and options show.
	r = s.do("PATCH", queuePath(q, "subscriptions", id), object{"ttl": 1000, "options": object{"k": "v"}})
	wantStatus(t, r, 204)
	wantEmptyBody(t, r)
	wantHeader(t, r, "Location", "/v2/queues/"+q+"/subscriptions/"+id)
	got = s.getSubscription(q, id)
	if num(got["ttl"]) != 1000 || got["options"].(object)["k"] != "v" {
		t.Errorf("after PATCH subscription = %v, want ttl 1000 and options {k: v}", got)
	}

	r = s.do("DELETE", queuePath(q, "subscriptions", id), nil)
	wantStatus(t, r, 204)
	wantEmptyBody(t, r)
	wantError(t, s.do("GET", queuePath(q, "subscriptions", id), nil), 404, "")
	// Deleting again, or an id that never existed: 204.
	wantStatus(t, s.do("DELETE", queuePath(q, "subscriptions", id), nil), 204)
}

// A subscriber already subscribed and not confirmed answers 201 with the
// same id; once confirmed, 409 (zaqar-api.md 7.1, 7.6, pitfall 18).
func TestSubscriptionDuplicatesAndConfirm(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("sub-dup", nil)
	body := object{"subscriber": "http://example.invalid/" + randHex(4), "ttl": 600}
	id := s.subscribe(q, body)
	if again := s.subscribe(q, body); again != id {
		t.Errorf("second POST of an unconfirmed subscriber made %s, want the existing %s", again, id)
	}
	if c, ok := s.getSubscription(q, id)["confirmed"]; ok && c != false {
		t.Errorf("new subscription confirmed = %v, want false", c)
	}

	r := s.do("PUT", queuePath(q, "subscriptions", id, "confirm"), object{"confirmed": true})
	wantStatus(t, r, 204)
	wantHeader(t, r, "Location", "/v2/queues/"+q+"/subscriptions/"+id+"/confirm")
	if c := s.getSubscription(q, id)["confirmed"]; c != true {
		t.Errorf("after confirming, confirmed = %v, want true", c)
	}
	r = s.do("POST", queuePath(q, "subscriptions"), body)
	wantError(t, r, 409, "Resource conflict")
	wantHeader(t, r, "Location", "/v2/queues/"+q+"/subscriptions")

	wantStatus(t, s.do("PUT", queuePath(q, "subscriptions", id, "confirm"), object{"confirmed": false}), 204)
	if c := s.getSubscription(q, id)["confirmed"]; c != false {
		t.Errorf("after unconfirming, confirmed = %v, want false", c)
	}
}

// Listing pages by limit with next links; a queue without subscriptions,
// or without existence, lists [] with links [] (test_list_subscriptions,
// test_list_subscriptions_from_non_existing_queue).
func TestListSubscriptionsPaging(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("sub-list", nil)
	var want []string
	for i := range 3 {
		want = append(want, s.subscribe(q, object{"subscriber": fmt.Sprintf("http://example.invalid/%d-%s", i, randHex(3))}))
	}
	var got []string
	path := queuePath(q, "subscriptions") + "?limit=2"
	for page := 0; ; page++ {
		if page > 3 {
			t.Fatalf("paging does not end: %v", got)
		}
		r := s.do("GET", path, nil)
		doc := wantBody[object](t, r, 200, subscriptionListSchema)
		items := doc["subscriptions"].([]any)
		if len(items) > 2 {
			t.Errorf("page %d has %d subscriptions, want at most 2", page, len(items))
		}
		for _, it := range items {
			got = append(got, it.(object)["id"].(string))
		}
		next := wantLinks(t, fmt.Sprintf("page %d", page), doc, len(items), "/v2/queues/"+q+"/subscriptions")
		if len(items) == 0 {
			break
		}
		path = next
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("pages listed %v, want %v", got, want)
	}

	for _, name := range []string{s.createQueue("sub-none", nil), queueName("sub-missing")} {
		r := s.do("GET", queuePath(name, "subscriptions"), nil)
		doc := wantBody[object](t, r, 200, subscriptionListSchema)
		if n := len(doc["subscriptions"].([]any)); n != 0 {
			t.Errorf("%s lists %d subscriptions, want 0", name, n)
		}
		wantLinks(t, name, doc, 0, "")
	}
}

// Subscribing to a queue that does not exist creates the queue (zaqar-api.md
// 7.1; as posting messages does).
func TestSubscriptionCreatesQueue(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := queueName("sub-lazy")
	s.cleanupQueue(q)
	s.subscribe(q, object{"subscriber": "http://example.invalid/lazy"})
	if !slices.Contains(s.allQueueNames(), q) {
		t.Errorf("after subscribing, the project does not list %s", q)
	}
}

// Another project sees none of a project's subscriptions and cannot change
// them.
func TestSubscriptionIsolation(t *testing.T) {
	t.Parallel()
	a := newSession(t)
	b := otherProject(t)
	q := a.createQueue("sub-iso", nil)
	id := a.subscribe(q, object{"subscriber": "http://example.invalid/iso", "ttl": 600})

	wantError(t, b.do("GET", queuePath(q, "subscriptions", id), nil), 404, "")
	doc := wantBody[object](t, b.do("GET", queuePath(q, "subscriptions"), nil), 200, subscriptionListSchema)
	if n := len(doc["subscriptions"].([]any)); n != 0 {
		t.Errorf("project b lists %d of project a's subscriptions", n)
	}
	wantError(t, b.do("PATCH", queuePath(q, "subscriptions", id), object{"ttl": 900}), 404, "")
	wantError(t, b.do("PUT", queuePath(q, "subscriptions", id, "confirm"), object{"confirmed": true}), 404, "")
	wantStatus(t, b.do("DELETE", queuePath(q, "subscriptions", id), nil), 204)

	got := a.getSubscription(q, id)
	if num(got["ttl"]) != 600 || got["confirmed"] == true {
		t.Errorf("project b changed project a's subscription: %v", got)
	}
}
