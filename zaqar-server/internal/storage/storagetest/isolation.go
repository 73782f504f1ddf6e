package storagetest

import (
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func isolationCases() []testCase {
	return []testCase{
		{name: "IsolationQueues", fn: testIsolationQueues},
		{name: "IsolationMessages", fn: testIsolationMessages},
		{name: "IsolationClaims", fn: testIsolationClaims},
		{name: "IsolationSubscriptions", fn: testIsolationSubscriptions},
		{name: "IsolationQueueScope", fn: testIsolationQueueScope},
	}
}

// Another project's queue of the same name is another queue: a project never
// sees or touches what is not its own, even holding the right ids.
// (zaqar-semantics 11: everything is keyed by project and queue.)

// pair returns the case's queue and the same name in a second fresh project.
func (e *env) pair() (mine, theirs zaqar.QueueRef) {
	return e.q("shared"), zaqar.QueueRef{Project: newProject(), Name: "shared"}
}

func testIsolationQueues(e *env) {
	mine, theirs := e.pair()
	e.createQueue(mine, zaqar.Metadata{"owner": "me"})

	_, err := e.s.Queues().Get(e.ctx, theirs)
	require_Error(e.t, err, storage.ErrQueueNotFound)
	require_Error(e.t, e.s.Queues().SetMetadata(e.ctx, theirs, zaqar.Metadata{"owner": "them"}), storage.ErrQueueNotFound)
	qs, err := e.s.Queues().List(e.ctx, theirs.Project, storage.QueueListOptions{Limit: 10})
	require_NoError(e.t, err)
	require_Len(e.t, qs, 0, "their listing")
	n, err := e.s.Queues().Count(e.ctx, theirs.Project)
	require_NoError(e.t, err)
	require_Equal(e.t, n, 0, "their count")

	created, err := e.s.Queues().Create(e.ctx, theirs, zaqar.Metadata{"owner": "them"})
	require_NoError(e.t, err)
	require_True(e.t, created, "their queue of the same name is created")
	require_NoError(e.t, e.s.Queues().SetMetadata(e.ctx, theirs, zaqar.Metadata{"owner": "them", "v": "2"}))
	require_NoError(e.t, e.s.Queues().Delete(e.ctx, theirs))

	meta, err := e.s.Queues().Get(e.ctx, mine)
	require_NoError(e.t, err, "my queue after theirs was deleted")
	require_DeepEqual(e.t, meta, zaqar.Metadata{"owner": "me"})
	n, err = e.s.Queues().Count(e.ctx, e.project)
	require_NoError(e.t, err)
	require_Equal(e.t, n, 1, "my count")
}

func testIsolationMessages(e *env) {
	mine, theirs := e.pair()
	m := e.postN(mine, 4)
	c, _ := e.claim(mine, 1)
	e.createQueue(theirs, nil)

	for _, id := range m {
		_, err := e.s.Messages().Get(e.ctx, theirs, id)
		require_Error(e.t, err, storage.ErrMessageNotFound)
	}
	many, err := e.s.Messages().GetMany(e.ctx, theirs, m)
	require_NoError(e.t, err)
	require_Len(e.t, many, 0, "their get-many")
	require_Len(e.t, e.listAll(theirs, allOpts), 0, "their listing")
	require_DeepEqual(e.t, e.stats(theirs), zaqar.Stats{}, "their stats")

	require_NoError(e.t, e.s.Messages().Delete(e.ctx, theirs, m[0], c.ID))
	require_NoError(e.t, e.s.Messages().Delete(e.ctx, theirs, m[1], ""))
	require_NoError(e.t, e.s.Messages().DeleteMany(e.ctx, theirs, m[2:3], nil))
	popped, err := e.s.Messages().Pop(e.ctx, theirs, 10)
	require_NoError(e.t, err)
	require_Len(e.t, popped, 0, "their pop")
	require_NoError(e.t, e.s.Queues().Delete(e.ctx, theirs))

	theirIDs := e.post(theirs, newMsg(`"theirs"`))
	require_Slice(e.t, ids(e.listAll(mine, allOpts)), m, "my messages")
	require_Slice(e.t, ids(e.listAll(theirs, allOpts)), theirIDs, "their messages")
	st := e.stats(mine)
	require_Equal(e.t, st.Total, 4, "my total")
	require_Equal(e.t, st.Claimed, 1, "my claimed")
}

func testIsolationClaims(e *env) {
	mine, theirs := e.pair()
	m := e.postN(mine, 2)
	c, _ := e.claim(mine, 1)

	_, _, err := e.s.Claims().Get(e.ctx, theirs, c.ID)
	require_Error(e.t, err, storage.ErrClaimNotFound)
	require_Error(e.t, e.s.Claims().Update(e.ctx, theirs, c.ID, time.Second, 0), storage.ErrClaimNotFound)
	require_NoError(e.t, e.s.Claims().Delete(e.ctx, theirs, c.ID))
	tc, msgs := e.claim(theirs, 10)
	require_Equal(e.t, tc, zaqar.Claim{}, "their claim")
	require_Len(e.t, msgs, 0, "their claim")

	got, msgs := e.getClaim(mine, c.ID)
	require_Equal(e.t, got.TTL, long, "my claim's ttl")
	require_Slice(e.t, ids(msgs), m[:1], "my claim's messages")
	_, msgs = e.claim(mine, 10)
	require_Slice(e.t, ids(msgs), m[1:], "my claim kept its message")
}

func testIsolationSubscriptions(e *env) {
	mine, theirs := e.pair()
	s := e.subscribe(mine, "http://example.com/hook", long)

	_, err := e.s.Subscriptions().Get(e.ctx, theirs, s.ID)
	require_Error(e.t, err, storage.ErrSubscriptionNotFound)
	subs, err := e.s.Subscriptions().List(e.ctx, theirs, "", 10)
	require_NoError(e.t, err)
	require_Len(e.t, subs, 0, "their listing")
	sub, ttl := "http://example.com/theirs", time.Second
	require_Error(e.t, e.s.Subscriptions().Update(e.ctx, theirs, s.ID, storage.SubscriptionUpdate{Subscriber: &sub, TTL: &ttl}), storage.ErrSubscriptionNotFound)
	require_Error(e.t, e.s.Subscriptions().Confirm(e.ctx, theirs, s.ID, true), storage.ErrSubscriptionNotFound)
	require_NoError(e.t, e.s.Subscriptions().Delete(e.ctx, theirs, s.ID))

	ts, created, err := e.s.Subscriptions().Create(e.ctx, theirs, zaqar.Subscription{Subscriber: "http://example.com/hook", TTL: long})
	require_NoError(e.t, err)
	require_True(e.t, created && ts.ID != s.ID, "their subscription of the same subscriber is another one")

	got := e.getSub(mine, s.ID)
	require_Equal(e.t, got.Subscriber, "http://example.com/hook", "my subscriber")
	require_Equal(e.t, got.TTL, long, "my ttl")
	require_Equal(e.t, got.Confirmed, false, "my confirmed")
	subs, err = e.s.Subscriptions().List(e.ctx, mine, "", 10)
	require_NoError(e.t, err)
	require_Slice(e.t, subIDs(subs), []string{s.ID}, "my listing")
}

// Within a project, ids of one queue mean nothing in another.
func testIsolationQueueScope(e *env) {
	a, b := e.q("a"), e.q("b")
	m := e.postN(a, 2)
	c, _ := e.claim(a, 1)
	e.postN(b, 1)

	_, err := e.s.Messages().Get(e.ctx, b, m[0])
	require_Error(e.t, err, storage.ErrMessageNotFound)
	require_NoError(e.t, e.s.Messages().Delete(e.ctx, b, m[1], ""))
	require_NoError(e.t, e.s.Messages().DeleteMany(e.ctx, b, m, nil))
	_, _, err = e.s.Claims().Get(e.ctx, b, c.ID)
	require_Error(e.t, err, storage.ErrClaimNotFound)
	require_NoError(e.t, e.s.Claims().Delete(e.ctx, b, c.ID))
	require_Slice(e.t, ids(e.listAll(a, allOpts)), m, "messages of a")
	_, msgs := e.getClaim(a, c.ID)
	require_Slice(e.t, ids(msgs), m[:1], "claim of a")
}
