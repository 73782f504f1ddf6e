//go:build tempest

package tempest

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Pre-signed URLs: POST /v2/queues/{q}/share and requests carrying its
// signature instead of a token (zaqar-api.md 8, zaqar-semantics.md 7).

// share asks for a pre-signed URL; it skips the test when the server has no
// [signed_url] secret_key (Zaqar and zaqar-go answer 400 "The `key` can't be
// None").
func (s *session) share(queue string, body object) object {
	s.t.Helper()
	r := s.do("POST", queuePath(queue, "share"), body)
	if r.status == 400 && strings.Contains(string(r.body), "key") && strings.Contains(string(r.body), "None") {
		s.t.Skip("the server has no [signed_url] secret_key: pre-signed URLs are off")
	}
	return wantBody[object](s.t, r, 200, shareSchema)
}

// signed sends a request with the pre-signed headers of doc and no token.
func (s *session) signed(doc object, method, path string, body any, opts ...reqOption) *response {
	s.t.Helper()
	join := func(k string) string {
		var parts []string
		for _, v := range doc[k].([]any) {
			parts = append(parts, v.(string))
		}
		return strings.Join(parts, ",")
	}
	opts = append([]reqOption{
		without("X-Auth-Token"), without("X-Roles"),
		header("X-Project-ID", doc["project"].(string)),
		header("URL-Signature", doc["signature"].(string)),
		header("URL-Expires", doc["expires"].(string)),
		header("URL-Methods", join("methods")),
		header("URL-Paths", join("paths")),
	}, opts...)
	return s.do(method, path, body, opts...)
}

// A share document names the queue's paths and methods, sorted, and lets
// exactly those requests through without a token; anything else is 404.
func TestShareQueue(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("share", nil)
	s.postMessages(q, 1, 300)
	doc := s.share(q, object{"methods": []string{"POST", "GET"}, "paths": []string{"messages", "claims"}})

	wantPaths := []any{"/v2/queues/" + q + "/claims", "/v2/queues/" + q + "/messages"}
	if got := doc["paths"].([]any); !slices.Equal(got, wantPaths) {
		t.Errorf("paths = %v, want %v", got, wantPaths)
	}
	if got := doc["methods"].([]any); !slices.Equal(got, []any{"GET", "POST"}) {
		t.Errorf("methods = %v, want [GET POST]", got)
	}
	exp, err := time.Parse("2006-01-02T15:04:05", doc["expires"].(string))
	if err != nil || exp.Before(time.Now().UTC().Add(23*time.Hour)) || exp.After(time.Now().UTC().Add(25*time.Hour)) {
		t.Errorf("expires = %v, want about a day from now (UTC)", doc["expires"])
	}
	if s.cloud.keystone {
		if doc["project"] == "" {
			t.Errorf("project is empty")
		}
	} else if doc["project"] != s.project {
		t.Errorf("project = %v, want %s", doc["project"], s.project)
	}

	r := s.signed(doc, "POST", queuePath(q, "messages"), object{"messages": []object{{"body": "signed", "ttl": 300}}})
	wantBody[object](t, r, 201, postMessagesSchema)
	r = s.signed(doc, "GET", queuePath(q, "messages")+"?echo=true", nil)
	if n := len(wantBody[object](t, r, 200, messageListSchema)["messages"].([]any)); n != 2 {
		t.Errorf("signed listing shows %d messages, want 2", n)
	}
	r = s.signed(doc, "POST", queuePath(q, "claims"), object{"ttl": 60, "grace": 60})
	wantBody[object](t, r, 201, claimCreatedSchema)

	for _, c := range []struct {
		name         string
		method, path string
		opts         []reqOption
	}{
		{"method not signed", "DELETE", queuePath(q, "messages") + "?pop=1", nil},
		{"path not signed", "GET", queuePath(q, "subscriptions"), nil},
		{"another queue", "GET", queuePath(q+"x", "messages"), nil},
		{"queue itself", "DELETE", queuePath(q), nil},
		{"tampered signature", "GET", queuePath(q, "messages"), []reqOption{header("URL-Signature", strings.Repeat("0", 64))}},
		{"another project", "GET", queuePath(q, "messages"), []reqOption{header("X-Project-ID", "tempest-other-"+randHex(4))}},
		{"methods widened", "GET", queuePath(q, "messages"), []reqOption{header("URL-Methods", "DELETE,GET,POST")}},
		{"expiry moved", "GET", queuePath(q, "messages"), []reqOption{header("URL-Expires", time.Now().UTC().Add(48*time.Hour).Format("2006-01-02T15:04:05"))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.in(t).signed(doc, c.method, c.path, nil, c.opts...)
			wantStatus(t, r, 404)
		})
	}
	// The queue survived the refused DELETE.
	if got := s.listAll(q, "echo=true&include_claimed=true"); len(got) != 2 {
		t.Errorf("after the refused requests the queue holds %d messages, want 2", len(got))
	}
}

// Defaults: GET on messages for a day; an empty document is enough.
func TestShareDefaults(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("share-defaults", nil)
	doc := s.share(q, object{})
	if got := doc["methods"].([]any); !slices.Equal(got, []any{"GET"}) {
		t.Errorf("default methods = %v, want [GET]", got)
	}
	if got := doc["paths"].([]any); !slices.Equal(got, []any{"/v2/queues/" + q + "/messages"}) {
		t.Errorf("default paths = %v, want the queue's messages", got)
	}
	wantStatus(t, s.signed(doc, "GET", queuePath(q, "messages"), nil), 200)
	wantStatus(t, s.signed(doc, "POST", queuePath(q, "messages"), object{"messages": []object{{"body": 1}}}), 404)
}

// Share bodies: only methods, paths and expires; paths among messages,
// subscriptions and claims; expires a future ISO date (zaqar-api.md 8).
func TestShareBadBodies(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("share-bad", nil)
	s.share(q, object{}) // skips without a secret key
	for _, c := range []struct {
		name string
		body any
	}{
		{"unknown key", object{"methods": []string{"GET"}, "bogus": 1}},
		{"invalid path", object{"paths": []string{"queues"}}},
		{"expires in the past", object{"expires": "2000-01-01T00:00:00"}},
		{"expires an integer", object{"expires": "1234"}},
		{"expires garbage", object{"expires": "tomorrow"}},
		{"methods not a list", object{"methods": "GET"}},
		{"not JSON", `{`},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, s.in(t).do("POST", queuePath(q, "share"), c.body), 400, "")
		})
	}
}
