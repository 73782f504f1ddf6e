package storagetest

import (
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func deadLetterCases() []testCase {
	return []testCase{
		{name: "DeadLetter", fn: testDeadLetter},
		{name: "DeadLetterAll", fn: testDeadLetterAll},
		{name: "DeadLetterOff", fn: testDeadLetterOff},
		{name: "DeadLetterTTL", fn: testDeadLetterTTL, waits: true},
	}
}

func dlqOpts(maxClaims int, dlq string) storage.ClaimOptions {
	o := claimOpts(10)
	o.MaxClaimCount = maxClaims
	o.DeadLetterQueue = dlq
	return o
}

// claimRelease claims with opts and releases at once, returning what the
// claim held.
func (e *env) claimRelease(q zaqar.QueueRef, opts storage.ClaimOptions) []zaqar.Message {
	e.t.Helper()
	c, msgs, err := e.s.Claims().Create(e.ctx, q, opts)
	require_NoError(e.t, err, "claim")
	if c.ID != "" {
		require_NoError(e.t, e.s.Claims().Delete(e.ctx, q, c.ID), "release")
	}
	return msgs
}

// With MaxClaimCount N a message is delivered N times; the next claim moves
// it to the dead-letter queue, which it creates, and does not return it
// (zaqar-semantics 5). It arrives there unclaimed.
func testDeadLetter(e *env) {
	q, dlq := e.q("src"), e.q("dlq")
	opts := dlqOpts(2, dlq.Name)
	dead := e.post(q, newMsg(`{"dead":true}`))[0]
	for n := 1; n <= 2; n++ {
		msgs := e.claimRelease(q, opts)
		require_Slice(e.t, ids(msgs), []string{dead}, "claim ", n)
		require_Equal(e.t, msgs[0].ClaimCount, n, "claim count")
	}
	_, err := e.s.Queues().Get(e.ctx, dlq)
	require_Error(e.t, err, storage.ErrQueueNotFound) // nothing moved yet

	alive := e.post(q, newMsg(`{"dead":false}`))[0]
	c, msgs, err := e.s.Claims().Create(e.ctx, q, opts)
	require_NoError(e.t, err)
	require_Slice(e.t, ids(msgs), []string{alive}, "the claim holds only the message below the limit")
	require_True(e.t, c.ID != "", "claim id")

	require_True(e.t, !e.exists(q, dead), "dead-lettered message left in its queue")
	st := e.stats(q)
	require_Equal(e.t, st.Total, 1, "total in source")
	require_Equal(e.t, st.Claimed, 1, "claimed in source")

	_, err = e.s.Queues().Get(e.ctx, dlq)
	require_NoError(e.t, err, "dead-letter queue is created")
	moved := e.listAll(dlq, storage.MessageListOptions{Echo: true})
	require_Slice(e.t, bodies(moved), []string{`{"dead":true}`}, "dead-letter queue")
	require_Equal(e.t, moved[0].ClaimID, "", "claim id in the dead-letter queue")
	st = e.stats(dlq)
	require_Equal(e.t, st.Free, 1, "free in the dead-letter queue")
	require_Equal(e.t, st.Claimed, 0, "claimed in the dead-letter queue")
	_, msgs = e.claim(dlq, 10)
	require_Slice(e.t, bodies(msgs), []string{`{"dead":true}`}, "claimable in the dead-letter queue")
}

// When every selected message moves the claim is empty; moved messages keep
// their order and an existing dead-letter queue keeps its metadata.
func testDeadLetterAll(e *env) {
	q, dlq := e.q("src"), e.q("dlq")
	e.createQueue(dlq, zaqar.Metadata{"k": "v"})
	e.post(dlq, newMsg(`"already there"`))
	opts := dlqOpts(1, dlq.Name)
	e.post(q, newMsg(`1`), newMsg(`2`), newMsg(`3`))
	require_Len(e.t, e.claimRelease(q, opts), 3, "first claim")

	c, msgs, err := e.s.Claims().Create(e.ctx, q, opts)
	require_NoError(e.t, err)
	require_Equal(e.t, c, zaqar.Claim{}, "claim when every message moves")
	require_Len(e.t, msgs, 0)
	require_Equal(e.t, e.stats(q).Total, 0, "left in source")

	got := e.listAll(dlq, allOpts)
	require_Slice(e.t, bodies(got), []string{`"already there"`, `1`, `2`, `3`}, "dead-letter queue")
	meta, err := e.s.Queues().Get(e.ctx, dlq)
	require_NoError(e.t, err)
	require_DeepEqual(e.t, meta, zaqar.Metadata{"k": "v"}, "dead-letter queue metadata")
}

// Dead-lettering needs both MaxClaimCount and DeadLetterQueue.
func testDeadLetterOff(e *env) {
	for _, opts := range []storage.ClaimOptions{dlqOpts(1, ""), dlqOpts(0, "dlq")} {
		q := e.q("src-" + opts.DeadLetterQueue)
		id := e.post(q, newMsg(`1`))[0]
		for n := 1; n <= 3; n++ {
			msgs := e.claimRelease(q, opts)
			require_Slice(e.t, ids(msgs), []string{id}, "claim ", n, " with ", opts.MaxClaimCount, "/", opts.DeadLetterQueue)
			require_Equal(e.t, msgs[0].ClaimCount, n, "claim count")
		}
	}
	_, err := e.s.Queues().Get(e.ctx, e.q("dlq"))
	require_Error(e.t, err, storage.ErrQueueNotFound)
}

// DeadLetterTTL bounds the life of a moved message from the move.
func testDeadLetterTTL(e *env) {
	q, dlq := e.q("src"), e.q("dlq")
	opts := dlqOpts(1, dlq.Name)
	opts.DeadLetterTTL = time.Second
	e.post(q, newMsg(`1`))
	require_Len(e.t, e.claimRelease(q, opts), 1, "first claim")
	require_Len(e.t, e.claimRelease(q, opts), 0, "second claim moves the message")
	require_Equal(e.t, e.stats(q).Total, 0, "left in source")
	// testDeadLetter proves the move; on a slow machine the moved message
	// may have expired already, so only its going is checked here.
	waitFor(e.t, "dead-lettered message to expire", func() bool {
		return e.stats(dlq).Total == 0
	})
	_, err := e.s.Queues().Get(e.ctx, dlq)
	require_NoError(e.t, err, "dead-letter queue is created")
}
