package service_test

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/mongodb"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/pooled"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/redis"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Long-polling tests. Re-checks are set an hour apart unless a test is
// about them, so a waiter that returns early was woken: a lost wake-up
// hangs the test (and fails it at failAfter) instead of being covered up
// by a re-check.
const failAfter = 60 * time.Second

func waitService(st storage.Store, recheck time.Duration, tune func(*zaqar.Limits)) *service.Service {
	l := zaqar.DefaultLimits()
	l.MaxWait = time.Hour
	if tune != nil {
		tune(&l)
	}
	looks := new(atomic.Int64)
	s := service.New(countingStore{st, looks}, service.Options{Limits: l, WaitRecheck: recheck})
	serviceLooks.Store(s, looks)
	return s
}

// serviceLooks maps a service made by waitService to its claim looks.
var serviceLooks sync.Map

// looks is how many claims s has tried on its store.
func looks(s *service.Service) int64 {
	n, _ := serviceLooks.Load(s)
	return n.(*atomic.Int64).Load()
}

// claimsWaiting waits until s holds n claim waiters that have looked at
// the store at least once (their first look, racing a post, could find
// the message without a wake-up); since counts looks s made before.
func claimsWaiting(t *testing.T, s *service.Service, n int, since int64) {
	t.Helper()
	waitUntil(t, "claims waiting", func() bool {
		return s.WaitStats().Waiting == int64(n) && looks(s)-since >= int64(n)
	})
}

func testQueue() zaqar.QueueRef {
	return zaqar.QueueRef{Project: "wait-" + rand.Text()[:10], Name: "q"}
}

func ptr(n int) *int { return &n }

type claimResult struct {
	msgs []zaqar.Message
	err  error
}

// claimWaiting starts a claim that waits up to wait seconds.
func claimWaiting(ctx context.Context, s *service.Service, q zaqar.QueueRef, wait int) <-chan claimResult {
	out := make(chan claimResult, 1)
	go func() {
		_, msgs, err := s.CreateClaim(ctx, q, nil, ptr(1), ptr(wait))
		out <- claimResult{msgs, err}
	}()
	return out
}

func post(t *testing.T, s *service.Service, q zaqar.QueueRef, n int) {
	t.Helper()
	body := `{"messages": [`
	for i := range n {
		if i > 0 {
			body += ","
		}
		body += `{"body": ` + string(rune('0'+i%10)) + `}`
	}
	body += `]}`
	if _, err := s.PostMessages(t.Context(), service.Scope{Project: q.Project, ClientID: "c"}, q, []byte(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
}

// waitUntil polls cond (state, not time) until it holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, what, failAfter, time.Millisecond, cond)
}

func result(t *testing.T, ch <-chan claimResult) claimResult {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r
	case <-time.After(failAfter):
		t.Fatal("the waiting claim was never answered")
	}
	return claimResult{}
}

// nodes returns the services of two API nodes sharing one backend; with
// the memory store, one node twice.
type nodesFunc func(t *testing.T) (a, b *service.Service)

func memoryNode(t *testing.T) (*service.Service, *service.Service) {
	s := waitService(memory.New(), time.Hour, nil)
	return s, s
}

func redisNodes(t *testing.T) (*service.Service, *service.Service) {
	url := storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL")
	var ss [2]*service.Service
	for i := range ss {
		st, err := redis.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		ss[i] = waitService(st, time.Hour, nil)
	}
	return ss[0], ss[1]
}

// pooledNode is one node over a pooled store with one memory pool, which
// cannot signal: the node's own posts wake its waiters.
func pooledNode(t *testing.T) (*service.Service, *service.Service) {
	pool := memory.New()
	st := pooledStore(t, memory.New(), func(context.Context, string, map[string]any) (storage.Store, error) {
		return pool, nil
	}, "memory://pool")
	s := waitService(st, time.Hour, nil)
	return s, s
}

// pooledRedisNodes are two nodes, each with its own pooled store and Redis
// connections, over one catalog with a Redis pool: only Redis' signal,
// passed through the pooled store, can wake the waiting node.
func pooledRedisNodes(t *testing.T) (*service.Service, *service.Service) {
	url := storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL")
	mgmt := memory.New()
	var ss [2]*service.Service
	for i := range ss {
		st := pooledStore(t, mgmt, func(ctx context.Context, uri string, _ map[string]any) (storage.Store, error) {
			return redis.Open(ctx, uri)
		}, url)
		ss[i] = waitService(st, time.Hour, nil)
	}
	return ss[0], ss[1]
}

// pooledStore returns a pooled store over mgmt, registering one pool at
// uri (again, for a second node).
func pooledStore(t *testing.T, mgmt *memory.Store, open pooled.Opener, uri string) *pooled.Store {
	t.Helper()
	if _, err := mgmt.Pools().Put(t.Context(), zaqar.Pool{Name: "one", URI: uri, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	st, err := pooled.New(mgmt, pooled.Options{Open: open})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestWaitMemory(t *testing.T) { runWaitTests(t, memoryNode) }

// TestWaitPooled: a pool that cannot signal leaves waking to the node.
func TestWaitPooled(t *testing.T) { runWaitTests(t, pooledNode) }

// TestWaitPooledRedis: a pooled store passes its Redis pool's signals on,
// for queues placed before the wait and not yet placed alike.
func TestWaitPooledRedis(t *testing.T) {
	runWaitTests(t, pooledRedisNodes)
	t.Run("PlacedQueue", func(t *testing.T) {
		a, b := pooledRedisNodes(t)
		q := testQueue()
		post(t, a, q, 1)
		if _, msgs, err := a.CreateClaim(t.Context(), q, nil, ptr(1), nil); err != nil || len(msgs) != 1 {
			t.Fatalf("claim of the first message: %d, %v", len(msgs), err)
		}
		since := looks(b)
		got := claimWaiting(t.Context(), b, q, 3600)
		claimsWaiting(t, b, 1, since)
		before := b.WaitStats().Woken
		post(t, a, q, 1)
		if r := result(t, got); len(r.msgs) != 1 {
			t.Fatalf("woken claim got %d messages, want 1", len(r.msgs))
		}
		if b.WaitStats().Woken == before {
			t.Error("the claim found the message by polling, not by a signal")
		}
	})
}

// TestWaitRedis: the post is made on one node (one Store, one connection
// pool) and the claimers wait on another; only Redis' signal can wake them.
func TestWaitRedis(t *testing.T) { runWaitTests(t, redisNodes) }

func runWaitTests(t *testing.T, nodes nodesFunc) {
	t.Run("WakeOnPost", func(t *testing.T) {
		a, b := nodes(t)
		q := testQueue()
		got := claimWaiting(t.Context(), b, q, 3600)
		waitUntil(t, "claim waiting", func() bool { return b.WaitStats().Waiting == 1 })
		post(t, a, q, 1)
		if r := result(t, got); len(r.msgs) != 1 {
			t.Fatalf("woken claim got %d messages, want 1", len(r.msgs))
		}
	})
	t.Run("WakeListOnPost", func(t *testing.T) {
		a, b := nodes(t)
		q := testQueue()
		got := make(chan int, 1)
		go func() {
			page, err := b.ListMessages(t.Context(), service.Scope{Project: q.Project, ClientID: "reader"}, q,
				service.MessageListParams{Wait: ptr(3600)})
			if err != nil {
				t.Error(err)
			}
			got <- len(page.Messages)
		}()
		waitUntil(t, "listing waiting", func() bool { return b.WaitStats().Waiting == 1 })
		post(t, a, q, 2)
		select {
		case n := <-got:
			if n != 2 {
				t.Fatalf("woken listing got %d messages, want 2", n)
			}
		case <-time.After(failAfter):
			t.Fatal("the waiting listing was never answered")
		}
	})
	t.Run("NoLostWakeup", func(t *testing.T) {
		// The post races the claim's registration and first look: in
		// every order the claim must end with the message.
		a, b := nodes(t)
		for range 50 {
			q := testQueue()
			got := claimWaiting(t.Context(), b, q, 3600)
			post(t, a, q, 1)
			if r := result(t, got); len(r.msgs) != 1 {
				t.Fatalf("claim got %d messages, want 1", len(r.msgs))
			}
		}
	})
	t.Run("OneMessageWakesOneClaimer", func(t *testing.T) {
		a, b := nodes(t)
		q := testQueue()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var claims []<-chan claimResult
		since := looks(b)
		for i := range 3 {
			claims = append(claims, claimWaiting(ctx, b, q, 3600))
			claimsWaiting(t, b, i+1, since) // in this order
		}
		before := b.WaitStats().Woken
		post(t, a, q, 1)
		// The oldest waiter is woken, and only it.
		if r := result(t, claims[0]); len(r.msgs) != 1 {
			t.Fatalf("first claimer got %d messages, want 1", len(r.msgs))
		}
		if woken := b.WaitStats().Woken - before; woken != 1 {
			t.Errorf("one message woke %d claimers, want 1", woken)
		}
		if n := b.WaitStats().Waiting; n != 2 {
			t.Errorf("%d claimers still waiting, want 2", n)
		}
		post(t, a, q, 1)
		if r := result(t, claims[1]); len(r.msgs) != 1 {
			t.Fatalf("second claimer got %d messages, want 1", len(r.msgs))
		}
	})
	t.Run("DisconnectReleases", func(t *testing.T) {
		_, b := nodes(t)
		q := testQueue()
		ctx, cancel := context.WithCancel(t.Context())
		got := claimWaiting(ctx, b, q, 3600)
		waitUntil(t, "claim waiting", func() bool { return b.WaitStats().Waiting == 1 })
		cancel()
		if r := result(t, got); len(r.msgs) != 0 {
			t.Fatalf("cancelled claim got %d messages", len(r.msgs))
		}
		if n := b.WaitStats().Waiting; n != 0 {
			t.Errorf("%d still waiting after the client went", n)
		}
	})
}

// TestWaitShutdownReleases: ReleaseWaiters answers every waiter at once,
// as at the deadline (204: nothing), and later waits answer at once.
func TestWaitShutdownReleases(t *testing.T) {
	s := waitService(memory.New(), time.Hour, nil)
	q := testQueue()
	var chans []<-chan claimResult
	for range 3 {
		chans = append(chans, claimWaiting(t.Context(), s, q, 3600))
	}
	waitUntil(t, "claims waiting", func() bool { return s.WaitStats().Waiting == 3 })
	s.ReleaseWaiters()
	for _, ch := range chans {
		if r := result(t, ch); len(r.msgs) != 0 {
			t.Fatalf("released claim got %d messages", len(r.msgs))
		}
	}
	if r := result(t, claimWaiting(t.Context(), s, q, 3600)); len(r.msgs) != 0 {
		t.Fatalf("claim after release got %d messages", len(r.msgs))
	}
}

// TestWaitDeadline: a wait that ends with nothing answers as without wait
// (no claim); a wait beyond max_wait is shortened to it.
func TestWaitDeadline(t *testing.T) {
	s := waitService(memory.New(), time.Hour, func(l *zaqar.Limits) { l.MaxWait = time.Second })
	q := testQueue()
	c, msgs, err := s.CreateClaim(t.Context(), q, nil, nil, ptr(3600))
	if err != nil || c.ID != "" || len(msgs) != 0 {
		t.Fatalf("CreateClaim at the deadline = %+v, %d messages, %v; want no claim", c, len(msgs), err)
	}
	if st := s.WaitStats(); st.TimedOut != 1 || st.Waiting != 0 {
		t.Errorf("stats after the deadline = %+v, want 1 timed out, 0 waiting", st)
	}
}

// TestWaitRecheckSeesDelay: a delayed message becoming visible has no
// wake-up; the re-check finds it.
func TestWaitRecheckSeesDelay(t *testing.T) {
	clock := testenv.NewClock(time.Unix(1_700_000_000, 0))
	st := memory.New(memory.WithClock(clock))
	s := waitService(st, 10*time.Millisecond, nil)
	q := testQueue()
	if _, err := st.Messages().Post(t.Context(), q, []zaqar.NewMessage{{Body: []byte("1"), TTL: time.Hour, Delay: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	got := claimWaiting(t.Context(), s, q, 3600)
	waitUntil(t, "claim waiting", func() bool { return s.WaitStats().Waiting == 1 })
	clock.Advance(2 * time.Minute)
	if r := result(t, got); len(r.msgs) != 1 {
		t.Fatalf("claim got %d messages, want the message whose delay ended", len(r.msgs))
	}
}

// TestWaitCaps: past max_waiters or max_waiters_per_project a request
// answers at once, as without wait, and is counted.
func TestWaitCaps(t *testing.T) {
	for _, tc := range []struct {
		name string
		tune func(*zaqar.Limits)
	}{
		{"node", func(l *zaqar.Limits) { l.MaxWaiters = 1 }},
		{"project", func(l *zaqar.Limits) { l.MaxWaitersPerProject = 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := waitService(memory.New(), time.Hour, tc.tune)
			q := testQueue()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			claimWaiting(ctx, s, q, 3600)
			waitUntil(t, "first claim waiting", func() bool { return s.WaitStats().Waiting == 1 })
			if r := result(t, claimWaiting(t.Context(), s, q, 3600)); len(r.msgs) != 0 {
				t.Fatalf("refused claim got %d messages", len(r.msgs))
			}
			if st := s.WaitStats(); st.Refused != 1 {
				t.Errorf("refused = %d, want 1", st.Refused)
			}
		})
	}
}

func TestWaitInvalid(t *testing.T) {
	s := waitService(memory.New(), time.Hour, nil)
	q := testQueue()
	if _, _, err := s.CreateClaim(t.Context(), q, nil, nil, ptr(-1)); zaqar.KindOf(err) != zaqar.Invalid {
		t.Errorf("CreateClaim(wait=-1) = %v, want Invalid", err)
	}
	if _, err := s.ListMessages(t.Context(), service.Scope{Project: q.Project}, q, service.MessageListParams{Wait: ptr(-1)}); zaqar.KindOf(err) != zaqar.Invalid {
		t.Errorf("ListMessages(wait=-1) = %v, want Invalid", err)
	}
}

// TestWaitMongoDB: two API nodes over one MongoDB (FerretDB here), which
// cannot signal: the waiting node polls with backoff and sees the post
// made through the other node's store.
func TestWaitMongoDB(t *testing.T) {
	url := storagetest.RequireEnv(t, "ZAQAR_TEST_MONGODB_URL")
	opts := mongodb.Options{Database: "zaqarwait_" + rand.Text()[:8], Partitions: 4}
	var ss [2]*service.Service
	for i := range ss {
		st, err := mongodb.Open(t.Context(), url, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		ss[i] = waitService(st, 0, nil)
	}
	q := testQueue()
	got := claimWaiting(t.Context(), ss[1], q, 3600)
	waitUntil(t, "claim waiting", func() bool { return ss[1].WaitStats().Waiting == 1 })
	post(t, ss[0], q, 1)
	if r := result(t, got); len(r.msgs) != 1 {
		t.Fatalf("claim on the other node got %d messages, want 1", len(r.msgs))
	}
}

// countingStore counts claim attempts: each is one look at the store.
type countingStore struct {
	storage.Store
	looks *atomic.Int64
}

// Unwrap lets storage.SignalerOf find the store's signals.
func (s countingStore) Unwrap() storage.Store { return s.Store }

func (s countingStore) Claims() storage.ClaimStore {
	return countingClaims{s.Store.Claims(), s.looks}
}

type countingClaims struct {
	storage.ClaimStore
	looks *atomic.Int64
}

func (c countingClaims) Create(ctx context.Context, q zaqar.QueueRef, p storage.ClaimOptions) (zaqar.Claim, []zaqar.Message, error) {
	defer c.looks.Add(1) // counted once the look is over
	return c.ClaimStore.Create(ctx, q, p)
}

// TestWaitRecheckShared: idle claim waiters on one queue share its
// re-check, one look per round however many wait; when a round finds
// delayed messages come due, each claimer that gets one wakes the next.
func TestWaitRecheckShared(t *testing.T) {
	clock := testenv.NewClock(time.Unix(1_700_000_000, 0))
	mem := memory.New(memory.WithClock(clock))
	s := waitService(mem, 5*time.Millisecond, nil)
	q := testQueue()
	const waiting = 50
	got := make(chan claimResult, waiting)
	for range waiting {
		go func() { got <- <-claimWaiting(t.Context(), s, q, 3600) }()
	}
	waitUntil(t, "claims waiting", func() bool { return s.WaitStats().Waiting == waiting })
	waitUntil(t, "re-check rounds", func() bool { return s.WaitStats().Rechecks >= 20 })
	// Each waiter looked once on arrival; every later look is a round's.
	n, rounds := looks(s), s.WaitStats().Rechecks
	if n > waiting+rounds {
		t.Errorf("%d looks for %d waiters and %d re-check rounds: the waiters re-check each on its own", n, waiting, rounds)
	}
	if _, err := mem.Messages().Post(t.Context(), q, []zaqar.NewMessage{
		{Body: []byte("1"), TTL: time.Hour, Delay: time.Minute},
		{Body: []byte("2"), TTL: time.Hour, Delay: time.Minute},
		{Body: []byte("3"), TTL: time.Hour, Delay: time.Minute},
	}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	answered := 0
	for answered < 3 {
		select {
		case r := <-got:
			if r.err != nil || len(r.msgs) != 1 {
				t.Fatalf("claim answered with %d messages, %v", len(r.msgs), r.err)
			}
			answered++
		case <-time.After(failAfter):
			t.Fatalf("%d of 3 delayed messages claimed", answered)
		}
	}
}

// afterClaimStore runs after on each claim its store made.
type afterClaimStore struct {
	storage.Store
	after func(zaqar.Claim)
}

func (s afterClaimStore) Claims() storage.ClaimStore { return afterClaims{s.Store.Claims(), s.after} }

type afterClaims struct {
	storage.ClaimStore
	after func(zaqar.Claim)
}

func (c afterClaims) Create(ctx context.Context, q zaqar.QueueRef, p storage.ClaimOptions) (zaqar.Claim, []zaqar.Message, error) {
	cl, msgs, err := c.ClaimStore.Create(ctx, q, p)
	if err == nil && cl.ID != "" {
		c.after(cl)
	}
	return cl, msgs, err
}

// TestWaitClientGoneReleases: a waiting claim woken just as its client
// goes (a consumer stopping) is made and released at once, so its
// messages are claimable again, not held unseen until the claim expires.
func TestWaitClientGoneReleases(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := waitService(afterClaimStore{memory.New(), func(zaqar.Claim) { cancel() }}, time.Hour, nil)
	q := testQueue()
	since := looks(s)
	got := claimWaiting(ctx, s, q, 3600)
	claimsWaiting(t, s, 1, since)
	post(t, s, q, 1)
	if r := result(t, got); len(r.msgs) != 0 {
		t.Fatalf("the gone client's claim answered %d messages", len(r.msgs))
	}
	_, msgs, err := s.CreateClaim(t.Context(), q, nil, ptr(1), nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("claim after the client went: %d messages, %v; want the released message", len(msgs), err)
	}
}
