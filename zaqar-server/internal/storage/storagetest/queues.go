package storagetest

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func queueCases() []testCase {
	return []testCase{
		{name: "Ping", fn: testPing},
		{name: "QueueCreate", fn: testQueueCreate},
		{name: "QueueCreateNilMetadata", fn: testQueueCreateNilMetadata},
		{name: "QueueMissing", fn: testQueueMissing},
		{name: "QueueSetMetadata", fn: testQueueSetMetadata},
		{name: "QueueMetadataTypes", fn: testQueueMetadataTypes},
		{name: "QueueMetadataByValue", fn: testQueueMetadataByValue},
		{name: "QueueDelete", fn: testQueueDelete},
		{name: "QueueList", fn: testQueueList},
		{name: "QueueListName", fn: testQueueListName},
		{name: "QueueListFilter", fn: testQueueListFilter},
		{name: "QueueListDetailed", fn: testQueueListDetailed},
		{name: "QueueCount", fn: testQueueCount},
	}
}

func testPing(e *env) {
	require_NoError(e.t, e.s.Ping(e.ctx))
}

func (e *env) createQueue(q zaqar.QueueRef, meta zaqar.Metadata) {
	e.t.Helper()
	created, err := e.s.Queues().Create(e.ctx, q, meta)
	require_NoError(e.t, err, "create queue "+q.Name)
	require_True(e.t, created, "created "+q.Name)
}

func (e *env) queueNames(opts storage.QueueListOptions) []string {
	e.t.Helper()
	qs, err := e.s.Queues().List(e.ctx, e.project, opts)
	require_NoError(e.t, err, "list queues")
	if len(qs) > opts.Limit {
		e.t.Fatalf("list queues returned %d, limit %d", len(qs), opts.Limit)
	}
	names := make([]string, 0, len(qs))
	for _, q := range qs {
		names = append(names, q.Name)
		if !opts.Detailed && q.Metadata != nil {
			e.t.Fatalf("queue %s has metadata %v in a listing that is not detailed", q.Name, q.Metadata)
		}
	}
	return names
}

// allQueueNames pages through the project's queues limit at a time.
func (e *env) allQueueNames(opts storage.QueueListOptions) []string {
	e.t.Helper()
	var all []string
	for range 1000 {
		page := e.queueNames(opts)
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		opts.Marker = page[len(page)-1]
	}
	e.t.Fatal("queue listing never ended")
	return nil
}

// A re-create reports created=false and leaves the metadata alone (PUT on an
// existing queue answers 204 and ignores its body).
func testQueueCreate(e *env) {
	q := e.q("q")
	created, err := e.s.Queues().Create(e.ctx, q, zaqar.Metadata{"a": json.Number("1")})
	require_NoError(e.t, err)
	require_True(e.t, created, "first create")

	created, err = e.s.Queues().Create(e.ctx, q, zaqar.Metadata{"b": "2"})
	require_NoError(e.t, err)
	require_True(e.t, !created, "second create reports created=false")

	meta, err := e.s.Queues().Get(e.ctx, q)
	require_NoError(e.t, err)
	require_DeepEqual(e.t, meta, zaqar.Metadata{"a": json.Number("1")}, "metadata after re-create")
}

func testQueueCreateNilMetadata(e *env) {
	q := e.q("q")
	e.createQueue(q, nil)
	meta, err := e.s.Queues().Get(e.ctx, q)
	require_NoError(e.t, err)
	require_True(e.t, meta != nil, "Get returns non-nil metadata")
	require_Equal(e.t, len(meta), 0, "metadata size")
}

func testQueueMissing(e *env) {
	q := e.q("missing")
	_, err := e.s.Queues().Get(e.ctx, q)
	require_Error(e.t, err, storage.ErrQueueNotFound)

	err = e.s.Queues().SetMetadata(e.ctx, q, zaqar.Metadata{"a": "b"})
	require_Error(e.t, err, storage.ErrQueueNotFound)
	_, err = e.s.Queues().Get(e.ctx, q)
	require_Error(e.t, err, storage.ErrQueueNotFound) // SetMetadata must not create it

	require_NoError(e.t, e.s.Queues().Delete(e.ctx, q), "delete missing queue")
	n, err := e.s.Queues().Count(e.ctx, e.project)
	require_NoError(e.t, err)
	require_Equal(e.t, n, 0, "count")
}

func testQueueSetMetadata(e *env) {
	q := e.q("q")
	e.createQueue(q, zaqar.Metadata{"a": json.Number("1"), "b": "x"})

	// Replaces, not merges: "a" and "b" go.
	want := zaqar.Metadata{"c": true, "_default_message_ttl": json.Number("60")}
	require_NoError(e.t, e.s.Queues().SetMetadata(e.ctx, q, want))
	meta, err := e.s.Queues().Get(e.ctx, q)
	require_NoError(e.t, err)
	require_DeepEqual(e.t, meta, want)

	require_NoError(e.t, e.s.Queues().SetMetadata(e.ctx, q, zaqar.Metadata{}))
	meta, err = e.s.Queues().Get(e.ctx, q)
	require_NoError(e.t, err)
	require_True(e.t, meta != nil, "Get returns non-nil metadata")
	require_Equal(e.t, len(meta), 0, "metadata size after clearing")
}

// Metadata arrives decoded with json.Number (zaqar.DecodeMetadata) and must
// come back the same: integers that float64 would round, nested documents,
// every JSON type.
func metadataOfEveryType() zaqar.Metadata {
	return zaqar.Metadata{
		"int":    json.Number("42"),
		"big":    json.Number("9007199254740993"), // 2^53+1: not a float64
		"neg":    json.Number("-7"),
		"float":  json.Number("2.5"),
		"str":    "h\u00e9llo \u2603 \U0001F600 <&>",
		"empty":  "",
		"true":   true,
		"false":  false,
		"null":   nil,
		"arr":    []any{json.Number("1"), "two", false, nil, map[string]any{"x": json.Number("3")}},
		"obj":    map[string]any{"n": json.Number("12"), "deep": map[string]any{"s": "v"}},
		"_flag":  true,
		"a.b $c": "keys with dots and dollars",
	}
}

func testQueueMetadataTypes(e *env) {
	q := e.q("q")
	e.createQueue(q, metadataOfEveryType())
	meta, err := e.s.Queues().Get(e.ctx, q)
	require_NoError(e.t, err)
	require_DeepEqual(e.t, meta, metadataOfEveryType(), "metadata after create")

	q2 := e.q("q2")
	e.createQueue(q2, nil)
	require_NoError(e.t, e.s.Queues().SetMetadata(e.ctx, q2, metadataOfEveryType()))
	meta, err = e.s.Queues().Get(e.ctx, q2)
	require_NoError(e.t, err)
	require_DeepEqual(e.t, meta, metadataOfEveryType(), "metadata after SetMetadata")

	qs, err := e.s.Queues().List(e.ctx, e.project, storage.QueueListOptions{Limit: 10, Detailed: true})
	require_NoError(e.t, err)
	require_Len(e.t, qs, 2)
	require_DeepEqual(e.t, qs[0].Metadata, metadataOfEveryType(), "detailed listing")
}

// The store keeps values, not the caller's maps: changing a map after
// handing it over or getting it back changes nothing stored.
func testQueueMetadataByValue(e *env) {
	q := e.q("q")
	in := metadataOfEveryType()
	e.createQueue(q, in)
	in["int"] = json.Number("0")
	in["obj"].(map[string]any)["n"] = json.Number("0")

	out, err := e.s.Queues().Get(e.ctx, q)
	require_NoError(e.t, err)
	out["str"] = "changed"
	out["obj"].(map[string]any)["deep"] = "changed"
	out["new"] = true

	again, err := e.s.Queues().Get(e.ctx, q)
	require_NoError(e.t, err)
	require_DeepEqual(e.t, again, metadataOfEveryType())
}

// Deleting a queue takes its messages and claims with it but not its
// subscriptions (zaqar-semantics 9), and a re-created queue starts empty.
func testQueueDelete(e *env) {
	q := e.q("q")
	e.createQueue(q, zaqar.Metadata{"a": "b"})
	msgIDs := e.postN(q, 3)
	c, _ := e.claim(q, 1)
	sub, _, err := e.s.Subscriptions().Create(e.ctx, q, zaqar.Subscription{Subscriber: "http://example.com/hook", TTL: long})
	require_NoError(e.t, err)

	require_NoError(e.t, e.s.Queues().Delete(e.ctx, q))

	_, err = e.s.Queues().Get(e.ctx, q)
	require_Error(e.t, err, storage.ErrQueueNotFound)
	for _, id := range msgIDs {
		require_True(e.t, !e.exists(q, id), "message "+id+" survives queue delete")
	}
	require_DeepEqual(e.t, e.stats(q), zaqar.Stats{}, "stats of deleted queue")
	_, _, err = e.s.Claims().Get(e.ctx, q, c.ID)
	require_Error(e.t, err, storage.ErrClaimNotFound)
	require_Len(e.t, e.queueNames(storage.QueueListOptions{Limit: 10}), 0, "queues listed")

	got, err := e.s.Subscriptions().Get(e.ctx, q, sub.ID)
	require_NoError(e.t, err, "subscription after queue delete")
	require_Equal(e.t, got.ID, sub.ID)

	require_NoError(e.t, e.s.Queues().Delete(e.ctx, q), "second delete")

	e.createQueue(q, nil)
	meta, err := e.s.Queues().Get(e.ctx, q)
	require_NoError(e.t, err)
	require_Equal(e.t, len(meta), 0, "metadata of re-created queue")
	require_Len(e.t, e.listAll(q, allOpts), 0, "messages of re-created queue")
	require_DeepEqual(e.t, e.stats(q), zaqar.Stats{}, "stats of re-created queue")
	c2, msgs := e.claim(q, 10)
	require_Equal(e.t, c2, zaqar.Claim{}, "claim on re-created queue")
	require_Len(e.t, msgs, 0)
	subs, err := e.s.Subscriptions().List(e.ctx, q, "", 10)
	require_NoError(e.t, err)
	require_Slice(e.t, subIDs(subs), []string{sub.ID}, "subscriptions of re-created queue")
}

// Names sort by bytes: digits, upper case, '-', '.', lower case, '_' in
// ASCII order; the marker is exclusive and need not name a queue.
func testQueueList(e *env) {
	names := []string{"b", "a", "A", "a.b", "a-b", "a_b", "ab", "z", "0", "B1", "a0", "a.b.c"}
	for i, n := range names {
		e.createQueue(e.q(n), zaqar.Metadata{"i": json.Number(strconv.Itoa(i))})
	}
	want := slices.Clone(names)
	slices.Sort(want)

	require_Slice(e.t, e.queueNames(storage.QueueListOptions{Limit: 100}), want, "one page")
	require_Slice(e.t, e.queueNames(storage.QueueListOptions{Limit: 1}), want[:1], "limit 1")
	require_Slice(e.t, e.queueNames(storage.QueueListOptions{Limit: 5}), want[:5], "limit 5")

	for _, limit := range []int{1, 3, 5} {
		require_Slice(e.t, e.allQueueNames(storage.QueueListOptions{Limit: limit}), want, "paging by ", limit)
	}
	for i, m := range want {
		got := e.queueNames(storage.QueueListOptions{Marker: m, Limit: 100})
		require_Slice(e.t, got, want[i+1:], "after marker "+m)
	}
	for _, m := range []string{"a00", "B", "", "~"} {
		var after []string
		for _, n := range want {
			if n > m {
				after = append(after, n)
			}
		}
		got := e.queueNames(storage.QueueListOptions{Marker: m, Limit: 100})
		require_Slice(e.t, got, after, "after marker "+m)
	}
}

func testQueueListName(e *env) {
	for _, n := range []string{"alpha", "beta", "alphabet", "gamma", "xalx", "al", "a-l"} {
		e.createQueue(e.q(n), nil)
	}
	opts := storage.QueueListOptions{Limit: 100, Name: "al"}
	want := []string{"al", "alpha", "alphabet", "xalx"}
	require_Slice(e.t, e.queueNames(opts), want, "name al")

	opts.Limit = 2
	require_Slice(e.t, e.queueNames(opts), want[:2], "name al, limit 2")
	require_Slice(e.t, e.allQueueNames(opts), want, "name al, paging by 2")
	opts.Marker = "alpha"
	require_Slice(e.t, e.queueNames(opts), []string{"alphabet", "xalx"}, "name al after alpha")

	require_Len(e.t, e.queueNames(storage.QueueListOptions{Limit: 100, Name: "nomatch"}), 0, "name nomatch")
	require_Slice(e.t, e.queueNames(storage.QueueListOptions{Limit: 100, Name: "alphabet"}), []string{"alphabet"}, "whole name")
}

// Filters compare as storage.MatchesFilter does: a value that parses as an
// integer matches integer metadata only, anything else a string.
func testQueueListFilter(e *env) {
	metas := map[string]zaqar.Metadata{
		"f0": {"n": json.Number("1"), "s": "x"},
		"f1": {"n": "1", "s": "x"},
		"f2": {"n": json.Number("2")},
		"f3": {"s": "y"},
		"f4": {},
		"f5": {"n": json.Number("1"), "s": "y"},
		"f6": {"n": json.Number("-3"), "s": "1"},
		"f7": {"s": "x y", "t": true},
	}
	for _, n := range slices.Sorted(maps.Keys(metas)) {
		e.createQueue(e.q(n), metas[n])
	}
	for _, tc := range []struct {
		filter map[string]string
		want   []string
	}{
		{map[string]string{"n": "1"}, []string{"f0", "f5"}},
		{map[string]string{"s": "x"}, []string{"f0", "f1"}},
		{map[string]string{"n": "1", "s": "y"}, []string{"f5"}},
		{map[string]string{"n": "-3"}, []string{"f6"}},
		{map[string]string{"s": "1"}, nil}, // an integer filter never matches the string "1"
		{map[string]string{"s": "x y"}, []string{"f7"}},
		{map[string]string{"missing": "x"}, nil},
		{map[string]string{"n": "2"}, []string{"f2"}},
	} {
		// Guards the table against drifting from the shared definition.
		var byFunc []string
		for _, n := range slices.Sorted(maps.Keys(metas)) {
			if storage.MatchesFilter(metas[n], tc.filter) {
				byFunc = append(byFunc, n)
			}
		}
		require_Slice(e.t, byFunc, tc.want, "storage.MatchesFilter disagrees with the suite for ", tc.filter)

		got := e.queueNames(storage.QueueListOptions{Limit: 100, Filter: tc.filter})
		require_Slice(e.t, got, tc.want, "filter ", tc.filter)
		// Filtering comes before the limit: a page of one holds the next
		// match, not the next queue.
		got = e.allQueueNames(storage.QueueListOptions{Limit: 1, Filter: tc.filter})
		require_Slice(e.t, got, tc.want, "filter ", tc.filter, " paging by 1")

		qs, err := e.s.Queues().List(e.ctx, e.project, storage.QueueListOptions{Limit: 100, Filter: tc.filter, Detailed: true})
		require_NoError(e.t, err)
		for _, q := range qs {
			require_DeepEqual(e.t, q.Metadata, metas[q.Name], "detailed metadata of "+q.Name)
		}
	}
	got := e.queueNames(storage.QueueListOptions{Limit: 100, Name: "5", Filter: map[string]string{"n": "1"}})
	require_Slice(e.t, got, []string{"f5"}, "name and filter together")
}

func testQueueListDetailed(e *env) {
	e.createQueue(e.q("a"), zaqar.Metadata{"k": "v", "n": json.Number("3")})
	e.createQueue(e.q("b"), nil)
	qs, err := e.s.Queues().List(e.ctx, e.project, storage.QueueListOptions{Limit: 10, Detailed: true})
	require_NoError(e.t, err)
	require_Len(e.t, qs, 2)
	require_DeepEqual(e.t, qs[0].Metadata, zaqar.Metadata{"k": "v", "n": json.Number("3")}, "metadata of a")
	require_Equal(e.t, len(qs[1].Metadata), 0, "metadata of b")

	qs, err = e.s.Queues().List(e.ctx, e.project, storage.QueueListOptions{Limit: 10})
	require_NoError(e.t, err)
	require_Len(e.t, qs, 2)
	for _, q := range qs {
		require_True(e.t, q.Metadata == nil, "metadata of "+q.Name+" is nil when not detailed")
	}
}

func testQueueCount(e *env) {
	count := func() int {
		n, err := e.s.Queues().Count(e.ctx, e.project)
		require_NoError(e.t, err)
		return n
	}
	require_Equal(e.t, count(), 0, "empty project")
	for _, n := range []string{"a", "b", "c"} {
		e.createQueue(e.q(n), zaqar.Metadata{"x": n})
	}
	e.post(e.q("d"), newMsg(`1`)) // creates the queue
	require_Equal(e.t, count(), 4, "after creating 4")
	require_NoError(e.t, e.s.Queues().Delete(e.ctx, e.q("a")))
	require_Equal(e.t, count(), 3, "after deleting 1")
	require_Slice(e.t, e.queueNames(storage.QueueListOptions{Limit: 10}), []string{"b", "c", "d"}, "listed after delete")
}
