//go:build tempest

package tempest

import (
	"fmt"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/claims"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/queues"
)

// Bad claim bodies and parameters are 400 and claim nothing (tempest
// test_claims_negative.py: invalid character / invalid / non-JSON request
// body, greater / lesser / negative limit, greater / lesser TTL and grace;
// zaqar-api.md 6.1, pitfall 13).
func TestCreateClaimBadInput(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("claim-bad", nil)
	s.postMessages(q, 1, 600)
	for _, c := range []struct {
		name, query, body, title string
	}{
		{"open bracket", "", `[`, titleBody},
		{"json string", "", `"Try"`, ""},
		{"json number", "", `123`, ""},
		{"json array", "", `[]`, ""},
		{"ttl string", "", `{"ttl": "abc", "grace": 60}`, titleBody},
		{"ttl float", "", `{"ttl": 60.5, "grace": 60}`, titleBody},
		{"ttl null", "", `{"ttl": null, "grace": 60}`, titleBody},
		{"grace string", "", `{"ttl": 60, "grace": "x"}`, titleBody},
		{"ttl too large", "", fmt.Sprintf(`{"ttl": %d, "grace": 60}`, maxClaimTTL+1), titleAPI},
		{"ttl 59", "", `{"ttl": 59, "grace": 60}`, titleAPI},
		{"ttl 0", "", `{"ttl": 0, "grace": 60}`, titleAPI},
		{"ttl negative", "", `{"ttl": -43500, "grace": 60}`, titleAPI},
		{"grace too large", "", fmt.Sprintf(`{"ttl": 60, "grace": %d}`, maxClaimGrace+1), titleAPI},
		{"grace 59", "", `{"ttl": 60, "grace": 59}`, titleAPI},
		{"grace 0", "", `{"ttl": 60, "grace": 0}`, titleAPI},
		{"grace negative", "", `{"ttl": 60, "grace": -1}`, titleAPI},
		{"limit 200", "limit=200", `{"ttl": 60, "grace": 60}`, titleAPI},
		{"limit 21", "limit=21", `{"ttl": 60, "grace": 60}`, titleAPI},
		{"limit 0", "limit=0", `{"ttl": 60, "grace": 60}`, titleAPI},
		{"limit negative", "limit=-1", `{"ttl": 60, "grace": 60}`, titleAPI},
		{"limit not int", "limit=ten", `{"ttl": 60, "grace": 60}`, titleParam},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := queuePath(q, "claims")
			if c.query != "" {
				path += "?" + c.query
			}
			r := s.in(t).do("POST", path, c.body)
			wantError(t, r, 400, c.title)
		})
	}
	_, err := claims.Create(t.Context(), s.mc, q, claims.CreateOpts{TTL: maxClaimTTL + 1, Grace: 60}).Extract()
	wantCode(t, "claims.Create ttl 43201", err, 400)

	// The message is still free.
	st, err := queues.GetStats(t.Context(), s.mc, q).Extract()
	must(t, "queues.GetStats", err)
	if st.Claimed != 0 || st.Free != 1 {
		t.Errorf("after refused claims stats = %+v, want 1 free, 0 claimed", st)
	}
}

// Unknown, released or malformed claims are 404 on GET and PATCH, 204 on
// DELETE (tempest test_query_from_a_nonexistent_queue,
// test_query_claim_with_non_existing_claim_id, test_update_claim_on_non_
// existing_queue, test_update_a_non_existing_claim,
// test_release_non_existing_claim; zaqar-api.md 6.2-6.4).
func TestClaimNotFound(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("claim-404", nil)
	s.postMessages(q, 1, 600)
	r, released := s.claimRaw(q, "", object{"ttl": 60, "grace": 60})
	wantStatus(t, r, 201)
	must(t, "claims.Delete", claims.Delete(t.Context(), s.mc, q, released).ExtractErr())

	missingQueue := queueName("claim-404-missing")
	for _, path := range []string{
		queuePath(missingQueue, "claims", newClientID()),
		queuePath(q, "claims", newClientID()),
		queuePath(q, "claims", "0123456789abcdef01234567"),
		queuePath(q, "claims", "not-a-claim"),
		queuePath(q, "claims", released),
	} {
		r := s.do("GET", path, nil)
		wantError(t, r, 404, titleNotFound)
		r = s.do("PATCH", path, object{"ttl": 60, "grace": 60})
		wantError(t, r, 404, titleNotFound)
		r = s.do("DELETE", path, nil)
		wantStatus(t, r, 204)
	}
	_, err := claims.Get(t.Context(), s.mc, q, released).Extract()
	wantCode(t, "claims.Get of a released claim", err, 404)
	err = claims.Update(t.Context(), s.mc, q, released, claims.UpdateOpts{TTL: 60}).ExtractErr()
	wantCode(t, "claims.Update of a released claim", err, 404)
}

// A claim of a deleted queue is gone (tempest test_update_claim_on_non_
// existing_queue).
func TestClaimOfDeletedQueue(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("claim-deleted-queue", nil)
	s.postMessages(q, 1, 600)
	r, cid := s.claimRaw(q, "", object{"ttl": 60, "grace": 60})
	wantStatus(t, r, 201)
	must(t, "queues.Delete", queues.Delete(t.Context(), s.mc, q).ExtractErr())
	r = s.do("PATCH", queuePath(q, "claims", cid), object{"ttl": 120})
	wantError(t, r, 404, titleNotFound)
	r = s.do("GET", queuePath(q, "claims", cid), nil)
	wantError(t, r, 404, titleNotFound)
}

// PATCH bodies: required, a JSON object, ttl in range; grace is not
// range-checked on update (zaqar-api.md 6.3, pitfall 13).
func TestUpdateClaimBadInput(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("claim-patch-bad", nil)
	s.postMessages(q, 1, 600)
	r, cid := s.claimRaw(q, "", object{"ttl": 120, "grace": 60})
	wantStatus(t, r, 201)
	path := queuePath(q, "claims", cid)
	for _, c := range []struct{ name, body, title string }{
		{"empty", ``, titleBody},
		{"open bracket", `[`, titleBody},
		{"array", `[]`, ""},
		{"string", `"x"`, ""},
		{"ttl string", `{"ttl": "60"}`, titleBody},
		{"ttl too large", fmt.Sprintf(`{"ttl": %d}`, maxClaimTTL+1), titleAPI},
		{"ttl 59", `{"ttl": 59}`, titleAPI},
		{"ttl negative", `{"ttl": -1}`, titleAPI},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.in(t).do("PATCH", path, c.body)
			wantError(t, r, 400, c.title)
		})
	}
	c, err := claims.Get(t.Context(), s.mc, q, cid).Extract()
	must(t, "claims.Get", err)
	if c.TTL != 120 {
		t.Errorf("refused updates changed the claim ttl to %d", c.TTL)
	}

	// Only ttl is validated on update: an out-of-range grace is accepted.
	r = s.do("PATCH", path, fmt.Sprintf(`{"ttl": 180, "grace": %d}`, maxClaimGrace+1))
	wantStatus(t, r, 204)
	// {} renews with the defaults.
	r = s.do("PATCH", path, `{}`)
	wantStatus(t, r, 204)
	c, err = claims.Get(t.Context(), s.mc, q, cid).Extract()
	must(t, "claims.Get", err)
	if c.TTL != defaultClaimTTL {
		t.Errorf("PATCH {} left ttl %d, want the default %d", c.TTL, defaultClaimTTL)
	}
}
