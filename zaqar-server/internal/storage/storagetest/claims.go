package storagetest

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func claimCases() []testCase {
	return []testCase{
		{name: "ClaimCreate", fn: testClaimCreate},
		{name: "ClaimEmpty", fn: testClaimEmpty},
		{name: "ClaimGet", fn: testClaimGet},
		{name: "ClaimCount", fn: testClaimCount},
		{name: "ClaimGrace", fn: testClaimGrace},
		{name: "ClaimUpdate", fn: testClaimUpdate},
		{name: "ClaimRelease", fn: testClaimRelease},
		{name: "ClaimTTL", fn: testClaimTTL, waits: true},
		{name: "ClaimUpdateRestartsTTL", fn: testClaimUpdateRestartsTTL, waits: true},
		{name: "ClaimGraceKeepsMessage", fn: testClaimGraceKeepsMessage, waits: true},
		{name: "ClaimAfterHeldHead", fn: testClaimAfterHeldHead, waits: true},
		{name: "ClaimHeadExpiresFirst", fn: testClaimHeadExpiresFirst, waits: true},
	}
}

func (e *env) getClaim(q zaqar.QueueRef, id string) (zaqar.Claim, []zaqar.Message) {
	e.t.Helper()
	c, msgs, err := e.s.Claims().Get(e.ctx, q, id)
	require_NoError(e.t, err, "get claim "+id)
	return c, msgs
}

// Claims take the oldest messages that are not claimed, up to the limit.
func testClaimCreate(e *env) {
	q := e.q("q")
	m := e.postN(q, 5)
	opts := storage.ClaimOptions{TTL: long, Grace: 2 * time.Minute, Limit: 3}
	c, msgs, err := e.s.Claims().Create(e.ctx, q, opts)
	require_NoError(e.t, err)
	require_True(e.t, c.ID != "", "claim id is set")
	require_Equal(e.t, c.TTL, long, "claim ttl")
	require_True(e.t, c.Age >= 0 && c.Age < time.Minute, "claim age ", c.Age)
	require_Slice(e.t, ids(msgs), m[:3], "claimed messages")
	for i, msg := range msgs {
		require_Equal(e.t, msg.ClaimID, c.ID, "claim id of message ", i)
		require_Equal(e.t, msg.ClaimCount, 1, "claim count of message ", i)
		require_Equal(e.t, string(msg.Body), `{"n":`+strconv.Itoa(i)+`}`, "body")
	}

	c2, msgs := e.claim(q, 10)
	require_True(e.t, c2.ID != "" && c2.ID != c.ID, "second claim has its own id")
	require_Slice(e.t, ids(msgs), m[3:], "second claim takes the rest")

	c3, msgs := e.claim(q, 10)
	require_Equal(e.t, c3, zaqar.Claim{}, "claim when everything is claimed")
	require_Len(e.t, msgs, 0)
	st := e.stats(q)
	require_Equal(e.t, st.Claimed, 5, "claimed")
	require_Equal(e.t, st.Free, 0, "free")
}

// Nothing to claim is a zero Claim and no error (HTTP 204), also for a queue
// that does not exist.
func testClaimEmpty(e *env) {
	for _, name := range []string{"missing", "empty"} {
		q := e.q(name)
		if name == "empty" {
			e.createQueue(q, nil)
		}
		c, msgs, err := e.s.Claims().Create(e.ctx, q, claimOpts(10))
		require_NoError(e.t, err, name)
		require_Equal(e.t, c, zaqar.Claim{}, name)
		require_Len(e.t, msgs, 0, name)
	}
}

func testClaimGet(e *env) {
	q := e.q("q")
	m := e.postN(q, 4)
	c, _ := e.claim(q, 3)

	got, msgs := e.getClaim(q, c.ID)
	require_Equal(e.t, got.ID, c.ID, "id")
	require_Equal(e.t, got.TTL, c.TTL, "ttl")
	require_True(e.t, got.Age >= 0 && got.Age < time.Minute, "age ", got.Age)
	require_Slice(e.t, ids(msgs), m[:3], "messages")
	for _, msg := range msgs {
		require_Equal(e.t, msg.ClaimID, c.ID, "claim id of message")
	}

	// Only live messages: a deleted one leaves the claim.
	require_NoError(e.t, e.s.Messages().Delete(e.ctx, q, m[1], c.ID))
	_, msgs = e.getClaim(q, c.ID)
	require_Slice(e.t, ids(msgs), []string{m[0], m[2]}, "messages after deleting one")

	e.post(e.q("other"), newMsg(`1`))
	cOther, _ := e.claim(e.q("other"), 1)
	for _, id := range append(slices.Clone(bogusIDs), cOther.ID) {
		_, _, err := e.s.Claims().Get(e.ctx, q, id)
		require_Error(e.t, err, storage.ErrClaimNotFound)
	}
	_, _, err := e.s.Claims().Get(e.ctx, e.q("missing"), c.ID)
	require_Error(e.t, err, storage.ErrClaimNotFound)
}

// Every claim counts, whether or not dead-lettering is on.
func testClaimCount(e *env) {
	q := e.q("q")
	id := e.postN(q, 1)[0]
	for n := 1; n <= 3; n++ {
		c, msgs := e.claim(q, 1)
		require_Len(e.t, msgs, 1)
		require_Equal(e.t, msgs[0].ClaimCount, n, "claim count in claim")
		m, err := e.s.Messages().Get(e.ctx, q, id)
		require_NoError(e.t, err)
		require_Equal(e.t, m.ClaimCount, n, "claim count in get")
		require_NoError(e.t, e.s.Claims().Delete(e.ctx, q, c.ID))
	}
	m, err := e.s.Messages().Get(e.ctx, q, id)
	require_NoError(e.t, err)
	require_Equal(e.t, m.ClaimCount, 3, "claim count after release")
}

// A message that would die before its claim ends lives until the claim's
// end plus grace, and its TTL reads ttl+grace (zaqar-semantics 4).
func testClaimGrace(e *env) {
	q := e.q("q")
	short := e.post(q, zaqar.NewMessage{Body: json.RawMessage(`1`), TTL: 10 * time.Second})[0]
	longer := e.post(q, newMsg(`2`))[0]

	c, msgs, err := e.s.Claims().Create(e.ctx, q, storage.ClaimOptions{TTL: 30 * time.Second, Grace: 20 * time.Second, Limit: 10})
	require_NoError(e.t, err)
	require_Slice(e.t, ids(msgs), []string{short, longer})
	require_Equal(e.t, msgs[0].TTL, 50*time.Second, "ttl of short message in claim")
	require_Equal(e.t, msgs[1].TTL, long, "ttl of long message in claim")

	m, err := e.s.Messages().Get(e.ctx, q, short)
	require_NoError(e.t, err)
	require_Equal(e.t, m.TTL, 50*time.Second, "ttl of short message")
	m, err = e.s.Messages().Get(e.ctx, q, longer)
	require_NoError(e.t, err)
	require_Equal(e.t, m.TTL, long, "ttl of long message")
	_, msgs = e.getClaim(q, c.ID)
	require_Equal(e.t, msgs[0].TTL, 50*time.Second, "ttl of short message in claim get")
}

// Update renews the claim from now and extends its messages as Create does.
func testClaimUpdate(e *env) {
	q := e.q("q")
	id := e.post(q, zaqar.NewMessage{Body: json.RawMessage(`1`), TTL: 40 * time.Second})[0]
	c, msgs, err := e.s.Claims().Create(e.ctx, q, storage.ClaimOptions{TTL: 10 * time.Second, Limit: 10})
	require_NoError(e.t, err)
	require_Len(e.t, msgs, 1)
	require_Equal(e.t, msgs[0].TTL, 40*time.Second, "ttl not extended by a shorter claim")

	require_NoError(e.t, e.s.Claims().Update(e.ctx, q, c.ID, 100*time.Second, 10*time.Second))
	got, msgs := e.getClaim(q, c.ID)
	require_Equal(e.t, got.TTL, 100*time.Second, "ttl after update")
	require_Len(e.t, msgs, 1)
	require_Equal(e.t, msgs[0].ClaimID, c.ID)
	m, err := e.s.Messages().Get(e.ctx, q, id)
	require_NoError(e.t, err)
	require_Equal(e.t, m.TTL, 110*time.Second, "message ttl extended by update")
	require_Equal(e.t, m.ClaimCount, 1, "update does not count as a claim")

	for _, bogus := range bogusIDs {
		err := e.s.Claims().Update(e.ctx, q, bogus, time.Minute, time.Minute)
		require_Error(e.t, err, storage.ErrClaimNotFound)
	}
	err = e.s.Claims().Update(e.ctx, e.q("missing"), c.ID, time.Minute, time.Minute)
	require_Error(e.t, err, storage.ErrClaimNotFound)

	require_NoError(e.t, e.s.Claims().Delete(e.ctx, q, c.ID))
	err = e.s.Claims().Update(e.ctx, q, c.ID, time.Minute, time.Minute)
	require_Error(e.t, err, storage.ErrClaimNotFound)
	m, err = e.s.Messages().Get(e.ctx, q, id)
	require_NoError(e.t, err)
	require_Equal(e.t, m.ClaimID, "", "update of a released claim claims nothing")
}

// Releasing a claim makes its messages claimable at once.
func testClaimRelease(e *env) {
	q := e.q("q")
	m := e.postN(q, 3)
	c, _ := e.claim(q, 2)
	require_NoError(e.t, e.s.Claims().Delete(e.ctx, q, c.ID))

	_, _, err := e.s.Claims().Get(e.ctx, q, c.ID)
	require_Error(e.t, err, storage.ErrClaimNotFound)
	for _, id := range m[:2] {
		msg, err := e.s.Messages().Get(e.ctx, q, id)
		require_NoError(e.t, err)
		require_Equal(e.t, msg.ClaimID, "", "claim id after release")
	}
	require_Slice(e.t, ids(e.listAll(q, storage.MessageListOptions{Echo: true})), m, "listed after release")
	require_Equal(e.t, e.stats(q).Claimed, 0, "claimed after release")

	c2, msgs := e.claim(q, 10)
	require_True(e.t, c2.ID != c.ID, "claim ids are not reused")
	require_Slice(e.t, ids(msgs), m, "claimable after release")
	require_Slice(e.t, []int{msgs[0].ClaimCount, msgs[2].ClaimCount}, []int{2, 1}, "claim counts")

	require_NoError(e.t, e.s.Claims().Delete(e.ctx, q, c.ID), "release twice")
	for _, bogus := range bogusIDs {
		require_NoError(e.t, e.s.Claims().Delete(e.ctx, q, bogus), "release unknown ", strconv.Quote(bogus))
	}
	require_NoError(e.t, e.s.Claims().Delete(e.ctx, e.q("missing"), c2.ID), "release in missing queue")
	_, msgs = e.getClaim(q, c2.ID)
	require_Len(e.t, msgs, 3, "other claims are untouched")
}

func testClaimTTL(e *env) {
	q := e.q("q")
	m := e.postN(q, 2)
	c, msgs, err := e.s.Claims().Create(e.ctx, q, storage.ClaimOptions{TTL: time.Second, Grace: time.Second, Limit: 10})
	require_NoError(e.t, err)
	require_Len(e.t, msgs, 2)

	waitFor(e.t, "claim to expire", func() bool {
		_, _, err := e.s.Claims().Get(e.ctx, q, c.ID)
		if err != nil {
			require_Error(e.t, err, storage.ErrClaimNotFound)
		}
		return err != nil
	})
	msg, err := e.s.Messages().Get(e.ctx, q, m[0])
	require_NoError(e.t, err)
	require_Equal(e.t, msg.ClaimID, "", "claim id after the claim expired")
	st := e.stats(q)
	require_Equal(e.t, st.Claimed, 0, "claimed")
	require_Equal(e.t, st.Free, 2, "free")
	require_Error(e.t, e.s.Claims().Update(e.ctx, q, c.ID, time.Minute, time.Minute), storage.ErrClaimNotFound)
	require_Error(e.t, e.s.Messages().Delete(e.ctx, q, m[0], c.ID), storage.ErrClaimNotFound, storage.ErrMessageNotClaimed)
	require_Slice(e.t, ids(e.listAll(q, storage.MessageListOptions{Echo: true})), m, "listed after expiry")

	c2, msgs := e.claim(q, 10)
	require_Slice(e.t, ids(msgs), m, "claimable again")
	require_Equal(e.t, msgs[0].ClaimID, c2.ID)
	require_Equal(e.t, msgs[0].ClaimCount, 2, "claim count")
}

func testClaimUpdateRestartsTTL(e *env) {
	q := e.q("q")
	e.postN(q, 1)
	c, _ := e.claim(q, 1)
	require_NoError(e.t, e.s.Claims().Update(e.ctx, q, c.ID, time.Second, 0))
	waitFor(e.t, "shortened claim to expire", func() bool {
		_, msgs := e.claim(q, 1)
		return len(msgs) == 1
	})
}

// Grace keeps a claimed message alive after both its own TTL and its claim
// have run out: it lives until the claim's end plus grace.
func testClaimGraceKeepsMessage(e *env) {
	const ttl = 2 * time.Second
	var (
		q  zaqar.QueueRef
		id string
		c  zaqar.Claim
	)
	// The claim must come before the message expires; a machine too slow for
	// that gets another try rather than a failure.
	for try := 0; ; try++ {
		q = e.q("q" + strconv.Itoa(try))
		start := time.Now()
		id = e.post(q, zaqar.NewMessage{Body: json.RawMessage(`1`), TTL: ttl})[0]
		var msgs []zaqar.Message
		var err error
		c, msgs, err = e.s.Claims().Create(e.ctx, q, storage.ClaimOptions{TTL: ttl, Grace: long, Limit: 1})
		require_NoError(e.t, err)
		if len(msgs) == 0 && time.Since(start) >= ttl && try < 3 {
			continue
		}
		require_Slice(e.t, ids(msgs), []string{id}, "claim")
		break
	}
	waitFor(e.t, "claim to expire", func() bool {
		_, _, err := e.s.Claims().Get(e.ctx, q, c.ID)
		return err != nil
	})
	m, err := e.s.Messages().Get(e.ctx, q, id)
	require_NoError(e.t, err, "message expired with its claim, before the grace")
	require_Equal(e.t, m.TTL, ttl+long, "ttl")
	require_Equal(e.t, m.ClaimID, "", "claim id")
}

// A work queue keeps its claimed messages at the head, and a driver may
// remember where they end (Redis does). A delayed message among them is not
// held: it becomes claimable when its delay ends, ahead of later messages.
func testClaimAfterHeldHead(e *env) {
	const delay = 2 * time.Second
	// Both claims must come before the delay ends; a machine too slow for
	// that (FerretDB on a busy CI runner) gets another try, not a failure.
	for try := 0; ; try++ {
		q := e.q("q" + strconv.Itoa(try))
		head := e.postN(q, 2)
		posted := time.Now()
		delayed := e.post(q, zaqar.NewMessage{Body: json.RawMessage(`"delayed"`), TTL: long, Delay: delay})[0]
		tail := e.postN(q, 2)

		_, first := e.claim(q, 2)
		_, second := e.claim(q, 10)
		if time.Since(posted) >= delay && try < 3 {
			continue
		}
		require_Slice(e.t, ids(first), head, "first claim")
		require_Slice(e.t, ids(second), tail, "second claim skips the delayed message")
		waitFor(e.t, "the delayed message to be claimable", func() bool {
			_, msgs := e.claim(q, 10)
			if len(msgs) > 0 {
				require_Slice(e.t, ids(msgs), []string{delayed}, "claimed once its delay ended")
			}
			return len(msgs) > 0
		})
		return
	}
}

// Of the claims holding a queue's head, the one that ends first frees its
// messages first, whatever the order the claims were made in.
func testClaimHeadExpiresFirst(e *env) {
	const shortTTL = 2 * time.Second
	// The last claim must come before the short one ends; a machine too slow
	// for that gets another try, not a failure.
	for try := 0; ; try++ {
		q := e.q("q" + strconv.Itoa(try))
		m := e.postN(q, 4)
		_, held := e.claim(q, 1)
		made := time.Now()
		short, shortMsgs, err := e.s.Claims().Create(e.ctx, q, storage.ClaimOptions{TTL: shortTTL, Limit: 1})
		require_NoError(e.t, err)
		_, rest := e.claim(q, 10)
		if time.Since(made) >= shortTTL && try < 3 {
			continue
		}
		require_Slice(e.t, ids(held), m[:1], "long claim")
		require_Slice(e.t, ids(shortMsgs), m[1:2], "short claim")
		require_Slice(e.t, ids(rest), m[2:], "long claim after it")

		waitFor(e.t, "the short claim's message to be claimable", func() bool {
			_, msgs := e.claim(q, 10)
			if len(msgs) > 0 {
				require_Slice(e.t, ids(msgs), m[1:2], "the short claim's message")
				require_True(e.t, msgs[0].ClaimID != short.ID, "under a new claim")
			}
			return len(msgs) > 0
		})
		return
	}
}
