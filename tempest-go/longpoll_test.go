//go:build tempest

package tempest

import (
	"context"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
)

// Long polling: wait=S on a claim, a zaqar-go extension
// (docs/long-polling.md). Zaqar ignores the parameter.

// requireLongPolling skips unless the deployment honours wait=S: zaqar-go
// refuses a negative wait (400) where Zaqar ignores the unknown parameter
// and answers the empty claim (204); and [messaging] max_wait, the
// deployment's [transport] max_wait, must cover S.
func requireLongPolling(t *testing.T, s *session, queue string, wait int) {
	t.Helper()
	if max := s.cloud.cfg.limits.maxWait; max < wait {
		t.Skipf("[messaging] max_wait = %d: the deployment does not wait %d s", max, wait)
	}
	if r, _ := s.claimRaw(queue, "wait=-1", object{"ttl": 60, "grace": 60}); r.status != 400 {
		t.Skipf("a claim with wait=-1 answers %d, not 400: the deployment does not implement long polling (a zaqar-go extension)", r.status)
	}
}

// A claim waiting on an empty queue answers 201 with a message posted
// while it waits, before the wait ends.
func TestClaimWaitWokenByPost(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("wait", nil)
	const wait = 5
	requireLongPolling(t, s, q, wait)

	// The post goes once the claim is on the wire and a moment more: a
	// server that did not wait has answered the empty claim 204 by then
	// (the moment only makes the test tell such a server apart; a waiting
	// server passes however the two requests race).
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	written := make(chan struct{})
	var once sync.Once
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(func() { close(written) }) }}
	type result struct {
		ids []string
		err error
	}
	posted := make(chan result, 1)
	go func() {
		select {
		case <-written:
		case <-ctx.Done():
			posted <- result{err: ctx.Err()}
			return
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			posted <- result{err: ctx.Err()}
			return
		}
		res, err := messages.Create(ctx, s.mc, q, messages.BatchCreateOpts{{TTL: 300, Body: map[string]any{"woken": true}}}).Extract()
		var ids []string
		for _, href := range res.Resources {
			ids = append(ids, href[strings.LastIndex(href, "/")+1:])
		}
		posted <- result{ids, err}
	}()

	start := time.Now()
	r := s.doContext(httptrace.WithClientTrace(ctx, trace), "POST", queuePath(q, "claims")+"?wait=5", object{"ttl": 60, "grace": 60})
	took := time.Since(start)
	wantStatus(t, r, 201)
	p := <-posted
	must(t, "post while the claim waits", p.err)
	if got := claimedIDs(t, r, q, claimIDFromLocation(t, r, q)); !slices.Equal(got, p.ids) {
		t.Errorf("claimed %v, want the message posted during the wait %v", got, p.ids)
	}
	if took >= wait*time.Second {
		t.Errorf("the claim answered after %v, not before its %d s wait ended", took, wait)
	}
}

// A claim waiting on an empty queue that nobody posts to answers 204 with
// no body when the wait ends, as a claim without wait does at once.
func TestClaimWaitTimesOut(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("wait-empty", nil)
	requireLongPolling(t, s, q, 1)
	r, _ := s.claimRaw(q, "wait=1", object{"ttl": 60, "grace": 60})
	wantStatus(t, r, 204)
	wantEmptyBody(t, r)
}
