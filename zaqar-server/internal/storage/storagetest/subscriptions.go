package storagetest

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func subscriptionCases() []testCase {
	return []testCase{
		{name: "SubscriptionCreate", fn: testSubscriptionCreate},
		{name: "SubscriptionUnique", fn: testSubscriptionUnique},
		{name: "SubscriptionMissing", fn: testSubscriptionMissing},
		{name: "SubscriptionList", fn: testSubscriptionList},
		{name: "SubscriptionUpdate", fn: testSubscriptionUpdate},
		{name: "SubscriptionConfirm", fn: testSubscriptionConfirm},
		{name: "SubscriptionDelete", fn: testSubscriptionDelete},
		{name: "SubscriptionTTL", fn: testSubscriptionTTL, waits: true},
		{name: "SubscriptionUpdateRestartsTTL", fn: testSubscriptionUpdateRestartsTTL, waits: true},
	}
}

func subIDs(subs []zaqar.Subscription) []string {
	out := make([]string, 0, len(subs))
	for _, s := range subs {
		out = append(out, s.ID)
	}
	return out
}

func (e *env) subscribe(q zaqar.QueueRef, subscriber string, ttl time.Duration) zaqar.Subscription {
	e.t.Helper()
	s, created, err := e.s.Subscriptions().Create(e.ctx, q, zaqar.Subscription{Subscriber: subscriber, TTL: ttl})
	require_NoError(e.t, err, "subscribe "+subscriber)
	require_True(e.t, created, "created "+subscriber)
	return s
}

func (e *env) getSub(q zaqar.QueueRef, id string) zaqar.Subscription {
	e.t.Helper()
	s, err := e.s.Subscriptions().Get(e.ctx, q, id)
	require_NoError(e.t, err, "get subscription "+id)
	return s
}

func subOptions() map[string]any {
	return map[string]any{
		"n":             json.Number("9007199254740993"),
		"s":             "v",
		"_retry_policy": map[string]any{"retries_with_no_delay": json.Number("3"), "ignore_subscription_override": true},
		"list":          []any{"a", json.Number("1")},
	}
}

func testSubscriptionCreate(e *env) {
	q := e.q("q")
	in := zaqar.Subscription{Subscriber: "http://example.com/hook", TTL: long, Options: subOptions()}
	s, created, err := e.s.Subscriptions().Create(e.ctx, q, in)
	require_NoError(e.t, err)
	require_True(e.t, created, "created")
	require_True(e.t, s.ID != "", "id is set")
	check := func(what string, got zaqar.Subscription) {
		e.t.Helper()
		require_Equal(e.t, got.ID, s.ID, what, ": id")
		require_Equal(e.t, got.Source, q.Name, what, ": source")
		require_Equal(e.t, got.Subscriber, in.Subscriber, what, ": subscriber")
		require_Equal(e.t, got.TTL, long, what, ": ttl")
		require_True(e.t, got.Age >= 0 && got.Age < time.Minute, what, ": age ", got.Age)
		require_DeepEqual(e.t, got.Options, subOptions(), what, ": options")
		require_Equal(e.t, got.Confirmed, false, what, ": confirmed")
	}
	check("create", s)
	check("get", e.getSub(q, s.ID))

	// Options are stored by value.
	in.Options["s"] = "changed"
	got := e.getSub(q, s.ID)
	got.Options["n"] = "changed"
	check("get after changing maps", e.getSub(q, s.ID))

	confirmed, created, err := e.s.Subscriptions().Create(e.ctx, q, zaqar.Subscription{Subscriber: "mailto:a@example.com", TTL: long, Confirmed: true})
	require_NoError(e.t, err)
	require_True(e.t, created, "created")
	require_True(e.t, e.getSub(q, confirmed.ID).Confirmed, "created confirmed")
	require_True(e.t, confirmed.ID != s.ID, "distinct ids")
}

// One subscription per subscriber and queue: a second Create returns the
// first and changes nothing.
func testSubscriptionUnique(e *env) {
	q := e.q("q")
	first := e.subscribe(q, "http://example.com/hook", long)
	again, created, err := e.s.Subscriptions().Create(e.ctx, q, zaqar.Subscription{
		Subscriber: "http://example.com/hook", TTL: 2 * long, Options: map[string]any{"x": "y"}, Confirmed: true,
	})
	require_NoError(e.t, err)
	require_True(e.t, !created, "second create reports created=false")
	require_Equal(e.t, again.ID, first.ID, "returns the existing subscription")
	got := e.getSub(q, first.ID)
	require_Equal(e.t, got.TTL, long, "ttl unchanged")
	require_Equal(e.t, got.Confirmed, false, "confirmed unchanged")
	require_Equal(e.t, len(got.Options), 0, "options unchanged")

	other := e.subscribe(q, "http://example.com/other", long)
	require_True(e.t, other.ID != first.ID, "another subscriber is another subscription")
	elsewhere := e.subscribe(e.q("q2"), "http://example.com/hook", long)
	require_True(e.t, elsewhere.ID != first.ID, "the same subscriber on another queue is another subscription")
	subs, err := e.s.Subscriptions().List(e.ctx, q, "", 10)
	require_NoError(e.t, err)
	require_Len(e.t, subs, 2, "subscriptions of q")
}

func testSubscriptionMissing(e *env) {
	q := e.q("q")
	s := e.subscribe(e.q("other"), "http://example.com/hook", long)
	sub := "http://example.com/x"
	ttl := time.Minute
	for _, id := range append(slices.Clone(bogusIDs), s.ID) {
		_, err := e.s.Subscriptions().Get(e.ctx, q, id)
		require_Error(e.t, err, storage.ErrSubscriptionNotFound)
		err = e.s.Subscriptions().Update(e.ctx, q, id, storage.SubscriptionUpdate{Subscriber: &sub, TTL: &ttl})
		require_Error(e.t, err, storage.ErrSubscriptionNotFound)
		err = e.s.Subscriptions().Confirm(e.ctx, q, id, true)
		require_Error(e.t, err, storage.ErrSubscriptionNotFound)
		require_NoError(e.t, e.s.Subscriptions().Delete(e.ctx, q, id), "delete unknown ", strconv.Quote(id))
	}
	got := e.getSub(e.q("other"), s.ID)
	require_Equal(e.t, got.Subscriber, "http://example.com/hook", "subscription in another queue untouched")
	require_Equal(e.t, got.Confirmed, false, "subscription in another queue untouched")
	subs, err := e.s.Subscriptions().List(e.ctx, e.q("missing"), "", 10)
	require_NoError(e.t, err)
	require_Len(e.t, subs, 0, "list of a missing queue")
}

// Listing is by id (byte order), the marker exclusive.
func testSubscriptionList(e *env) {
	q := e.q("q")
	var want []string
	for i := range 7 {
		want = append(want, e.subscribe(q, "http://example.com/"+strconv.Itoa(i), long).ID)
	}
	e.subscribe(e.q("other"), "http://example.com/0", long)
	slices.Sort(want)

	subs, err := e.s.Subscriptions().List(e.ctx, q, "", 100)
	require_NoError(e.t, err)
	require_Slice(e.t, subIDs(subs), want, "one page")
	for _, s := range subs {
		require_Equal(e.t, s.Source, q.Name, "source")
	}
	for _, limit := range []int{1, 3} {
		var got []string
		marker := ""
		for range 100 {
			page, err := e.s.Subscriptions().List(e.ctx, q, marker, limit)
			require_NoError(e.t, err)
			if len(page) == 0 {
				break
			}
			require_True(e.t, len(page) <= limit, "page of ", len(page), " over limit ", limit)
			got = append(got, subIDs(page)...)
			marker = page[len(page)-1].ID
		}
		require_Slice(e.t, got, want, "paging by ", limit)
	}
	for i, m := range want {
		page, err := e.s.Subscriptions().List(e.ctx, q, m, 100)
		require_NoError(e.t, err)
		require_Slice(e.t, subIDs(page), want[i+1:], "after marker "+m)
	}
}

func testSubscriptionUpdate(e *env) {
	q := e.q("q")
	s := e.subscribe(q, "http://example.com/a", long)
	other := e.subscribe(q, "http://example.com/b", long)
	require_NoError(e.t, e.s.Subscriptions().Confirm(e.ctx, q, s.ID, true))

	sub := "http://example.com/c"
	require_NoError(e.t, e.s.Subscriptions().Update(e.ctx, q, s.ID, storage.SubscriptionUpdate{Subscriber: &sub}))
	got := e.getSub(q, s.ID)
	require_Equal(e.t, got.Subscriber, sub, "subscriber")
	require_Equal(e.t, got.TTL, long, "ttl unchanged")
	require_Equal(e.t, got.Confirmed, true, "confirmed unchanged")

	ttl := 2 * long
	require_NoError(e.t, e.s.Subscriptions().Update(e.ctx, q, s.ID, storage.SubscriptionUpdate{TTL: &ttl}))
	require_Equal(e.t, e.getSub(q, s.ID).TTL, ttl, "ttl")

	require_NoError(e.t, e.s.Subscriptions().Update(e.ctx, q, s.ID, storage.SubscriptionUpdate{Options: subOptions()}))
	require_DeepEqual(e.t, e.getSub(q, s.ID).Options, subOptions(), "options")
	require_NoError(e.t, e.s.Subscriptions().Update(e.ctx, q, s.ID, storage.SubscriptionUpdate{Options: map[string]any{"k": "v"}}))
	got = e.getSub(q, s.ID)
	require_DeepEqual(e.t, got.Options, map[string]any{"k": "v"}, "options are replaced, not merged")
	require_Equal(e.t, got.Subscriber, sub, "subscriber unchanged")

	// Taking another subscription's subscriber is a conflict and changes nothing.
	taken := "http://example.com/b"
	err := e.s.Subscriptions().Update(e.ctx, q, s.ID, storage.SubscriptionUpdate{Subscriber: &taken, TTL: &ttl})
	require_Error(e.t, err, storage.ErrSubscriptionExists)
	require_Equal(e.t, e.getSub(q, s.ID).Subscriber, sub, "subscriber after conflict")
	require_Equal(e.t, e.getSub(q, other.ID).Subscriber, taken, "other subscriber after conflict")

	// The old subscriber is free again, the new one taken.
	again, created, err := e.s.Subscriptions().Create(e.ctx, q, zaqar.Subscription{Subscriber: sub, TTL: long})
	require_NoError(e.t, err)
	require_True(e.t, !created && again.ID == s.ID, "create with the new subscriber returns the updated subscription")
	fresh, created, err := e.s.Subscriptions().Create(e.ctx, q, zaqar.Subscription{Subscriber: "http://example.com/a", TTL: long})
	require_NoError(e.t, err)
	require_True(e.t, created && fresh.ID != s.ID, "create with the old subscriber makes a new subscription")
}

func testSubscriptionConfirm(e *env) {
	q := e.q("q")
	s := e.subscribe(q, "http://example.com/a", long)
	for _, c := range []bool{true, true, false, true} {
		require_NoError(e.t, e.s.Subscriptions().Confirm(e.ctx, q, s.ID, c))
		require_Equal(e.t, e.getSub(q, s.ID).Confirmed, c, "confirmed")
	}
	got := e.getSub(q, s.ID)
	require_Equal(e.t, got.Subscriber, "http://example.com/a", "subscriber unchanged")
	require_Equal(e.t, got.TTL, long, "ttl unchanged")
}

func testSubscriptionDelete(e *env) {
	q := e.q("q")
	s := e.subscribe(q, "http://example.com/a", long)
	keep := e.subscribe(q, "http://example.com/b", long)
	require_NoError(e.t, e.s.Subscriptions().Delete(e.ctx, q, s.ID))
	_, err := e.s.Subscriptions().Get(e.ctx, q, s.ID)
	require_Error(e.t, err, storage.ErrSubscriptionNotFound)
	subs, err := e.s.Subscriptions().List(e.ctx, q, "", 10)
	require_NoError(e.t, err)
	require_Slice(e.t, subIDs(subs), []string{keep.ID}, "listed after delete")
	require_NoError(e.t, e.s.Subscriptions().Delete(e.ctx, q, s.ID), "delete twice")

	again := e.subscribe(q, "http://example.com/a", long)
	require_True(e.t, again.ID != s.ID, "a deleted subscription's id is not reused")
}

// An expired subscription is gone for every method and frees its subscriber.
func testSubscriptionTTL(e *env) {
	q := e.q("q")
	s := e.subscribe(q, "http://example.com/short", time.Second)
	s2 := e.subscribe(q, "http://example.com/short2", time.Second)
	keep := e.subscribe(q, "http://example.com/long", long)
	waitFor(e.t, "subscriptions to expire", func() bool {
		n := 0
		for _, id := range []string{s.ID, s2.ID} {
			_, err := e.s.Subscriptions().Get(e.ctx, q, id)
			if err != nil {
				require_Error(e.t, err, storage.ErrSubscriptionNotFound)
				n++
			}
		}
		return n == 2
	})
	subs, err := e.s.Subscriptions().List(e.ctx, q, "", 10)
	require_NoError(e.t, err)
	require_Slice(e.t, subIDs(subs), []string{keep.ID}, "listed after expiry")

	// Nor does it hold on to its subscriber, for Create or for Update.
	again := e.subscribe(q, "http://example.com/short", long)
	require_True(e.t, again.ID != s.ID, "a new subscription replaces the expired one")
	require_Error(e.t, e.s.Subscriptions().Confirm(e.ctx, q, s.ID, true), storage.ErrSubscriptionNotFound)
	ttl := long
	require_Error(e.t, e.s.Subscriptions().Update(e.ctx, q, s.ID, storage.SubscriptionUpdate{TTL: &ttl}), storage.ErrSubscriptionNotFound)
	taken := "http://example.com/short2"
	require_NoError(e.t, e.s.Subscriptions().Update(e.ctx, q, keep.ID, storage.SubscriptionUpdate{Subscriber: &taken}))
	require_Equal(e.t, e.getSub(q, keep.ID).Subscriber, taken, "subscriber taken over from an expired subscription")
}

func testSubscriptionUpdateRestartsTTL(e *env) {
	q := e.q("q")
	s := e.subscribe(q, "http://example.com/a", long)
	ttl := time.Second
	require_NoError(e.t, e.s.Subscriptions().Update(e.ctx, q, s.ID, storage.SubscriptionUpdate{TTL: &ttl}))
	waitFor(e.t, "subscription with shortened TTL to expire", func() bool {
		_, err := e.s.Subscriptions().Get(e.ctx, q, s.ID)
		return err != nil
	})
}
