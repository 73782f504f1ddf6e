//go:build tempest

package tempest

import (
	"slices"
	"testing"
)

// With Keystone every route but GET / wants a valid token: missing or
// invalid ones answer 401 (keystonemiddleware; the *_without_a_token tests
// of zaqar-tempest-plugin). A token's project is the one acted in, whatever
// X-Project-ID says.
func TestRequestsWithoutToken(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	if !s.cloud.keystone {
		t.Skip("needs Keystone (OS_AUTH_URL or TEMPEST_CONFIG [identity])")
	}
	q := s.createQueue("noauth", nil)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "v2/queues", nil},
		{"PUT", queuePath(q), nil},
		{"GET", queuePath(q, "stats"), nil},
		{"POST", queuePath(q, "messages"), object{"messages": []object{{"body": 1}}}},
		{"GET", queuePath(q, "messages"), nil},
		{"POST", queuePath(q, "claims"), nil},
		{"GET", queuePath(q, "subscriptions"), nil},
		{"POST", queuePath(q, "subscriptions"), object{"subscriber": "http://example.invalid/x"}},
		{"POST", queuePath(q, "share"), object{}},
		{"DELETE", queuePath(q), nil},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			s := s.in(t)
			wantStatus(t, s.do(c.method, c.path, c.body, without("X-Auth-Token")), 401)
			wantStatus(t, s.do(c.method, c.path, c.body, header("X-Auth-Token", "tempest-invalid-"+randHex(8))), 401)
		})
	}
	// The queue is untouched: the DELETE without a token did nothing.
	if !slices.Contains(s.allQueueNames(), q) {
		t.Errorf("after the unauthenticated requests the project does not list %s", q)
	}

	// X-Project-ID naming another project does not move a token's request.
	other := otherProject(t)
	name := queueName("noauth-project")
	other.cleanupQueue(name)
	s.cleanupQueue(name)
	wantStatus(t, s.do("PUT", queuePath(name), nil, header("X-Project-ID", "tempest-not-mine-"+randHex(4))), 201)
	if slices.Contains(other.allQueueNames(), name) {
		t.Errorf("a queue created with another X-Project-ID shows in the alt project")
	}
	if !slices.Contains(s.allQueueNames(), name) {
		t.Errorf("a queue created with another X-Project-ID is not in the token's project")
	}
}
