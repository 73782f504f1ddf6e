//go:build tempest

package tempest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/claims"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
)

// claimRaw creates a claim with a raw request and returns the response
// and, on 201, the claim id from Location.
func (s *session) claimRaw(queue, query string, body any) (*response, string) {
	s.t.Helper()
	path := queuePath(queue, "claims")
	if query != "" {
		path += "?" + query
	}
	r := s.do("POST", path, body)
	if r.status != 201 {
		return r, ""
	}
	return r, claimIDFromLocation(s.t, r, queue)
}

// claimedIDs checks a 201 claim answer (claim_messages schema) and returns
// the claimed message ids in order.
func claimedIDs(t *testing.T, r *response, queue, claimID string) []string {
	t.Helper()
	items := wantBody[object](t, r, 201, claimCreatedSchema)["messages"].([]any)
	var ids []string
	for i, it := range items {
		m := wantMessage(t, fmt.Sprintf("claimed[%d]", i), it, queue, claimID)
		ids = append(ids, m["id"].(string))
	}
	return ids
}

// Create, query, renew and release a claim (tempest test_claims.py
// test_post_claim, test_query_claim, test_update_claim, test_release_claim;
// zaqar-api.md 6).
func TestClaimLifecycle(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("claim", nil)
	ids := s.postMessages(q, 3, 600)

	r, cid := s.claimRaw(q, "limit=2", object{"ttl": 120, "grace": 60})
	if got := claimedIDs(t, r, q, cid); !slices.Equal(got, ids[:2]) {
		t.Errorf("claimed %v, want the two oldest %v", got, ids[:2])
	}

	// Query (query_claim schema).
	r = s.do("GET", queuePath(q, "claims", cid), nil)
	doc := wantBody[object](t, r, 200, claimSchema)
	if ttl := num(doc["ttl"]); ttl != 120 {
		t.Errorf("claim ttl %d, want 120", ttl)
	}
	if href := doc["href"]; href != "/v2/queues/"+q+"/claims/"+cid {
		t.Errorf("claim href %q, want /v2/queues/%s/claims/%s", href, q, cid)
	}
	items := doc["messages"].([]any)
	if len(items) != 2 {
		t.Errorf("claim holds %d messages, want 2", len(items))
	}
	for i, it := range items {
		wantMessage(t, fmt.Sprintf("claim.messages[%d]", i), it, q, cid)
	}

	c, err := claims.Get(t.Context(), s.mc, q, cid).Extract()
	must(t, "claims.Get", err)
	if c.TTL != 120 || len(c.Messages) != 2 || c.Href != "/v2/queues/"+q+"/claims/"+cid {
		t.Errorf("claims.Get = %+v", c)
	}

	// Renew.
	must(t, "claims.Update", claims.Update(t.Context(), s.mc, q, cid, claims.UpdateOpts{TTL: 300, Grace: 60}).ExtractErr())
	c, err = claims.Get(t.Context(), s.mc, q, cid).Extract()
	must(t, "claims.Get after update", err)
	if c.TTL != 300 {
		t.Errorf("claim ttl after update = %d, want 300", c.TTL)
	}
	r = s.do("PATCH", queuePath(q, "claims", cid), object{"ttl": 240})
	wantStatus(t, r, 204)
	wantEmptyBody(t, r)

	// The third message is still free for others.
	other, err := claims.Create(t.Context(), s.peer().mc, q, claims.CreateOpts{TTL: 60, Grace: 60}).Extract()
	must(t, "claims.Create by another client", err)
	if len(other) != 1 || !strings.HasPrefix(other[0].Href, "/v2/queues/"+q+"/messages/"+ids[2]+"?claim_id=") {
		t.Errorf("second claim got %+v, want only %s", other, ids[2])
	}

	// Release.
	must(t, "claims.Delete", claims.Delete(t.Context(), s.mc, q, cid).ExtractErr())
	_, err = claims.Get(t.Context(), s.mc, q, cid).Extract()
	wantCode(t, "claims.Get of a released claim", err, 404)
	r = s.do("DELETE", queuePath(q, "claims", cid), nil)
	wantStatus(t, r, 204)
	wantEmptyBody(t, r)

	r, cid2 := s.claimRaw(q, "", object{"ttl": 60, "grace": 60})
	if got := claimedIDs(t, r, q, cid2); !slices.Equal(got, ids[:2]) {
		t.Errorf("after release a new claim got %v, want %v", got, ids[:2])
	}
	if cid2 == cid {
		t.Errorf("a new claim reused the released claim id %s", cid)
	}
}

// Nothing to claim: 204, no body, no Location, also for a queue that does
// not exist (zaqar-api.md 6.1, pitfalls 4 and 10).
func TestClaimNothingAvailable(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("claim-empty", nil)
	for _, name := range []string{q, queueName("claim-missing")} {
		r, _ := s.claimRaw(name, "", object{"ttl": 60, "grace": 60})
		wantStatus(t, r, 204)
		wantEmptyBody(t, r)
		if loc := r.header.Get("Location"); loc != "" {
			t.Errorf("204 claim carries Location %q", loc)
		}
	}
	ms, err := claims.Create(t.Context(), s.mc, q, claims.CreateOpts{TTL: 60, Grace: 60}).Extract()
	must(t, "claims.Create on an empty queue", err)
	if len(ms) != 0 {
		t.Errorf("claims.Create on an empty queue = %v", ms)
	}

	// All messages claimed: also 204.
	s.postMessages(q, 1, 300)
	r, _ := s.claimRaw(q, "", object{"ttl": 60, "grace": 60})
	wantStatus(t, r, 201)
	r, _ = s.claimRaw(q, "", object{"ttl": 60, "grace": 60})
	wantStatus(t, r, 204)
}

// Without a body (or with {}) a claim takes ttl 300, grace 60 and limit 10
// (tempest test_request_claim_message_with_no_request_body; zaqar-api.md 6.1).
func TestClaimDefaults(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("claim-defaults", nil)
	s.postMessages(q, 12, 600)

	r, cid := s.claimRaw(q, "", nil)
	if got := claimedIDs(t, r, q, cid); len(got) != defaultClaimLimit {
		t.Errorf("claim without limit took %d messages, want %d", len(got), defaultClaimLimit)
	}
	c, err := claims.Get(t.Context(), s.mc, q, cid).Extract()
	must(t, "claims.Get", err)
	if c.TTL != defaultClaimTTL {
		t.Errorf("claim without body has ttl %d, want %d", c.TTL, defaultClaimTTL)
	}

	r, cid = s.claimRaw(q, "", object{})
	if got := claimedIDs(t, r, q, cid); len(got) != 2 {
		t.Errorf("claim with {} took %d messages, want the 2 left", len(got))
	}

	// Only one of ttl / grace given: the other defaults
	// (test_request_claim_message_with_no_TTL_field / no_grace_field).
	q2 := s.createQueue("claim-partial", nil)
	s.postMessages(q2, 2, 600)
	r, _ = s.claimRaw(q2, "limit=1", object{"grace": 60})
	wantStatus(t, r, 201)
	r, _ = s.claimRaw(q2, "limit=1", object{"ttl": 60})
	wantStatus(t, r, 201)
	// Unknown query parameters are ignored (test_request_claim_message_with_invalid_url_params).
	s.postMessages(q2, 1, 600)
	r, _ = s.claimRaw(q2, "Invalid=ImAnInvalidParam", object{"ttl": 60, "grace": 60})
	wantStatus(t, r, 201)
}

// A claimed message can only be deleted with its claim id: none -> 403,
// another live claim -> 403, an unknown claim -> 400 (zaqar-api.md 5.5,
// pitfall 11).
func TestDeleteClaimedMessage(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("claimed-delete", nil)
	ids := s.postMessages(q, 3, 600)
	_, a := s.claimRaw(q, "limit=1", object{"ttl": 300, "grace": 60})
	_, b := s.claimRaw(q, "limit=1", object{"ttl": 300, "grace": 60})
	if a == "" || b == "" {
		t.Fatal("could not create two claims")
	}

	r := s.do("DELETE", queuePath(q, "messages", ids[0]), nil)
	wantError(t, r, 403, "")
	r = s.do("DELETE", queuePath(q, "messages", ids[0])+"?claim_id="+b, nil)
	wantError(t, r, 403, "")
	r = s.do("DELETE", queuePath(q, "messages", ids[0])+"?claim_id=0123456789abcdef01234567", nil)
	wantError(t, r, 400, "")
	r = s.do("DELETE", queuePath(q, "messages", ids[0])+"?claim_id=not-a-claim", nil)
	wantError(t, r, 400, "")
	// The free message with a claim id: not claimed -> 400.
	r = s.do("DELETE", queuePath(q, "messages", ids[2])+"?claim_id="+a, nil)
	wantError(t, r, 400, "")

	_, err := messages.Get(t.Context(), s.mc, q, ids[0]).Extract()
	must(t, "claimed message survives refused deletes", err)

	r = s.do("DELETE", queuePath(q, "messages", ids[0])+"?claim_id="+a, nil)
	wantStatus(t, r, 204)
	_, err = messages.Get(t.Context(), s.mc, q, ids[0]).Extract()
	wantCode(t, "messages.Get after delete with claim", err, 404)

	// gophercloud, with DeleteOpts.ClaimID.
	must(t, "messages.Delete with claim id", messages.Delete(t.Context(), s.mc, q, ids[1], messages.DeleteOpts{ClaimID: b}).ExtractErr())

	// After release the claim id no longer deletes anything.
	ids2 := s.postMessages(q, 1, 600)
	_, c := s.claimRaw(q, "", object{"ttl": 300, "grace": 60})
	must(t, "claims.Delete", claims.Delete(t.Context(), s.mc, q, c).ExtractErr())
	r = s.do("DELETE", queuePath(q, "messages", ids2[0])+"?claim_id="+c, nil)
	wantError(t, r, 400, "")
}

// Claiming extends messages that would expire during the claim to claim
// ttl + grace; longer-lived messages keep their ttl (zaqar-semantics.md 4,
// pitfall 14).
func TestClaimExtendsMessageTTL(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("claim-grace", nil)
	r := s.postRaw(q, object{"body": object{"life": "short"}, "ttl": 60}, object{"body": object{"life": "long"}, "ttl": 3600})
	wantStatus(t, r, 201)
	var ids []string
	for _, v := range wantArray(t, "resources", decode[object](t, r)["resources"]) {
		ids = append(ids, v.(string)[strings.LastIndex(v.(string), "/")+1:])
	}

	r, cid := s.claimRaw(q, "", object{"ttl": 120, "grace": 90})
	claimedIDs(t, r, q, cid)

	for i, want := range []int{120 + 90, 3600} {
		m, err := messages.Get(t.Context(), s.mc, q, ids[i]).Extract()
		must(t, "messages.Get", err)
		if m.TTL != want {
			t.Errorf("message %d ttl after claim = %d, want %d", i, m.TTL, want)
		}
	}

	// Renewing applies the new ttl + grace the same way.
	must(t, "claims.Update", claims.Update(t.Context(), s.mc, q, cid, claims.UpdateOpts{TTL: 600, Grace: 120}).ExtractErr())
	m, err := messages.Get(t.Context(), s.mc, q, ids[0]).Extract()
	must(t, "messages.Get", err)
	if m.TTL != 600+120 {
		t.Errorf("short message ttl after renewal = %d, want %d", m.TTL, 600+120)
	}
}

// A client may claim its own messages: claims ignore echo
// (zaqar-semantics.md 2).
func TestClaimOwnMessages(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("claim-own", nil)
	ids := s.postMessages(q, 1, 300)
	ms, err := claims.Create(t.Context(), s.mc, q, claims.CreateOpts{TTL: 60, Grace: 60, Limit: 5}).Extract()
	must(t, "claims.Create", err)
	if len(ms) != 1 || !strings.HasPrefix(ms[0].Href, "/v2/queues/"+q+"/messages/"+ids[0]+"?claim_id=") {
		t.Errorf("producer's own claim = %+v, want message %s", ms, ids[0])
	}
	if ms[0].TTL != 300 || ms[0].Body["i"] != float64(0) {
		t.Errorf("claimed message = %+v, want ttl 300 and body {i: 0}", ms[0])
	}
}

// With _max_claim_count and _dead_letter_queue set, the claim after the
// last allowed one moves the message to the dead letter queue instead of
// returning it; its ttl becomes _dead_letter_queue_messages_ttl
// (zaqar-semantics.md 5, pitfall 23).
func TestDeadLetterQueue(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	dlq := s.createQueue("dlq", nil)
	q := s.createQueue("dlq-source", object{
		"_max_claim_count":                1,
		"_dead_letter_queue":              dlq,
		"_dead_letter_queue_messages_ttl": 7200,
	})
	ids := s.postMessages(q, 1, 600)

	r, cid := s.claimRaw(q, "", object{"ttl": 60, "grace": 60})
	if got := claimedIDs(t, r, q, cid); !slices.Equal(got, ids) {
		t.Fatalf("first claim got %v, want %v", got, ids)
	}
	must(t, "claims.Delete", claims.Delete(t.Context(), s.mc, q, cid).ExtractErr())

	r, _ = s.claimRaw(q, "", object{"ttl": 60, "grace": 60})
	wantStatus(t, r, 204)
	if left := s.listAll(q, "echo=true&include_claimed=true"); len(left) != 0 {
		t.Errorf("source queue still lists %v after the message was dead-lettered", left)
	}
	moved := s.listAll(dlq, "echo=true&include_claimed=true")
	if len(moved) != 1 {
		t.Fatalf("dead letter queue lists %d messages, want 1", len(moved))
	}
	if bodyIndex(t, moved[0]) != 0 {
		t.Errorf("dead-lettered message body %v, want {i: 0}", moved[0]["body"])
	}
	if ttl := wantInt(t, "ttl", moved[0]["ttl"], 0); ttl != 7200 {
		t.Errorf("dead-lettered message ttl %d, want _dead_letter_queue_messages_ttl 7200", ttl)
	}
}
