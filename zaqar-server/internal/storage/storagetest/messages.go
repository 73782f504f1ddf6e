package storagetest

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func messageCases() []testCase {
	return []testCase{
		{name: "MessagePost", fn: testMessagePost},
		{name: "MessagePostOrder", fn: testMessagePostOrder},
		{name: "MessagePostCreatesQueue", fn: testMessagePostCreatesQueue},
		{name: "MessageBodies", fn: testMessageBodies},
		{name: "MessageListPaging", fn: testMessageListPaging},
		{name: "MessageListMarker", fn: testMessageListMarker},
		{name: "MessageListEcho", fn: testMessageListEcho},
		{name: "MessageListIncludeClaimed", fn: testMessageListIncludeClaimed},
		{name: "MessageDelayed", fn: testMessageDelayed},
		{name: "MessageGet", fn: testMessageGet},
		{name: "MessageGetMany", fn: testMessageGetMany},
		{name: "MessageDelete", fn: testMessageDelete},
		{name: "MessageDeleteMany", fn: testMessageDeleteMany},
		{name: "MessageDeleteManyClaims", fn: testMessageDeleteManyClaims},
		{name: "MessagePop", fn: testMessagePop},
		{name: "MessagePopDelayed", fn: testMessagePopDelayed},
		{name: "MessageStats", fn: testMessageStats},
		{name: "MessageTTL", fn: testMessageTTL, waits: true},
		{name: "MessageDelayElapses", fn: testMessageDelayElapses, waits: true},
	}
}

const (
	producer = "4a6d6c8e-0b7c-4d0e-9a51-6e1f1b0c2a01"
	reader   = "7f3e9d2c-5b1a-4c8d-8e6f-0a9b8c7d6e02"
)

func testMessagePost(e *env) {
	q := e.q("q")
	in := []zaqar.NewMessage{
		{Body: json.RawMessage(`{"a":1}`), TTL: long, ClientID: producer, Checksum: "MD5:0cc175b9c0f1b6a831c399e269772661"},
		{Body: json.RawMessage(`[2]`), TTL: 2 * long, ClientID: reader},
		{Body: json.RawMessage(`"three"`), TTL: 3 * long},
	}
	msgIDs := e.post(q, in...)
	seen := map[string]bool{}
	for i, id := range msgIDs {
		require_True(e.t, id != "", "id is empty")
		require_True(e.t, !seen[id], "id "+id+" returned twice")
		seen[id] = true

		m, err := e.s.Messages().Get(e.ctx, q, id)
		require_NoError(e.t, err)
		require_Equal(e.t, m.ID, id, "id")
		require_Equal(e.t, string(m.Body), string(in[i].Body), "body")
		require_Equal(e.t, m.TTL, in[i].TTL, "ttl")
		require_Equal(e.t, m.ClientID, in[i].ClientID, "client id")
		require_Equal(e.t, m.Checksum, in[i].Checksum, "checksum")
		require_Equal(e.t, m.ClaimID, "", "claim id")
		require_Equal(e.t, m.ClaimCount, 0, "claim count")
		require_True(e.t, !m.Created.IsZero(), "created is set")
		require_True(e.t, m.Age >= 0 && m.Age < long, "age ", m.Age)
	}
}

// A batch keeps its order and lands after every message already there.
func testMessagePostOrder(e *env) {
	q := e.q("q")
	var want []string
	for _, n := range []int{1, 3, 1, 5, 2} {
		var batch []zaqar.NewMessage
		for i := range n {
			batch = append(batch, newMsg(strconv.Itoa(len(want)+i)))
		}
		want = append(want, e.post(q, batch...)...)
	}
	got := e.listAll(q, allOpts)
	require_Slice(e.t, ids(got), want, "queue order")
	for i, m := range got {
		require_Equal(e.t, string(m.Body), strconv.Itoa(i), "body of message ", i)
	}
}

func testMessagePostCreatesQueue(e *env) {
	q := e.q("lazy")
	e.post(q, newMsg(`1`))
	meta, err := e.s.Queues().Get(e.ctx, q)
	require_NoError(e.t, err, "queue created by post")
	require_True(e.t, meta != nil && len(meta) == 0, "metadata of a queue created by post is empty, got ", meta)

	q2 := e.q("existing")
	e.createQueue(q2, zaqar.Metadata{"k": "v"})
	e.post(q2, newMsg(`1`))
	meta, err = e.s.Queues().Get(e.ctx, q2)
	require_NoError(e.t, err)
	require_DeepEqual(e.t, meta, zaqar.Metadata{"k": "v"}, "post leaves metadata alone")
}

// Bodies are opaque bytes: they come back exactly as posted, whatever path
// reads them. A driver that re-encodes changes escapes (e.g. Go's "<" ->
// "\u003c") or number precision.
var everyBody = []string{
	`{"b":1,"a":[true,false,null],"c":{"d":"e"}}`,
	`[1,"two",3.5,{"x":null},[]]`,
	`"h\u00e9llo w\u00f6rld \u2603 日本語 😀 \ud83d\ude00"`,
	`"<script>&amp;</script>"`,
	`9007199254740993`,
	`-1.5e-7`,
	`0`,
	`true`,
	`false`,
	`null`,
	`""`,
	`{}`,
	`[]`,
}

func testMessageBodies(e *env) {
	q := e.q("q")
	var in []zaqar.NewMessage
	for _, b := range everyBody {
		in = append(in, newMsg(b))
	}
	msgIDs := e.post(q, in...)
	check := func(path string, msgs []zaqar.Message) {
		e.t.Helper()
		require_Slice(e.t, bodies(msgs), everyBody, path)
	}

	var got []zaqar.Message
	for _, id := range msgIDs {
		m, err := e.s.Messages().Get(e.ctx, q, id)
		require_NoError(e.t, err)
		got = append(got, m)
	}
	check("Get", got)
	many, err := e.s.Messages().GetMany(e.ctx, q, msgIDs)
	require_NoError(e.t, err)
	check("GetMany", many)
	check("List", e.listAll(q, allOpts))

	c, claimed := e.claim(q, len(everyBody))
	check("claim Create", claimed)
	_, claimed, err = e.s.Claims().Get(e.ctx, q, c.ID)
	require_NoError(e.t, err)
	check("claim Get", claimed)
	require_NoError(e.t, e.s.Claims().Delete(e.ctx, q, c.ID))

	popped, err := e.s.Messages().Pop(e.ctx, q, len(everyBody))
	require_NoError(e.t, err)
	check("Pop", popped)
}

// Paging by Marker never skips or repeats, whatever the page size.
func testMessageListPaging(e *env) {
	q := e.q("q")
	var want []string
	for len(want) < 23 {
		want = append(want, e.post(q, newMsg(`1`), newMsg(`2`), newMsg(`3`))...)
	}
	for _, limit := range []int{1, 2, 5, 7, 23, 100} {
		opts := allOpts
		opts.Limit = limit
		require_Slice(e.t, ids(e.listAll(q, opts)), want, "paging by ", limit)

		// Nothing filters this listing, so every page but the last is full.
		page, err := e.s.Messages().List(e.ctx, q, opts)
		require_NoError(e.t, err)
		require_Len(e.t, page, min(limit, len(want)), "first page with limit ", limit)
	}
	// The default filters (no echo, no claimed, no delayed) hide nothing here.
	require_Slice(e.t, ids(e.listAll(q, storage.MessageListOptions{ClientID: reader})), want, "default options")
}

func testMessageListMarker(e *env) {
	q := e.q("q")
	want := e.postN(q, 6)
	all := e.listAll(q, allOpts)
	for i, m := range all {
		opts := allOpts
		opts.Marker = m.Marker
		opts.Limit = 100
		page, err := e.s.Messages().List(e.ctx, q, opts)
		require_NoError(e.t, err)
		require_Slice(e.t, ids(page), want[i+1:], "after the marker of message ", i)
	}

	// A marker still works after its message is gone.
	require_NoError(e.t, e.s.Messages().Delete(e.ctx, q, want[2], ""))
	opts := allOpts
	opts.Marker = all[2].Marker
	opts.Limit = 100
	page, err := e.s.Messages().List(e.ctx, q, opts)
	require_NoError(e.t, err)
	require_Slice(e.t, ids(page), want[3:], "after the marker of a deleted message")

	for _, bad := range []string{"%%%not a marker%%%", "-", "\x00", "{}"} {
		opts.Marker = bad
		page, err := e.s.Messages().List(e.ctx, q, opts)
		require_NoError(e.t, err, "malformed marker ", strconv.Quote(bad))
		require_Len(e.t, page, 0, "page after malformed marker ", strconv.Quote(bad))
	}

	page, err = e.s.Messages().List(e.ctx, e.q("missing"), storage.MessageListOptions{Limit: 10, Echo: true})
	require_NoError(e.t, err, "list of a missing queue")
	require_Len(e.t, page, 0, "list of a missing queue")
}

// With Echo false a reader does not see its own messages; claims, Get and
// Pop ignore echo.
func testMessageListEcho(e *env) {
	q := e.q("q")
	var mine, theirs []string
	for i := range 3 {
		mine = append(mine, e.post(q, zaqar.NewMessage{Body: json.RawMessage(strconv.Itoa(i)), TTL: long, ClientID: reader})...)
		theirs = append(theirs, e.post(q, zaqar.NewMessage{Body: json.RawMessage(strconv.Itoa(i)), TTL: long, ClientID: producer})...)
	}
	all := []string{mine[0], theirs[0], mine[1], theirs[1], mine[2], theirs[2]}

	got := e.listAll(q, storage.MessageListOptions{ClientID: reader, Limit: 2})
	require_Slice(e.t, ids(got), theirs, "echo off")
	got = e.listAll(q, storage.MessageListOptions{ClientID: reader, Echo: true, Limit: 2})
	require_Slice(e.t, ids(got), all, "echo on")
	got = e.listAll(q, storage.MessageListOptions{ClientID: "0b0e9f8a-1111-4222-8333-944455556666"})
	require_Slice(e.t, ids(got), all, "another client, echo off")

	m, err := e.s.Messages().Get(e.ctx, q, mine[0])
	require_NoError(e.t, err)
	require_Equal(e.t, m.ClientID, reader, "client id")
	_, claimed := e.claim(q, 10)
	require_Slice(e.t, ids(claimed), all, "claims ignore echo")
}

func testMessageListIncludeClaimed(e *env) {
	q := e.q("q")
	all := e.postN(q, 5)
	c, claimed := e.claim(q, 2)
	require_Slice(e.t, ids(claimed), all[:2])

	got := e.listAll(q, storage.MessageListOptions{Echo: true, Limit: 2})
	require_Slice(e.t, ids(got), all[2:], "without include_claimed")

	got = e.listAll(q, storage.MessageListOptions{Echo: true, IncludeClaimed: true, Limit: 2})
	require_Slice(e.t, ids(got), all, "with include_claimed")
	for i, m := range got {
		want := ""
		if i < 2 {
			want = c.ID
		}
		require_Equal(e.t, m.ClaimID, want, "claim id of listed message ", i)
	}
}

// A message posted with a delay is hidden from listings (unless asked for)
// and from claims until the delay passes, but Get, GetMany, Pop and Stats see
// it. The service passes Delay only for delayed queues, so the store obeys it
// whenever it is set.
func testMessageDelayed(e *env) {
	q := e.q("q")
	now := e.post(q, newMsg(`"now"`))[0]
	later := e.post(q, zaqar.NewMessage{Body: json.RawMessage(`"later"`), TTL: long, Delay: long})[0]
	after := e.post(q, newMsg(`"after"`))[0]

	require_Slice(e.t, ids(e.listAll(q, storage.MessageListOptions{Echo: true})), []string{now, after}, "without include_delayed")
	require_Slice(e.t, ids(e.listAll(q, storage.MessageListOptions{Echo: true, IncludeDelayed: true})), []string{now, later, after}, "with include_delayed")

	st := e.stats(q)
	require_Equal(e.t, st.Total, 3, "total")
	require_Equal(e.t, st.Free, 3, "free (delayed counts as free)")
	require_Equal(e.t, st.Claimed, 0, "claimed")

	m, err := e.s.Messages().Get(e.ctx, q, later)
	require_NoError(e.t, err, "get delayed message")
	require_Equal(e.t, string(m.Body), `"later"`)
	many, err := e.s.Messages().GetMany(e.ctx, q, []string{later})
	require_NoError(e.t, err)
	require_Slice(e.t, ids(many), []string{later}, "get-many of delayed message")

	_, claimed := e.claim(q, 10)
	require_Slice(e.t, ids(claimed), []string{now, after}, "claim skips the delayed message")
	_, claimed = e.claim(q, 10)
	require_Len(e.t, claimed, 0, "second claim")
	st = e.stats(q)
	require_Equal(e.t, st.Claimed, 2, "claimed")
	require_Equal(e.t, st.Free, 1, "free")
}

func testMessageGet(e *env) {
	q := e.q("q")
	msgIDs := e.postN(q, 2)
	other := e.post(e.q("other"), newMsg(`1`))[0]
	for _, id := range append(slices.Clone(bogusIDs), other) {
		_, err := e.s.Messages().Get(e.ctx, q, id)
		require_Error(e.t, err, storage.ErrMessageNotFound)
	}
	_, err := e.s.Messages().Get(e.ctx, e.q("missing"), msgIDs[0])
	require_Error(e.t, err, storage.ErrMessageNotFound)

	c, _ := e.claim(q, 1)
	m, err := e.s.Messages().Get(e.ctx, q, msgIDs[0])
	require_NoError(e.t, err, "get claimed message")
	require_Equal(e.t, m.ClaimID, c.ID, "claim id")
	require_Equal(e.t, m.ClaimCount, 1, "claim count")
	m, err = e.s.Messages().Get(e.ctx, q, msgIDs[1])
	require_NoError(e.t, err)
	require_Equal(e.t, m.ClaimID, "", "claim id of unclaimed message")
}

func testMessageGetMany(e *env) {
	q := e.q("q")
	msgIDs := e.postN(q, 5)
	other := e.post(e.q("other"), newMsg(`1`))[0]
	c, _ := e.claim(q, 1)

	ask := []string{msgIDs[3], "not-an-id", msgIDs[0], other, "", msgIDs[4], bogusIDs[4], bogusIDs[5]}
	got, err := e.s.Messages().GetMany(e.ctx, q, ask)
	require_NoError(e.t, err)
	require_Slice(e.t, ids(got), []string{msgIDs[0], msgIDs[3], msgIDs[4]}, "queue order, unknown skipped")
	require_Equal(e.t, got[0].ClaimID, c.ID, "claim id of claimed message")
	require_Equal(e.t, string(got[1].Body), `{"n":3}`, "body")

	got, err = e.s.Messages().GetMany(e.ctx, q, bogusIDs)
	require_NoError(e.t, err)
	require_Len(e.t, got, 0, "only bogus ids")
	got, err = e.s.Messages().GetMany(e.ctx, q, nil)
	require_NoError(e.t, err)
	require_Len(e.t, got, 0, "no ids")
	got, err = e.s.Messages().GetMany(e.ctx, e.q("missing"), msgIDs)
	require_NoError(e.t, err)
	require_Len(e.t, got, 0, "missing queue")
}

// Every rule of MessageStore.Delete (zaqar-api 5.5).
func testMessageDelete(e *env) {
	q := e.q("q")
	m := e.postN(q, 6)
	c1, got := e.claim(q, 2)
	require_Slice(e.t, ids(got), m[:2])
	c2, got := e.claim(q, 2)
	require_Slice(e.t, ids(got), m[2:4])
	e.post(e.q("other"), newMsg(`1`))
	cOther, _ := e.claim(e.q("other"), 1)
	require_True(e.t, cOther.ID != "", "claim on other queue")

	del := func(id, claimID string) error { return e.s.Messages().Delete(e.ctx, q, id, claimID) }
	still := func(id string) {
		e.t.Helper()
		require_True(e.t, e.exists(q, id), "message deleted by a failed delete")
	}

	require_Error(e.t, del(m[0], ""), storage.ErrMessageClaimed)
	still(m[0])
	require_Error(e.t, del(m[4], c1.ID), storage.ErrMessageNotClaimed)
	still(m[4])
	require_Error(e.t, del(m[0], c2.ID), storage.ErrMessageClaimed)
	still(m[0])
	for _, bogus := range append(slices.Clone(bogusIDs[1:]), cOther.ID) {
		require_Error(e.t, del(m[0], bogus), storage.ErrClaimNotFound)
		still(m[0])
		// An unclaimed message with a dead claim id fits two rules; either
		// answer is a 400 (zaqar-api 5.5).
		require_Error(e.t, del(m[4], bogus), storage.ErrClaimNotFound, storage.ErrMessageNotClaimed)
		still(m[4])
	}

	require_NoError(e.t, del(m[0], c1.ID), "delete with its claim")
	require_True(e.t, !e.exists(q, m[0]), "deleted message still there")
	_, left, err := e.s.Claims().Get(e.ctx, q, c1.ID)
	require_NoError(e.t, err)
	require_Slice(e.t, ids(left), m[1:2], "claim keeps its other message")

	require_NoError(e.t, del(m[4], ""), "delete unclaimed message")
	require_True(e.t, !e.exists(q, m[4]), "deleted message still there")

	// Missing messages are not an error, with or without a claim.
	require_NoError(e.t, del(m[0], ""), "delete again")
	require_NoError(e.t, del(m[0], c1.ID), "delete again with claim")
	for _, bogus := range bogusIDs {
		require_NoError(e.t, del(bogus, ""), "delete unknown id ", strconv.Quote(bogus))
	}
	require_NoError(e.t, e.s.Messages().Delete(e.ctx, e.q("missing"), m[1], ""), "delete in missing queue")

	// A released claim is no longer live.
	require_NoError(e.t, e.s.Claims().Delete(e.ctx, q, c2.ID))
	require_Error(e.t, del(m[2], c2.ID), storage.ErrClaimNotFound, storage.ErrMessageNotClaimed)
	still(m[2])
	require_NoError(e.t, del(m[2], ""), "delete released message")
	require_True(e.t, !e.exists(q, m[2]), "deleted message still there")

	// A message re-claimed by c3 is claimed by another claim for c1.
	c3, got := e.claim(q, 1)
	require_Slice(e.t, ids(got), m[3:4])
	require_Error(e.t, del(m[3], c1.ID), storage.ErrMessageClaimed)
	require_NoError(e.t, del(m[3], c3.ID))
	require_True(e.t, !e.exists(q, m[3]), "deleted message still there")
}

// Without claim ids DeleteMany ignores claims, as the default
// message_delete_with_claim_id=false does.
func testMessageDeleteMany(e *env) {
	q := e.q("q")
	m := e.postN(q, 5)
	c, _ := e.claim(q, 2)

	err := e.s.Messages().DeleteMany(e.ctx, q, []string{m[0], m[2], "not-an-id", bogusIDs[4]}, nil)
	require_NoError(e.t, err)
	require_Slice(e.t, ids(e.listAll(q, allOpts)), []string{m[1], m[3], m[4]}, "left after delete-many")
	_, left, err := e.s.Claims().Get(e.ctx, q, c.ID)
	require_NoError(e.t, err)
	require_Slice(e.t, ids(left), m[1:2], "claim keeps its other message")
	st := e.stats(q)
	require_Equal(e.t, st.Claimed, 1, "claimed")
	require_Equal(e.t, st.Total, 3, "total")

	require_NoError(e.t, e.s.Messages().DeleteMany(e.ctx, q, m, nil), "delete all, some missing")
	require_Len(e.t, e.listAll(q, allOpts), 0, "left after deleting all")
	require_NoError(e.t, e.s.Messages().DeleteMany(e.ctx, e.q("missing"), m, nil), "missing queue")
	require_NoError(e.t, e.s.Messages().DeleteMany(e.ctx, q, nil, nil), "no ids")
}

// With claim ids every existing message must be under one of them, else
// nothing is deleted.
func testMessageDeleteManyClaims(e *env) {
	q := e.q("q")
	m := e.postN(q, 6)
	c1, _ := e.claim(q, 2) // m0, m1
	c2, _ := e.claim(q, 2) // m2, m3; m4, m5 stay free
	dm := func(msgIDs []string, claimIDs ...string) error {
		return e.s.Messages().DeleteMany(e.ctx, q, msgIDs, claimIDs)
	}
	all := func(what string) {
		e.t.Helper()
		require_Len(e.t, e.listAll(q, allOpts), len(m), what+": nothing may be deleted")
	}

	require_Error(e.t, dm([]string{m[0], m[4]}, c1.ID), storage.ErrMessageClaimed)
	all("one message unclaimed")
	require_Error(e.t, dm([]string{m[0], m[2]}, c1.ID), storage.ErrMessageClaimed)
	all("one message under another claim")
	require_Error(e.t, dm([]string{m[0]}, "not-a-claim"), storage.ErrMessageClaimed)
	all("unknown claim")

	require_NoError(e.t, dm([]string{m[0], m[2], bogusIDs[4]}, c1.ID, c2.ID), "messages under the listed claims")
	require_Slice(e.t, ids(e.listAll(q, allOpts)), []string{m[1], m[3], m[4], m[5]})
	require_NoError(e.t, dm([]string{m[1], "not-an-id"}, c1.ID))
	require_Slice(e.t, ids(e.listAll(q, allOpts)), []string{m[3], m[4], m[5]})

	require_NoError(e.t, e.s.Claims().Delete(e.ctx, q, c2.ID))
	require_Error(e.t, dm([]string{m[3]}, c2.ID), storage.ErrMessageClaimed)
	require_True(e.t, e.exists(q, m[3]), "message of a released claim deleted")
}

// Pop takes the oldest unclaimed messages, never claimed ones.
func testMessagePop(e *env) {
	q := e.q("q")
	m := e.postN(q, 6)
	_, claimed := e.claim(q, 2)
	require_Slice(e.t, ids(claimed), m[:2])

	popped, err := e.s.Messages().Pop(e.ctx, q, 2)
	require_NoError(e.t, err)
	require_Slice(e.t, ids(popped), m[2:4], "first pop")
	require_Slice(e.t, bodies(popped), []string{`{"n":2}`, `{"n":3}`}, "bodies")
	for _, p := range popped {
		require_Equal(e.t, p.ClaimID, "", "claim id of popped message")
		require_True(e.t, !e.exists(q, p.ID), "popped message still there")
	}

	popped, err = e.s.Messages().Pop(e.ctx, q, 10)
	require_NoError(e.t, err)
	require_Slice(e.t, ids(popped), m[4:], "second pop")
	popped, err = e.s.Messages().Pop(e.ctx, q, 10)
	require_NoError(e.t, err)
	require_Len(e.t, popped, 0, "pop leaves claimed messages")
	require_Slice(e.t, ids(e.listAll(q, allOpts)), m[:2], "left after pop")

	popped, err = e.s.Messages().Pop(e.ctx, e.q("missing"), 10)
	require_NoError(e.t, err, "pop missing queue")
	require_Len(e.t, popped, 0, "pop missing queue")
}

// Pop does not skip delayed messages, as in Zaqar.
func testMessagePopDelayed(e *env) {
	q := e.q("q")
	delayed := e.post(q, zaqar.NewMessage{Body: json.RawMessage(`"d"`), TTL: long, Delay: long})[0]
	plain := e.post(q, newMsg(`"p"`))[0]
	popped, err := e.s.Messages().Pop(e.ctx, q, 10)
	require_NoError(e.t, err)
	require_Slice(e.t, ids(popped), []string{delayed, plain})
	require_Slice(e.t, bodies(popped), []string{`"d"`, `"p"`})
}

func testMessageStats(e *env) {
	require_DeepEqual(e.t, e.stats(e.q("missing")), zaqar.Stats{}, "missing queue")
	q := e.q("q")
	e.createQueue(q, nil)
	require_DeepEqual(e.t, e.stats(q), zaqar.Stats{}, "empty queue")

	m := e.postN(q, 5)
	c, _ := e.claim(q, 2)
	st := e.stats(q)
	require_Equal(e.t, st.Claimed, 2, "claimed")
	require_Equal(e.t, st.Free, 3, "free")
	require_Equal(e.t, st.Total, 5, "total")
	require_True(e.t, st.Oldest != nil && st.Newest != nil, "oldest and newest set")
	require_Equal(e.t, st.Oldest.ID, m[0], "oldest")
	require_Equal(e.t, st.Newest.ID, m[4], "newest")
	require_True(e.t, !st.Oldest.Created.IsZero() && st.Oldest.Age >= 0, "oldest created and age")

	require_NoError(e.t, e.s.Messages().Delete(e.ctx, q, m[0], c.ID))
	require_NoError(e.t, e.s.Messages().Delete(e.ctx, q, m[4], ""))
	d := e.post(q, zaqar.NewMessage{Body: json.RawMessage(`1`), TTL: long, Delay: long})[0]
	st = e.stats(q)
	require_Equal(e.t, st.Claimed, 1, "claimed")
	require_Equal(e.t, st.Free, 3, "free, delayed included")
	require_Equal(e.t, st.Total, 4, "total")
	require_Equal(e.t, st.Oldest.ID, m[1], "oldest after delete")
	require_Equal(e.t, st.Newest.ID, d, "newest is the delayed message")

	require_NoError(e.t, e.s.Claims().Delete(e.ctx, q, c.ID))
	st = e.stats(q)
	require_Equal(e.t, st.Claimed, 0, "claimed after release")
	require_Equal(e.t, st.Free, 4, "free after release")
}

// Expired messages vanish from every read, whatever the GC does.
func testMessageTTL(e *env) {
	q := e.q("q")
	short := e.post(q, zaqar.NewMessage{Body: json.RawMessage(`"short"`), TTL: time.Second})[0]
	keep := e.post(q, newMsg(`"keep"`))[0]

	waitFor(e.t, "message "+short+" to expire", func() bool { return !e.exists(q, short) })

	require_Slice(e.t, ids(e.listAll(q, allOpts)), []string{keep}, "list")
	many, err := e.s.Messages().GetMany(e.ctx, q, []string{short, keep})
	require_NoError(e.t, err)
	require_Slice(e.t, ids(many), []string{keep}, "get-many")
	st := e.stats(q)
	require_Equal(e.t, st.Total, 1, "total")
	require_Equal(e.t, st.Free, 1, "free")
	require_True(e.t, st.Oldest != nil && st.Oldest.ID == keep && st.Newest.ID == keep, "oldest and newest are the live message")

	c, claimed := e.claim(q, 10)
	require_Slice(e.t, ids(claimed), []string{keep}, "claim")
	require_NoError(e.t, e.s.Claims().Delete(e.ctx, q, c.ID))
	require_NoError(e.t, e.s.Messages().Delete(e.ctx, q, short, ""), "delete expired message")
	popped, err := e.s.Messages().Pop(e.ctx, q, 10)
	require_NoError(e.t, err)
	require_Slice(e.t, ids(popped), []string{keep}, "pop")
}

func testMessageDelayElapses(e *env) {
	q := e.q("q")
	// MessageDelayed checks the hiding; a check here could race the delay.
	d := e.post(q, zaqar.NewMessage{Body: json.RawMessage(`"d"`), TTL: long, Delay: time.Second})[0]
	visible := storage.MessageListOptions{Echo: true, Limit: 10}
	waitFor(e.t, "delayed message to become visible", func() bool {
		page, err := e.s.Messages().List(e.ctx, q, visible)
		require_NoError(e.t, err)
		return len(page) == 1
	})
	c, claimed := e.claim(q, 10)
	require_Slice(e.t, ids(claimed), []string{d}, "claim after the delay")
	require_Equal(e.t, claimed[0].ClaimID, c.ID)
}
