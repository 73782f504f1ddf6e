package storagetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// The cases that matter most: a message queue that loses, duplicates or
// double-delivers under concurrency is broken however well it does alone.
// Workers report with t.Errorf (never Fatal off the test goroutine) and give
// up after workDeadline, so a store that loses messages fails instead of
// hanging.
func concurrencyCases() []testCase {
	return []testCase{
		{name: "ConcurrentClaimDelete", fn: testConcurrentClaimDelete},
		{name: "ConcurrentClaimHold", fn: testConcurrentClaimHold},
		{name: "ConcurrentClaimRelease", fn: testConcurrentClaimRelease},
		{name: "ConcurrentDeadLetter", fn: testConcurrentDeadLetter},
		{name: "ConcurrentPost", fn: testConcurrentPost},
		{name: "ConcurrentPop", fn: testConcurrentPop},
		{name: "ConcurrentPaging", fn: testConcurrentPaging},
		{name: "ConcurrentQueueCreate", fn: testConcurrentQueueCreate},
		{name: "ConcurrentSubscriptionCreate", fn: testConcurrentSubscriptionCreate},
		{name: "MultiNodeClaim", fn: testMultiNodeClaim},
	}
}

// workDeadline only bounds a hang: a passing case ends as soon as its work is done.
// It is generous because a slow backend (FerretDB on SQLite, under -race,
// sharing two cores with the rest of the suite) needed more than 30 s for
// the concurrent cases.
const workDeadline = 3 * time.Minute

// postMany posts n messages in batches of up to 20, bodies {"n":0}, ...
func (e *env) postMany(q zaqar.QueueRef, n int) []string {
	e.t.Helper()
	var out []string
	for len(out) < n {
		var batch []zaqar.NewMessage
		for i := len(out); i < n && len(batch) < 20; i++ {
			batch = append(batch, newMsg(fmt.Sprintf(`{"n":%d}`, i)))
		}
		out = append(out, e.post(q, batch...)...)
	}
	return out
}

// parallel runs f(0..n-1) in goroutines and waits for them.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// requireOnce fails unless every id of want was counted exactly once and
// nothing else was.
func (e *env) requireOnce(what string, count map[string]int, want []string) {
	e.t.Helper()
	for _, id := range want {
		if count[id] != 1 {
			e.t.Errorf("%s: message %s seen %d times, want once", what, id, count[id])
		}
	}
	if len(count) != len(want) {
		e.t.Errorf("%s: saw %d distinct messages, posted %d", what, len(count), len(want))
	}
}

// claimAndDelete runs perStore consumers on each store until total messages
// of q are deleted. Each consumer deletes what it claims under its claim, so
// every message must reach exactly one consumer.
func (e *env) claimAndDelete(q zaqar.QueueRef, stores []storage.Store, perStore, total int) map[string]int {
	var (
		mu      sync.Mutex
		seen    = map[string]int{}
		deleted atomic.Int64
	)
	deadline := time.Now().Add(workDeadline)
	parallel(len(stores)*perStore, func(w int) {
		s := stores[w%len(stores)]
		for deleted.Load() < int64(total) {
			if time.Now().After(deadline) {
				e.t.Errorf("consumer %d: %d of %d messages deleted after %v", w, deleted.Load(), total, workDeadline)
				return
			}
			c, msgs, err := s.Claims().Create(e.ctx, q, claimOpts(5))
			if err != nil {
				e.t.Errorf("consumer %d: claim: %v", w, err)
				return
			}
			if len(msgs) == 0 {
				time.Sleep(time.Millisecond) // the rest is claimed by others, about to be deleted
				continue
			}
			mu.Lock()
			for _, m := range msgs {
				seen[m.ID]++
				if m.ClaimID != c.ID {
					e.t.Errorf("message %s claimed by %s has claim id %q", m.ID, c.ID, m.ClaimID)
				}
			}
			mu.Unlock()
			for _, m := range msgs {
				if err := s.Messages().Delete(e.ctx, q, m.ID, c.ID); err != nil {
					e.t.Errorf("consumer %d: delete %s with its claim %s: %v", w, m.ID, c.ID, err)
					return
				}
				deleted.Add(1)
			}
		}
	})
	return seen
}

// Consumers that claim and delete see every message exactly once.
func testConcurrentClaimDelete(e *env) {
	q := e.q("q")
	want := e.postMany(q, 200)
	seen := e.claimAndDelete(q, []storage.Store{e.s}, 8, len(want))
	e.requireOnce("claimed", seen, want)
	require_DeepEqual(e.t, e.stats(q), zaqar.Stats{}, "stats after consuming everything")
}

// Consumers that keep their claims never share a message.
func testConcurrentClaimHold(e *env) {
	q := e.q("q")
	want := e.postMany(q, 150)
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		held atomic.Int64
	)
	deadline := time.Now().Add(workDeadline)
	parallel(8, func(w int) {
		for held.Load() < int64(len(want)) {
			if time.Now().After(deadline) {
				e.t.Errorf("consumer %d: %d of %d messages claimed after %v", w, held.Load(), len(want), workDeadline)
				return
			}
			c, msgs, err := e.s.Claims().Create(e.ctx, q, claimOpts(4))
			if err != nil {
				e.t.Errorf("consumer %d: claim: %v", w, err)
				return
			}
			if len(msgs) == 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			mu.Lock()
			for _, m := range msgs {
				seen[m.ID]++
				if m.ClaimID != c.ID {
					e.t.Errorf("message %s claimed by %s has claim id %q", m.ID, c.ID, m.ClaimID)
				}
			}
			mu.Unlock()
			held.Add(int64(len(msgs)))
		}
	})
	e.requireOnce("claimed", seen, want)
	st := e.stats(e.q("q"))
	require_Equal(e.t, st.Claimed, len(want), "claimed")
	require_Equal(e.t, st.Free, 0, "free")
}

// Consumers release half their claims and delete the rest: a message is
// never held by two live claims, and never claimed after it was deleted.
func testConcurrentClaimRelease(e *env) {
	q := e.q("q")
	want := e.postMany(q, 100)
	var (
		mu      sync.Mutex
		holder  = map[string]string{} // message -> live claim, as far as the consumers know
		deleted = map[string]int{}
		done    atomic.Int64
	)
	deadline := time.Now().Add(workDeadline)
	parallel(6, func(w int) {
		for i := 0; done.Load() < int64(len(want)); i++ {
			if time.Now().After(deadline) {
				e.t.Errorf("consumer %d: %d of %d messages deleted after %v", w, done.Load(), len(want), workDeadline)
				return
			}
			c, msgs, err := e.s.Claims().Create(e.ctx, q, claimOpts(3))
			if err != nil {
				e.t.Errorf("consumer %d: claim: %v", w, err)
				return
			}
			if len(msgs) == 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			mu.Lock()
			for _, m := range msgs {
				if h, ok := holder[m.ID]; ok {
					e.t.Errorf("message %s claimed by %s while claim %s holds it", m.ID, c.ID, h)
				}
				if deleted[m.ID] > 0 {
					e.t.Errorf("message %s claimed by %s after it was deleted", m.ID, c.ID)
				}
				holder[m.ID] = c.ID
			}
			release := i%2 == 0
			// Forget the claim before ending it, so a consumer that claims the
			// message the moment it is free is not mistaken for a double claim.
			for _, m := range msgs {
				delete(holder, m.ID)
				if !release {
					deleted[m.ID]++
				}
			}
			mu.Unlock()
			if release {
				if err := e.s.Claims().Delete(e.ctx, q, c.ID); err != nil {
					e.t.Errorf("consumer %d: release %s: %v", w, c.ID, err)
					return
				}
				continue
			}
			for _, m := range msgs {
				if err := e.s.Messages().Delete(e.ctx, q, m.ID, c.ID); err != nil {
					e.t.Errorf("consumer %d: delete %s with its claim %s: %v", w, m.ID, c.ID, err)
					return
				}
				done.Add(1)
			}
		}
	})
	e.requireOnce("deleted", deleted, want)
	require_DeepEqual(e.t, e.stats(q), zaqar.Stats{}, "stats after consuming everything")
}

// Consumers that release every claim drive each message through exactly
// MaxClaimCount deliveries into the dead-letter queue: a move under
// contention neither loses nor copies a message.
func testConcurrentDeadLetter(e *env) {
	q, dlq := e.q("src"), e.q("dlq")
	want := e.postMany(q, 100)
	const maxClaims = 2
	opts := claimOpts(4)
	opts.MaxClaimCount, opts.DeadLetterQueue = maxClaims, dlq.Name
	var (
		mu        sync.Mutex
		delivered = map[string]int{}
	)
	deadline := time.Now().Add(workDeadline)
	parallel(6, func(w int) {
		for {
			if time.Now().After(deadline) {
				e.t.Errorf("consumer %d: source not drained after %v", w, workDeadline)
				return
			}
			c, msgs, err := e.s.Claims().Create(e.ctx, q, opts)
			if err != nil {
				e.t.Errorf("consumer %d: claim: %v", w, err)
				return
			}
			if len(msgs) == 0 {
				st, err := e.s.Messages().Stats(e.ctx, q)
				if err != nil {
					e.t.Errorf("consumer %d: stats: %v", w, err)
					return
				}
				if st.Total == 0 {
					return
				}
				time.Sleep(time.Millisecond)
				continue
			}
			mu.Lock()
			for _, m := range msgs {
				delivered[m.ID]++
			}
			mu.Unlock()
			if err := e.s.Claims().Delete(e.ctx, q, c.ID); err != nil {
				e.t.Errorf("consumer %d: release: %v", w, err)
				return
			}
		}
	})
	for _, id := range want {
		if delivered[id] != maxClaims {
			e.t.Errorf("message %s delivered %d times, want %d", id, delivered[id], maxClaims)
		}
	}
	// Ids in the dead-letter queue are the driver's business; bodies are unique.
	var wantBodies []string
	for i := range want {
		wantBodies = append(wantBodies, fmt.Sprintf(`{"n":%d}`, i))
	}
	got := bodies(e.listAll(dlq, allOpts))
	slices.Sort(got)
	slices.Sort(wantBodies)
	require_Slice(e.t, got, wantBodies, "bodies in the dead-letter queue")
	st := e.stats(dlq)
	require_Equal(e.t, st.Free, len(want), "free in the dead-letter queue")
}

// Concurrent posters lose nothing, counts are exact, and each batch lands
// whole and in order, after everything posted before it.
func testConcurrentPost(e *env) {
	q := e.q("q")
	const posters, posts = 8, 15
	batches := make([][][]string, posters) // poster -> batch -> ids
	parallel(posters, func(p int) {
		n := 0
		for b := range posts {
			var batch []zaqar.NewMessage
			for range b%3 + 1 {
				batch = append(batch, newMsg(fmt.Sprintf(`{"p":%d,"n":%d}`, p, n)))
				n++
			}
			got, err := e.s.Messages().Post(e.ctx, q, batch)
			if err != nil {
				e.t.Errorf("poster %d: %v", p, err)
				return
			}
			if len(got) != len(batch) {
				e.t.Errorf("poster %d: posted %d messages, got %d ids", p, len(batch), len(got))
				return
			}
			batches[p] = append(batches[p], got)
		}
	})
	if e.t.Failed() {
		return
	}
	var want []string
	for _, bs := range batches {
		for _, b := range bs {
			want = append(want, b...)
		}
	}

	st := e.stats(q)
	require_Equal(e.t, st.Total, len(want), "total")
	require_Equal(e.t, st.Free, len(want), "free")

	listed := e.listAll(q, storage.MessageListOptions{Echo: true, Limit: 20})
	pos := map[string]int{}
	for i, m := range listed {
		pos[m.ID] = i
	}
	count := map[string]int{}
	for _, m := range listed {
		count[m.ID]++
	}
	e.requireOnce("listed", count, want)
	for p, bs := range batches {
		last := -1
		for _, b := range bs {
			for i, id := range b {
				if pos[id] != pos[b[0]]+i {
					e.t.Fatalf("poster %d: batch %v is not contiguous and in order in the queue", p, b)
				}
			}
			if pos[b[0]] <= last {
				e.t.Fatalf("poster %d: batch %v listed before the poster's earlier batch", p, b)
			}
			last = pos[b[len(b)-1]]
		}
	}
}

// Concurrent pops never return a message twice.
func testConcurrentPop(e *env) {
	q := e.q("q")
	want := e.postMany(q, 200)
	var (
		mu     sync.Mutex
		seen   = map[string]int{}
		popped atomic.Int64
	)
	deadline := time.Now().Add(workDeadline)
	parallel(8, func(w int) {
		for popped.Load() < int64(len(want)) {
			if time.Now().After(deadline) {
				e.t.Errorf("popper %d: %d of %d messages popped after %v", w, popped.Load(), len(want), workDeadline)
				return
			}
			msgs, err := e.s.Messages().Pop(e.ctx, q, 3)
			if err != nil {
				e.t.Errorf("popper %d: %v", w, err)
				return
			}
			mu.Lock()
			for _, m := range msgs {
				seen[m.ID]++
			}
			mu.Unlock()
			popped.Add(int64(len(msgs)))
		}
	})
	e.requireOnce("popped", seen, want)
	require_DeepEqual(e.t, e.stats(q), zaqar.Stats{}, "stats after popping everything")
}

// Readers paging while others post never see a message twice and, once the
// posting stops, have seen every message in queue order: a message posted
// after a reader's marker lands after it.
func testConcurrentPaging(e *env) {
	q := e.q("q")
	e.postMany(q, 10)
	var (
		postersDone atomic.Bool
		reads       = make([][]string, 2)
	)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer postersDone.Store(true)
		parallel(4, func(p int) {
			for i := range 40 {
				batch := []zaqar.NewMessage{newMsg(fmt.Sprintf(`{"p":%d,"i":%d}`, p, i))}
				if i%5 == 0 {
					batch = append(batch, newMsg(fmt.Sprintf(`{"p":%d,"i":%d,"second":true}`, p, i)))
				}
				if _, err := e.s.Messages().Post(e.ctx, q, batch); err != nil {
					e.t.Errorf("poster %d: %v", p, err)
					return
				}
			}
		})
	})
	deadline := time.Now().Add(workDeadline)
	for r, limit := range []int{10, 3} {
		wg.Go(func() {
			opts := storage.MessageListOptions{Echo: true, Limit: limit}
			seen := map[string]bool{}
			for {
				if time.Now().After(deadline) {
					e.t.Errorf("reader %d still reading after %v", r, workDeadline)
					return
				}
				// Read before listing: an empty page after the posters
				// finished means the reader is at the end.
				done := postersDone.Load()
				page, err := e.s.Messages().List(e.ctx, q, opts)
				if err != nil {
					e.t.Errorf("reader %d: %v", r, err)
					return
				}
				if len(page) == 0 {
					if done {
						return
					}
					time.Sleep(time.Millisecond)
					continue
				}
				for _, m := range page {
					if seen[m.ID] {
						e.t.Errorf("reader %d: message %s listed twice", r, m.ID)
						return
					}
					seen[m.ID] = true
					reads[r] = append(reads[r], m.ID)
				}
				opts.Marker = page[len(page)-1].Marker
			}
		})
	}
	wg.Wait()
	if e.t.Failed() {
		return
	}
	want := ids(e.listAll(q, storage.MessageListOptions{Echo: true, Limit: 20}))
	require_Len(e.t, want, 10+4*48, "messages posted")
	for r, got := range reads {
		if !slices.Equal(got, want) {
			e.t.Errorf("reader %d read %d messages, not the %d in the queue in queue order", r, len(got), len(want))
		}
	}
}

// Racing creators of one queue: exactly one creates it, and its metadata is
// what is stored.
func testConcurrentQueueCreate(e *env) {
	q := e.q("q")
	created := make([]bool, 8)
	parallel(len(created), func(i int) {
		c, err := e.s.Queues().Create(e.ctx, q, zaqar.Metadata{"creator": json.Number(fmt.Sprint(i))})
		if err != nil {
			e.t.Errorf("creator %d: %v", i, err)
		}
		created[i] = c
	})
	winner := slices.Index(created, true)
	require_True(e.t, winner >= 0, "nobody created the queue")
	require_True(e.t, slices.Index(created[winner+1:], true) < 0, "created by more than one: ", created)
	meta, err := e.s.Queues().Get(e.ctx, q)
	require_NoError(e.t, err)
	require_DeepEqual(e.t, meta, zaqar.Metadata{"creator": json.Number(fmt.Sprint(winner))}, "metadata is the creator's")
}

// Racing subscribers of one URI: exactly one subscription comes out.
func testConcurrentSubscriptionCreate(e *env) {
	q := e.q("q")
	subs := make([]zaqar.Subscription, 8)
	created := make([]bool, len(subs))
	parallel(len(subs), func(i int) {
		s, c, err := e.s.Subscriptions().Create(e.ctx, q, zaqar.Subscription{Subscriber: "http://example.com/hook", TTL: long})
		if err != nil {
			e.t.Errorf("subscriber %d: %v", i, err)
		}
		subs[i], created[i] = s, c
	})
	if e.t.Failed() {
		return
	}
	n := 0
	for i, s := range subs {
		if created[i] {
			n++
		}
		require_Equal(e.t, s.ID, subs[0].ID, "subscription id returned to creator ", i)
	}
	require_Equal(e.t, n, 1, "subscriptions created")
	list, err := e.s.Subscriptions().List(e.ctx, q, "", 10)
	require_NoError(e.t, err)
	require_Slice(e.t, subIDs(list), []string{subs[0].ID}, "listed")
}

// Three stores from newStore act as three API nodes on one backend:
// producers and consumers on all of them, every message consumed once.
// Stores that share no state (memory, one embedded file per store) skip.
func testMultiNodeClaim(e *env) {
	stores := []storage.Store{e.s, e.newStore(e.t), e.newStore(e.t)}
	q := e.q("q")
	want := e.postMany(q, 60)
	st, err := stores[1].Messages().Stats(e.ctx, q)
	require_NoError(e.t, err)
	if st.Total == 0 {
		e.t.Skip("stores from newStore share no state")
	}
	require_Equal(e.t, st.Total, len(want), "total seen by another node")

	const perNode = 20
	total := len(want) + len(stores)*perNode
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for n := range perNode {
				got, err := s.Messages().Post(e.ctx, q, []zaqar.NewMessage{newMsg(fmt.Sprintf(`{"node":%d,"n":%d}`, i, n))})
				if err != nil {
					e.t.Errorf("node %d: post: %v", i, err)
					return
				}
				mu.Lock()
				want = append(want, got...)
				mu.Unlock()
			}
		})
	}
	var seen map[string]int
	wg.Go(func() { seen = e.claimAndDelete(q, stores, 2, total) })
	wg.Wait()
	e.requireOnce("claimed across nodes", seen, want)
	for i, s := range stores {
		st, err := s.Messages().Stats(e.ctx, q)
		require_NoError(e.t, err)
		require_DeepEqual(e.t, st, zaqar.Stats{}, "stats on node ", i)
	}
}
