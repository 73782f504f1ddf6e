//go:build tempest

package tempest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/claims"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// postRaw posts {"messages": msgs} with a raw request.
func (s *session) postRaw(queue string, msgs ...object) *response {
	s.t.Helper()
	return s.do("POST", queuePath(queue, "messages"), object{"messages": msgs})
}

// bodyIndex returns the "i" of a message body posted by postMessages.
func bodyIndex(t *testing.T, m object) int {
	t.Helper()
	b, ok := m["body"].(object)
	if !ok {
		t.Fatalf("message body %v is not an object", m["body"])
	}
	n, ok := b["i"].(json.Number)
	if !ok {
		t.Fatalf("message body %v has no number i", b)
	}
	i, _ := n.Int64()
	return int(i)
}

// POST answers 201 with Location ".../messages?ids=a,b" and {"resources":
// [hrefs]} in posting order (post_messages schema; zaqar-api.md 5.1).
func TestPostMessages(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("post", nil)

	r := s.postRaw(q, object{"body": object{"event": "one"}, "ttl": 300}, object{"body": "two"})
	res := wantBody[object](t, r, 201, postMessagesSchema)["resources"].([]any)
	if len(res) != 2 {
		t.Fatalf("resources %v, want 2", res)
	}
	var ids []string
	for _, v := range res {
		href := v.(string)
		id, ok := strings.CutPrefix(href, "/v2/queues/"+q+"/messages/")
		if !ok || id == "" {
			t.Fatalf("resource %q, want /v2/queues/%s/messages/<id>", href, q)
		}
		ids = append(ids, id)
	}
	if ids[0] == ids[1] {
		t.Errorf("two messages got the same id %s", ids[0])
	}
	wantHeader(t, r, "Location", "/v2/queues/"+q+"/messages?ids="+strings.Join(ids, ","))

	// gophercloud reads what was posted: ttl and body as sent, or defaults.
	m, err := messages.Get(t.Context(), s.mc, q, ids[0]).Extract()
	must(t, "messages.Get", err)
	if m.TTL != 300 || m.Body["event"] != "one" {
		t.Errorf("first message = %+v, want ttl 300 and body {event: one}", m)
	}
	r = s.do("GET", queuePath(q, "messages", ids[1]), nil)
	wantStatus(t, r, 200)
	second := wantMessage(t, "second message", decode[object](t, r), q, "")
	if ttl := wantInt(t, "ttl", second["ttl"], 0); ttl != defaultMessageTTL || second["body"] != "two" {
		t.Errorf("second message = %v, want ttl %d and body \"two\"", second, defaultMessageTTL)
	}

	// gophercloud batch.
	got := s.postMessages(q, 5, 120)
	if len(got) != 5 {
		t.Errorf("posted 5, got %d ids", len(got))
	}
}

// Posting to a queue that does not exist creates it (tempest
// test_post_messages_to_a_nonexistent_queue; pitfall 4).
func TestPostAutoCreatesQueue(t *testing.T) {
	t.Parallel()
	s := isolated(t)
	q := queueName("lazy")
	s.cleanupQueue(q)
	r := s.postRaw(q, object{"body": 1, "ttl": 60})
	wantStatus(t, r, 201)

	r = s.do("GET", "v2/queues", nil)
	wantStatus(t, r, 200)
	items := wantArray(t, "queues", decode[object](t, r)["queues"])
	if len(items) != 1 || wantObject(t, "queue", items[0])["name"] != q {
		t.Errorf("after posting, the project lists %v, want just %s", items, q)
	}
}

// echo=false (the default) hides a client's own messages; other clients
// and echo=true see them; empty pages are {"messages": [], "links": []}
// (list_messages schema; zaqar-api.md 5.2, pitfalls 8 and 9).
func TestListMessagesEcho(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("echo", nil)
	ids := s.postMessages(q, 2, 300)

	r := s.do("GET", queuePath(q, "messages"), nil)
	doc := wantBody[object](t, r, 200, messageListSchema)
	if items := doc["messages"].([]any); len(items) != 0 {
		t.Errorf("producer lists its own messages without echo: %s", r.body)
	}
	wantLinks(t, "empty list", doc, 0, "")

	for _, c := range []struct {
		name  string
		s     *session
		query string
	}{
		{"producer echo=true", s, "echo=true"},
		{"producer echo=True", s, "echo=True"},
		{"other client", s.peer(), ""},
		{"other client echo=false", s.peer(), "echo=false"},
	} {
		got := c.s.listAll(q, c.query)
		var gotIDs []string
		for i, m := range got {
			m = wantMessage(t, fmt.Sprintf("%s messages[%d]", c.name, i), m, q, "")
			gotIDs = append(gotIDs, m["id"].(string))
			if ttl := wantInt(t, "ttl", m["ttl"], 0); ttl != 300 {
				t.Errorf("%s: ttl %d, want 300", c.name, ttl)
			}
		}
		if !slices.Equal(gotIDs, ids) {
			t.Errorf("%s listed %v, want %v", c.name, gotIDs, ids)
		}
	}
}

// Listing pages FIFO by limit (default 10), each non-empty page with a next
// link, through raw requests and gophercloud's pager (zaqar-api.md 1, 5.2).
func TestListMessagesPaging(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("paging", nil)
	s.postMessages(q, 12, 300)
	reader := s.peer()

	r := reader.do("GET", queuePath(q, "messages"), nil)
	doc := wantBody[object](t, r, 200, messageListSchema)
	items := doc["messages"].([]any)
	if len(items) != defaultPageSize {
		t.Errorf("list without limit returned %d messages, want the default %d", len(items), defaultPageSize)
	}
	next := wantLinks(t, "first page", doc, len(items), "/v2/queues/"+q+"/messages")
	if !strings.Contains(next, "marker=") {
		t.Errorf("next href %q has no marker", next)
	}
	for i, it := range items {
		if got := bodyIndex(t, wantObject(t, "message", it)); got != i {
			t.Errorf("page 1 item %d has body i=%d, want FIFO order", i, got)
		}
	}
	r = reader.do("GET", next, nil)
	rest := wantBody[object](t, r, 200, messageListSchema)["messages"].([]any)
	if len(rest) != 2 {
		t.Errorf("second page has %d messages, want 2", len(rest))
	}

	var order []int
	pages := 0
	err := messages.List(reader.mc, q, messages.ListOpts{Limit: 5}).EachPage(t.Context(), func(_ context.Context, p pagination.Page) (bool, error) {
		ms, err := messages.ExtractMessages(p)
		if err != nil {
			return false, err
		}
		if len(ms) > 5 {
			t.Errorf("page of %d messages, want at most 5", len(ms))
		}
		for _, m := range ms {
			n, _ := m.Body["i"].(float64)
			order = append(order, int(n))
		}
		pages++
		return true, nil
	})
	must(t, "messages.List", err)
	if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}; !slices.Equal(order, want) {
		t.Errorf("messages.List order %v, want %v", order, want)
	}
	if pages != 3 {
		t.Errorf("messages.List walked %d pages of 5, want 3", pages)
	}
}

// GET of one message (get_single_message schema; zaqar-api.md 5.4).
func TestGetMessage(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("get", nil)
	ids := s.postMessages(q, 2, 300)

	m, err := messages.Get(t.Context(), s.mc, q, ids[1]).Extract()
	must(t, "messages.Get", err)
	if m.ID != ids[1] || m.Href != "/v2/queues/"+q+"/messages/"+ids[1] || m.TTL != 300 || m.Age < 0 {
		t.Errorf("messages.Get = %+v", m)
	}
	if !reflect.DeepEqual(m.Body, map[string]any{"i": float64(1)}) {
		t.Errorf("body %v, want {i: 1}", m.Body)
	}

	r := s.do("GET", queuePath(q, "messages", ids[0]), nil)
	wantStatus(t, r, 200)
	wantJSONContentType(t, r)
	wantMessage(t, "message", decode[object](t, r), q, "")
}

// GET ?ids= returns the messages found, skipping unknown ids, whatever the
// echo setting (get_multiple_messages schema; zaqar-api.md 5.3).
func TestGetMessagesByIDs(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("get-ids", nil)
	ids := s.postMessages(q, 3, 300)
	unknown := s.postMessages(q, 1, 300)[0]
	must(t, "messages.Delete", messages.Delete(t.Context(), s.mc, q, unknown, nil).ExtractErr())

	r := s.do("GET", queuePath(q, "messages")+"?ids="+ids[0]+","+ids[2]+","+unknown, nil)
	items := wantBody[object](t, r, 200, messagesByIDSchema)["messages"].([]any)
	var got []string
	for i, it := range items {
		got = append(got, wantMessage(t, fmt.Sprintf("messages[%d]", i), it, q, "")["id"].(string))
	}
	slices.Sort(got)
	want := []string{ids[0], ids[2]}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ids=%s,%s,<deleted> returned %v, want %v", ids[0], ids[2], got, want)
	}

	ms, err := messages.GetMessages(t.Context(), s.mc, q, messages.GetMessagesOpts{IDs: ids}).Extract()
	must(t, "messages.GetMessages", err)
	if len(ms) != 3 {
		t.Errorf("messages.GetMessages returned %d messages, want 3", len(ms))
	}
}

// DELETE of one message is 204, also when repeated (zaqar-api.md 5.5).
func TestDeleteMessage(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("delete", nil)
	ids := s.postMessages(q, 2, 300)

	must(t, "messages.Delete", messages.Delete(t.Context(), s.mc, q, ids[0], nil).ExtractErr())
	_, err := messages.Get(t.Context(), s.mc, q, ids[0]).Extract()
	wantCode(t, "messages.Get of a deleted message", err, 404)

	r := s.do("DELETE", queuePath(q, "messages", ids[0]), nil)
	wantStatus(t, r, 204)
	wantEmptyBody(t, r)

	left := s.listAll(q, "echo=true")
	if len(left) != 1 || left[0]["id"] != ids[1] {
		t.Errorf("after deleting %s the queue lists %v, want only %s", ids[0], left, ids[1])
	}
}

// DELETE ?ids= removes those messages, claimed or not; 204 (zaqar-api.md
// 5.6, pitfall 12).
func TestDeleteMessagesByIDs(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("delete-ids", nil)
	ids := s.postMessages(q, 3, 300)
	// Claim the oldest; bulk delete ignores claims.
	cl, err := claims.Create(t.Context(), s.mc, q, claims.CreateOpts{TTL: 300, Grace: 60, Limit: 1}).Extract()
	must(t, "claims.Create", err)
	if len(cl) != 1 {
		t.Fatalf("claimed %d messages, want 1", len(cl))
	}

	must(t, "messages.DeleteMessages", messages.DeleteMessages(t.Context(), s.mc, q, messages.DeleteMessagesOpts{IDs: ids[:2]}).ExtractErr())
	_, err = messages.GetMessages(t.Context(), s.mc, q, messages.GetMessagesOpts{IDs: ids[:2]}).Extract()
	wantCode(t, "messages.GetMessages of deleted ids", err, 404)

	r := s.do("DELETE", queuePath(q, "messages")+"?ids="+ids[0]+","+ids[2], nil)
	wantStatus(t, r, 204)
	wantEmptyBody(t, r)
	if left := s.listAll(q, "echo=true&include_claimed=true"); len(left) != 0 {
		t.Errorf("after deleting every id the queue lists %v", left)
	}
}

// DELETE ?pop=N removes and returns up to N unclaimed messages as raw
// dicts without href (zaqar-api.md 5.6, pitfall 12).
func TestPopMessages(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("pop", nil)
	ids := s.postMessages(q, 4, 300)
	// Claim the oldest: pop leaves claimed messages alone.
	_, err := claims.Create(t.Context(), s.mc, q, claims.CreateOpts{TTL: 300, Grace: 60, Limit: 1}).Extract()
	must(t, "claims.Create", err)

	r := s.do("DELETE", queuePath(q, "messages")+"?pop=2", nil)
	items := wantBody[object](t, r, 200, popSchema)["messages"].([]any)
	if len(items) != 2 {
		t.Fatalf("pop=2 returned %d messages, want 2: %s", len(items), r.body)
	}
	var popped []string
	for _, it := range items {
		m := it.(object)
		popped = append(popped, m["id"].(string))
		if _, ok := m["href"]; ok {
			t.Errorf("popped message has href: %v", m)
		}
	}
	if slices.Contains(popped, ids[0]) {
		t.Errorf("pop returned the claimed message %s", ids[0])
	}

	rest, err := messages.PopMessages(t.Context(), s.mc, q, messages.PopMessagesOpts{Pop: 5}).Extract()
	must(t, "messages.PopMessages", err)
	if len(rest) != 1 {
		t.Errorf("second pop returned %d messages, want the 1 unclaimed left", len(rest))
	}
	for _, m := range rest {
		popped = append(popped, m.ID)
	}
	slices.Sort(popped)
	want := slices.Clone(ids[1:])
	slices.Sort(want)
	if !slices.Equal(popped, want) {
		t.Errorf("popped %v, want the unclaimed %v", popped, want)
	}

	r = s.do("DELETE", queuePath(q, "messages")+"?pop=3", nil)
	if items := wantBody[object](t, r, 200, popSchema)["messages"].([]any); len(items) != 0 {
		t.Errorf("pop of a queue with only claimed messages returned %v", items)
	}
	if left := s.listAll(q, "echo=true&include_claimed=true"); len(left) != 1 || left[0]["id"] != ids[0] {
		t.Errorf("after popping the queue holds %v, want only the claimed %s", left, ids[0])
	}
}

// A message without ttl takes the queue's _default_message_ttl, else the
// service default (zaqar-api.md 5.1).
func TestMessageDefaultTTL(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("ttl", object{"_default_message_ttl": 120})
	r := s.postRaw(q, object{"body": nil}, object{"body": 1, "ttl": 90})
	wantStatus(t, r, 201)
	got := s.listAll(q, "echo=true")
	if len(got) != 2 {
		t.Fatalf("listed %d messages, want 2", len(got))
	}
	for i, want := range []int64{120, 90} {
		if ttl := wantInt(t, "ttl", got[i]["ttl"], 0); ttl != want {
			t.Errorf("message %d ttl %d, want %d", i, ttl, want)
		}
	}
}

// A body is any JSON value and comes back unchanged (zaqar-api.md 5).
func TestMessageBodyTypes(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("bodies", nil)
	bodies := []string{`"text"`, `42`, `-1.5`, `[1, "two", null]`, `null`, `true`,
		`{"nested": {"list": [true, false], "unicode": "汉字 ✓", "big": 9007199254740993}}`, `{}`}
	for _, b := range bodies {
		r := s.do("POST", queuePath(q, "messages"), `{"messages": [{"ttl": 60, "body": `+b+`}]}`)
		wantStatus(t, r, 201)
		res := wantArray(t, "resources", decode[object](t, r)["resources"])
		r = s.do("GET", wantString(t, "resource", res[0]), nil)
		wantStatus(t, r, 200)
		got := decode[object](t, r)["body"]
		var want any
		dec := json.NewDecoder(strings.NewReader(b))
		dec.UseNumber()
		dec.Decode(&want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("body %s came back as %#v", b, got)
		}
	}
}

// Claimed messages are hidden from listings unless include_claimed=true,
// and then their href carries ?claim_id= (zaqar-api.md 5, 5.2, pitfall 11).
func TestListIncludeClaimed(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("include-claimed", nil)
	ids := s.postMessages(q, 2, 300)
	r := s.do("POST", queuePath(q, "claims")+"?limit=1", object{"ttl": 300, "grace": 60})
	wantStatus(t, r, 201)
	cid := claimIDFromLocation(t, r, q)

	reader := s.peer()
	got := reader.listAll(q, "")
	if len(got) != 1 || got[0]["id"] != ids[1] {
		t.Errorf("default listing shows %v, want only the unclaimed %s", got, ids[1])
	}
	got = reader.listAll(q, "include_claimed=true")
	if len(got) != 2 {
		t.Fatalf("include_claimed=true lists %d messages, want 2", len(got))
	}
	wantMessage(t, "claimed message", got[0], q, cid)
	wantMessage(t, "free message", got[1], q, "")
}

// Delay is ignored on queues without _default_message_delay; on delayed
// queues it hides messages from listings and claims until it passes
// (zaqar-semantics.md 2, pitfall 7).
func TestDelayedMessages(t *testing.T) {
	t.Parallel()
	s := newSession(t)

	plain := s.createQueue("undelayed", nil)
	r := s.postRaw(plain, object{"body": "now", "ttl": 300, "delay": 600})
	wantStatus(t, r, 201)
	if got := s.listAll(plain, "echo=true"); len(got) != 1 {
		t.Errorf("delay on a queue without _default_message_delay hid the message: listed %d", len(got))
	}

	q := s.createQueue("delayed", object{"_default_message_delay": 600})
	r = s.postRaw(q, object{"body": "later", "ttl": 900}, object{"body": "now", "ttl": 900, "delay": 0})
	wantStatus(t, r, 201)
	got := s.listAll(q, "echo=true")
	if len(got) != 1 || got[0]["body"] != "now" {
		t.Errorf("delayed queue lists %v, want only the undelayed message", got)
	}
	if got := s.listAll(q, "echo=true&include_delayed=true"); len(got) != 2 {
		t.Errorf("include_delayed=true lists %d messages, want 2", len(got))
	}
	r = s.do("POST", queuePath(q, "claims"), object{"ttl": 60, "grace": 60})
	wantStatus(t, r, 201)
	claimed := wantArray(t, "messages", decode[object](t, r)["messages"])
	if len(claimed) != 1 || wantObject(t, "claimed", claimed[0])["body"] != "now" {
		t.Errorf("claim on a delayed queue returned %v, want only the undelayed message", claimed)
	}
}
