//go:build tempest

package tempest

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/queues"
)

// Client-ID is required on every /v2 path and must be a UUID in the
// default strict mode (zaqar-api.md 2.1, 2.2 step 5, pitfall 2).
func TestClientIDRequired(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("client-id", nil)
	for _, path := range []string{"v2/", "v2/ping", "v2/queues", queuePath(q), queuePath(q, "messages"), queuePath(q, "stats")} {
		r := s.do("GET", path, nil, without("Client-ID"))
		d := wantError(t, r, 400, "Missing header value")
		if !strings.Contains(d.Description, "Client-Id") && !strings.Contains(d.Description, "Client-ID") {
			t.Errorf("GET %s without Client-ID: description %q does not name the header", path, d.Description)
		}
	}
	r := s.do("POST", queuePath(q, "messages"), object{"messages": []object{{"body": 1}}}, without("Client-ID"))
	wantError(t, r, 400, "Missing header value")
}

func TestClientIDMalformed(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	for _, id := range []string{"", "not-a-uuid", "12345", "3381af92-2b9e-11e3-b191-71861300734", // one digit short
		"3381af92-2b9e-11e3-b191-71861300734cc", "g381af92-2b9e-11e3-b191-71861300734c"} {
		t.Run(id, func(t *testing.T) {
			r := s.in(t).do("GET", "v2/queues", nil, header("Client-ID", id))
			wantError(t, r, 400, "")
		})
	}
}

// Python's uuid.UUID accepts hyphen-less, upper-case, braced and urn:uuid:
// forms; so does Zaqar (zaqar-api.md 2.1). python-zaqarclient itself sends
// hyphen-less ids.
func TestClientIDForms(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	id := newClientID()
	for _, form := range []string{
		id,
		strings.ReplaceAll(id, "-", ""),
		strings.ToUpper(id),
		"{" + id + "}",
		"urn:uuid:" + id,
	} {
		t.Run(form, func(t *testing.T) {
			r := s.in(t).do("GET", "v2/queues", nil, header("Client-ID", form))
			wantStatus(t, r, 200)
		})
	}
}

// X-Project-ID: missing or empty -> 400 (zaqar-api.md 2.1, 2.2 step 6).
func TestProjectIDRequired(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	if s.cloud.keystone {
		t.Skip("with Keystone the project comes from the token")
	}
	r := s.do("GET", "v2/queues", nil, without("X-Project-ID"))
	wantError(t, r, 400, "Project-Id Missing")
	r = s.do("GET", "v2/queues", nil, header("X-Project-ID", ""))
	wantError(t, r, 400, "Empty project header not allowed")
	// Any characters are fine up to 256.
	r = s.do("GET", "v2/queues", nil, header("X-Project-ID", "tempest project/ü "+randHex(4)))
	wantStatus(t, r, 200)
}

// Accept must allow JSON (406 otherwise); urlencoded bodies are refused
// (zaqar-api.md 2.1, 2.2 steps 2-3).
func TestAcceptAndContentType(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("media", nil)
	for _, accept := range []string{"application/json", "*/*", "application/*", "text/html, application/json;q=0.5"} {
		r := s.do("GET", queuePath(q), nil, header("Accept", accept))
		wantStatus(t, r, 200)
	}
	// Zaqar's Falcon sends no error document to a client that does not
	// accept JSON; a body, if any, is one.
	r := s.do("GET", queuePath(q), nil, header("Accept", "text/plain"))
	wantStatus(t, r, 406)
	if len(r.body) > 0 {
		wantError(t, r, 406, "")
	}

	r = s.do("POST", queuePath(q, "messages"), "messages=1", header("Content-Type", "application/x-www-form-urlencoded"))
	wantError(t, r, 400, "")
}

// Unknown routes are 404 with an error document; known routes with an
// unsupported method are 405 with Allow (zaqar-api.md 2.2).
func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("routes", nil)
	for _, path := range []string{"v2/nothing", "v3/queues", "v1/queues", queuePath(q, "nothing"),
		queuePath(q, "messages", "id", "extra")} {
		r := s.do("GET", path, nil)
		wantStatus(t, r, 404)
		wantJSONContentType(t, r)
	}
	for _, c := range []struct{ method, path string }{
		{"POST", "v2/queues"},
		{"DELETE", "v2/ping"},
		{"POST", queuePath(q)},
		{"PUT", queuePath(q, "messages")},
		{"POST", queuePath(q, "stats")},
		{"GET", queuePath(q, "claims")},
	} {
		r := s.do(c.method, c.path, nil)
		wantStatus(t, r, 405)
		if allow := r.header.Get("Allow"); allow == "" {
			t.Errorf("%s %s: 405 without an Allow header", c.method, c.path)
		} else if strings.Contains(allow, c.method) {
			t.Errorf("%s %s: Allow %q lists the refused method", c.method, c.path, allow)
		}
	}
}

// Invalid queue names are refused on every route with the same document
// (tempest test_queue_has_a_long_name, test_queue_name_has_a_invalid_
// character_set, test_queue_name_with_non_ASCII_characters; zaqar-api.md
// 2.2 step 7, 4).
func TestInvalidQueueNames(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	for _, name := range []string{
		strings.Repeat("q", 65),
		"@$@^qw@",
		"汉字漢字" + randHex(3),
		"with space",
		"tab\tname",
		"star*",
	} {
		t.Run(name, func(t *testing.T) {
			s := s.in(t)
			path := "v2/queues/" + url.PathEscape(name)
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"PUT", path, nil},
				{"GET", path, nil},
				{"DELETE", path, nil},
				{"GET", path + "/stats", nil},
				{"POST", path + "/messages", object{"messages": []object{{"body": 1}}}},
				{"GET", path + "/messages", nil},
				{"POST", path + "/claims", nil},
			} {
				r := s.do(c.method, c.path, c.body)
				d := wantError(t, r, 400, "Invalid queue identification")
				if d.Description != "The format of the submitted queue name or project id is not valid." {
					t.Errorf("%s %s: description %q", c.method, c.path, d.Description)
				}
			}
		})
	}
}

// Queue list parameters out of range or malformed (tempest
// test_request_with_a_greater_limit_value, _zero_, _negative_,
// test_with_non_boolean_value_for_detailed; zaqar-api.md 1, 4.1).
func TestListQueuesBadParameters(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	for _, query := range []string{"limit=0", "limit=-1", "limit=21", "limit=200", "limit=abc", "limit=1.5",
		"detailed=None", "detailed=maybe", "with_count=2x"} {
		t.Run(query, func(t *testing.T) {
			r := s.in(t).do("GET", "v2/queues?"+query, nil)
			wantError(t, r, 400, "")
		})
	}
	// The boundaries themselves are fine.
	for _, query := range []string{"limit=1", "limit=20", "detailed=false", "detailed=True", "detailed=1", "with_count=yes"} {
		r := s.do("GET", "v2/queues?"+query, nil)
		wantStatus(t, r, 200)
	}
	err := queues.List(s.mc, queues.ListOpts{Limit: 21}).EachPage(t.Context(), firstPageOnly)
	wantCode(t, "queues.List limit=21", err, 400)
}

// PUT bodies must be JSON objects within max_queue_metadata, with valid
// reserved keys (zaqar-api.md 4.2, zaqar-semantics.md 1).
func TestCreateQueueBadBodies(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	for _, c := range []struct {
		name string
		body any
	}{
		{"array", `[]`},
		{"string", `"x"`},
		{"number", `123`},
		{"garbage", `{`},
		{"trailing garbage", `{"a": 1} x`},
		{"whitespace", `   `},
		{"too large", `{"k": "` + strings.Repeat("x", maxQueueMetadata) + `"}`},
		{"ttl too small", object{"_default_message_ttl": 59}},
		{"ttl too large", object{"_default_message_ttl": maxMessageTTL + 1}},
		{"ttl not int", object{"_default_message_ttl": "120"}},
		{"post size too large", object{"_max_messages_post_size": maxMessagesPostSize + 1}},
		{"post size negative", object{"_max_messages_post_size": -1}},
		{"dlq ttl too small", object{"_dead_letter_queue_messages_ttl": 59}},
		{"claim count not int", object{"_max_claim_count": "123"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := s.in(t)
			name := queueName("bad-put")
			s.cleanupQueue(name)
			r := s.do("PUT", queuePath(name), c.body)
			wantError(t, r, 400, "")
			// Nothing was stored.
			r = s.do("GET", queuePath(name), nil)
			wantStatus(t, r, 200)
			wantMetadata(t, "after refused PUT", decode[object](t, r), nil)
		})
	}
}

// PATCH needs exactly the json-patch media type (415), a valid body of ops
// (400) and, for replace/remove, an existing key (409); the queue must
// exist (404) (zaqar-api.md 4.4, pitfall 16).
func TestUpdateQueueErrors(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("patch-errors", object{"color": "red"})
	ops := []object{{"op": "add", "path": "/metadata/size", "value": 1}}

	for _, ct := range []string{"application/json", "", "text/plain", patchMediaType + "; charset=utf-8", "application/json-patch+json"} {
		r := s.do("PATCH", queuePath(q), ops, header("Content-Type", ct))
		wantError(t, r, 415, "")
	}

	for _, c := range []struct {
		name string
		body any
		want int
	}{
		{"empty body", "", 400},
		{"garbage", `[{"op": `, 400},
		{"object not list", object{"op": "add", "path": "/metadata/a", "value": 1}, 400},
		{"op missing", []object{{"path": "/metadata/a", "value": 1}}, 400},
		{"op unknown", []object{{"op": "move", "path": "/metadata/a", "value": 1}}, 400},
		{"path missing", []object{{"op": "add", "value": 1}}, 400},
		{"path one segment", []object{{"op": "add", "path": "/metadata", "value": 1}}, 400},
		{"path three segments", []object{{"op": "add", "path": "/metadata/a/b", "value": 1}}, 400},
		{"path not metadata", []object{{"op": "add", "path": "/queue/a", "value": 1}}, 400},
		{"value missing", []object{{"op": "add", "path": "/metadata/a"}}, 400},
		{"reserved invalid", []object{{"op": "add", "path": "/metadata/_default_message_ttl", "value": 30}}, 400},
		{"replace absent", []object{{"op": "replace", "path": "/metadata/absent", "value": 1}}, 409},
		{"remove absent", []object{{"op": "remove", "path": "/metadata/absent"}}, 409},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.in(t).do("PATCH", queuePath(q), c.body, header("Content-Type", patchMediaType))
			wantError(t, r, c.want, "")
		})
	}
	// None of that changed the metadata.
	r := s.do("GET", queuePath(q), nil)
	wantStatus(t, r, 200)
	wantMetadata(t, "after refused patches", decode[object](t, r), object{"color": "red"})

	// A queue that does not exist.
	missing := queueName("patch-missing")
	_, err := queues.Update(t.Context(), s.mc, missing, queues.BatchUpdateOpts{
		{Op: queues.AddOp, Path: "/metadata/a", Value: 1},
	}).Extract()
	wantCode(t, "queues.Update of a missing queue", err, 404)
}

// Purge body: resource_types is required when a body is sent and takes
// only messages and subscriptions (zaqar-api.md 4.7).
func TestPurgeBadBodies(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("purge-bad", nil)
	for _, body := range []any{
		object{},
		object{"resource_types": []string{"claims"}},
		object{"resource_types": []string{"messages", "queues"}},
		`{`,
	} {
		r := s.do("POST", queuePath(q, "purge"), body)
		wantError(t, r, 400, "")
	}
}

// Deletes and reads of queues that do not exist succeed (tempest
// test_delete_a_non_existing_queue, test_delete_the_deleted_queue,
// test_request_stats_for_a_non_existing_queue; pitfall 3).
func TestMissingQueueIsNotAnError(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	name := queueName("missing")
	for range 2 {
		r := s.do("DELETE", queuePath(name), nil)
		wantStatus(t, r, 204)
	}
	r := s.do("GET", queuePath(name, "stats"), nil)
	wantStatus(t, r, 200)
	r = s.do("GET", queuePath(name, "messages"), nil)
	wantStatus(t, r, 200)
	doc := decode[object](t, r)
	if len(wantArray(t, "messages", doc["messages"])) != 0 || len(wantArray(t, "links", doc["links"])) != 0 {
		t.Errorf("listing a missing queue: %s, want empty messages and links", r.body)
	}
}
