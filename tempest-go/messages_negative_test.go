//go:build tempest

package tempest

import (
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
)

// Titles of Zaqar's error documents (zaqar-api.md 2.3) and Falcon's for
// unparsable query parameters (zaqar-api.md 1).
const (
	titleAPI      = "Invalid API request"
	titleBody     = "Invalid request body"
	titleParam    = "Invalid parameter"
	titleNotFound = "Not found"
)

// Missing messages are 404 "Not found", whatever is missing (tempest
// test_request_single_message_from_a_nonexistent_queue,
// test_request_a_non_existing_message, test_request_a_message_with_negative_
// message_id, test_request_multiple_messages_from_a_nonexistent_queue,
// test_request_multiple_messages_with_invalid_message_id; zaqar-api.md 5.3, 5.4).
func TestMessagesNotFound(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("msg-404", nil)
	missingQueue := queueName("msg-404-missing")
	id := newClientID()
	for _, path := range []string{
		queuePath(missingQueue, "messages", id),
		queuePath(q, "messages", id),
		queuePath(q, "messages", "0123456789abcdef01234567"),
		queuePath(q, "messages", "-1"),
		queuePath(q, "messages") + "?ids=-1",
		queuePath(missingQueue, "messages") + "?ids=" + id + "," + newClientID(),
		queuePath(q, "messages") + "?ids=" + id + "," + id,
	} {
		r := s.do("GET", path, nil)
		wantError(t, r, 404, titleNotFound)
	}
	_, err := messages.Get(t.Context(), s.mc, q, id).Extract()
	wantCode(t, "messages.Get of an unknown id", err, 404)
}

// List and get-by-ids parameters out of range or unparsable (tempest
// test_request_multiple_messages_by_exceeding_the_default_limit,
// test_request_message_by_passing_invalid_echo_param,
// test_request_messages_by_passing_invalid_include_claimed_param,
// test_request_messages_limit_greater_than_configured_value,
// test_request_messages_with_limit_less_than_configured_value;
// zaqar-api.md 1, 5.2, 5.3).
func TestListMessagesBadParameters(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("msg-params", nil)
	ids21 := make([]string, 21)
	for i := range ids21 {
		ids21[i] = newClientID()
	}
	for _, c := range []struct{ query, title string }{
		{"limit=21", titleAPI},
		{"limit=1000", titleAPI},
		{"limit=0", titleAPI},
		{"limit=-5", titleAPI},
		{"limit=abc", titleParam},
		{"echo=None", titleParam},
		{"echo=2", titleParam},
		{"include_claimed=None", titleParam},
		{"include_delayed=maybe", titleParam},
		{"ids=" + strings.Join(ids21, ","), titleAPI},
	} {
		t.Run(c.query[:min(len(c.query), 30)], func(t *testing.T) {
			r := s.in(t).do("GET", queuePath(q, "messages")+"?"+c.query, nil)
			wantError(t, r, 400, c.title)
		})
	}
	err := messages.List(s.mc, q, messages.ListOpts{Limit: 21}).EachPage(t.Context(), firstPageOnly)
	wantCode(t, "messages.List limit=21", err, 400)
}

// Bad POST bodies (tempest test_post_messages_with_no_request_body,
// _with_a_bad_message, _with_invalid_json_request_body, _with_TTL_less_than_60,
// _greater_than_1209600, _with_non_int_value_of_TTL, _with_negative_value_of_TTL;
// zaqar-api.md 5.1, 2.3).
func TestPostMessagesBadBodies(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("msg-bad-post", nil)
	for _, c := range []struct {
		name, body, title string
	}{
		{"empty object", `{}`, ""},
		{"empty body", ``, titleBody},
		{"number", `123`, ""},
		{"string", `"messages"`, ""},
		{"array", `[{"body": 1}]`, ""},
		{"malformed", `{"messages": [`, titleBody},
		{"not json", `messages=[{body: 1}]`, titleBody},
		{"messages empty", `{"messages": []}`, ""},
		{"messages object", `{"messages": {"body": 1}}`, ""},
		{"messages string", `{"messages": "x"}`, ""},
		{"message not object", `{"messages": [1]}`, ""},
		{"body missing", `{"messages": [{"ttl": 60}]}`, titleBody},
		{"ttl 59", `{"messages": [{"body": 1, "ttl": 59}]}`, titleAPI},
		{"ttl 0", `{"messages": [{"body": 1, "ttl": 0}]}`, titleAPI},
		{"ttl negative", `{"messages": [{"body": 1, "ttl": -60}]}`, titleAPI},
		{"ttl too large", `{"messages": [{"body": 1, "ttl": 1209601}]}`, titleAPI},
		{"ttl float", `{"messages": [{"body": 1, "ttl": 60.5}]}`, titleBody},
		{"ttl string", `{"messages": [{"body": 1, "ttl": "60"}]}`, titleBody},
		{"ttl null", `{"messages": [{"body": 1, "ttl": null}]}`, titleBody},
		{"ttl beyond int64", `{"messages": [{"body": 1, "ttl": 99999999999999999999}]}`, titleBody},
		{"one bad among good", `{"messages": [{"body": 1, "ttl": 60}, {"body": 2, "ttl": 30}]}`, titleAPI},
		{"too large", `{"messages": [{"ttl": 60, "body": "` + strings.Repeat("x", maxMessagesPostSize) + `"}]}`, titleAPI},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.in(t).do("POST", queuePath(q, "messages"), c.body)
			wantError(t, r, 400, c.title)
		})
	}
	// Nothing was posted by any of them.
	if got := s.listAll(q, "echo=true"); len(got) != 0 {
		t.Errorf("refused posts left %d messages", len(got))
	}
}

// A queue's _max_messages_post_size caps the Content-Length of a post
// (zaqar-api.md 5.1, pitfall 15).
func TestPostMessagesQueueSizeLimit(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("msg-size", object{"_max_messages_post_size": 1024})
	small := `{"messages": [{"ttl": 60, "body": "` + strings.Repeat("s", 900) + `"}]}`
	big := `{"messages": [{"ttl": 60, "body": "` + strings.Repeat("b", 1100) + `"}]}`
	r := s.do("POST", queuePath(q, "messages"), small)
	wantStatus(t, r, 201)
	r = s.do("POST", queuePath(q, "messages"), big)
	wantError(t, r, 400, titleAPI)
}

// DELETE on the collection needs exactly one of ids (1..20) and pop
// (1..20) (zaqar-api.md 5.6).
func TestDeleteMessagesBadParameters(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("msg-bad-delete", nil)
	ids := s.postMessages(q, 2, 300)
	ids21 := make([]string, 21)
	for i := range ids21 {
		ids21[i] = newClientID()
	}
	for _, c := range []struct{ query, title string }{
		{"", titleAPI},
		{"?ids=" + ids[0] + "&pop=1", titleAPI},
		{"?pop=0", titleAPI},
		{"?pop=21", titleAPI},
		{"?pop=-1", titleAPI},
		{"?pop=abc", titleParam},
		{"?ids=" + strings.Join(ids21, ","), titleAPI},
	} {
		t.Run(c.query[:min(len(c.query), 30)], func(t *testing.T) {
			r := s.in(t).do("DELETE", queuePath(q, "messages")+c.query, nil)
			wantError(t, r, 400, c.title)
		})
	}
	if got := s.listAll(q, "echo=true"); len(got) != 2 {
		t.Errorf("refused deletes left %d messages, want 2", len(got))
	}
}
