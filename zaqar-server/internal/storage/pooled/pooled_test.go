package pooled_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/embedded"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/pooled"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/redis"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// shared stands for a backend several API nodes reach: each pooled store
// opening its URI gets a handle whose Close leaves the backend open.
type shared struct{ storage.Store }

func (shared) Close() error { return nil }

// management is a management store: a store that keeps the catalog.
type management interface {
	storage.Store
	storage.CatalogStore
}

// sharedManagement is a management store shared by several nodes.
type sharedManagement struct{ management }

func (sharedManagement) Close() error { return nil }

// backends maps pool URIs to stores that outlive the pooled stores.
type backends struct {
	mu     sync.Mutex
	stores map[string]storage.Store
	opened map[string]int
}

func newBackends(stores map[string]storage.Store) *backends {
	return &backends{stores: stores, opened: map[string]int{}}
}

func (b *backends) open(ctx context.Context, uri string, _ map[string]any) (storage.Store, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.stores[uri]
	if !ok {
		return nil, fmt.Errorf("no backend at %s", uri)
	}
	b.opened[uri]++
	return shared{st}, nil
}

// node returns a pooled store over mgmt and the backends, closed with t.
func node(t *testing.T, mgmt management, b *backends, opts pooled.Options) *pooled.Store {
	t.Helper()
	opts.Open = b.open
	s, err := pooled.New(sharedManagement{mgmt}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func putPool(t *testing.T, cat storage.CatalogStore, p zaqar.Pool) {
	t.Helper()
	if _, err := cat.Pools().Put(t.Context(), p); err != nil {
		t.Fatal(err)
	}
}

// TestConformance runs the suite over two memory pools; every store from
// newStore is another API node over the same catalog and backends.
func TestConformance(t *testing.T) {
	mgmt := memory.New()
	b := newBackends(map[string]storage.Store{"memory://a": memory.New(), "memory://b": memory.New()})
	putPool(t, mgmt, zaqar.Pool{Name: "a", URI: "memory://a", Weight: 1})
	putPool(t, mgmt, zaqar.Pool{Name: "b", URI: "memory://b", Weight: 1})
	t.Run("Suite", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Store { return node(t, mgmt, b, pooled.Options{}) })
	})
	// The suite only passes routing if queues went to both pools.
	for _, name := range []string{"a", "b"} {
		if n, _ := mgmt.Catalogue().Count(t.Context(), name); n == 0 {
			t.Errorf("no queue was placed on pool %s", name)
		}
	}
}

// TestConformanceRedisEmbedded runs the suite over a Redis pool and an
// embedded pool, with an embedded management store.
func TestConformanceRedisEmbedded(t *testing.T) {
	url := storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL")
	ctx := t.Context()
	dir := t.TempDir()
	mgmt, err := embedded.Open(ctx, filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer mgmt.Close()
	rs, err := redis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	es, err := embedded.Open(ctx, filepath.Join(dir, "pool.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	b := newBackends(map[string]storage.Store{url: rs, "file://" + filepath.Join(dir, "pool.db"): es})
	putPool(t, mgmt, zaqar.Pool{Name: "redis", URI: url, Weight: 1})
	putPool(t, mgmt, zaqar.Pool{Name: "embedded", URI: "file://" + filepath.Join(dir, "pool.db"), Weight: 1})
	t.Run("Suite", func(t *testing.T) {
		storagetest.Run(t, func(t *testing.T) storage.Store { return node(t, mgmt, b, pooled.Options{}) })
	})
	for _, name := range []string{"redis", "embedded"} {
		if n, _ := mgmt.Catalogue().Count(ctx, name); n == 0 {
			t.Errorf("no queue was placed on pool %s", name)
		}
	}
}

func TestCatalogConformance(t *testing.T) {
	storagetest.RunCatalog(t, func(t *testing.T) storage.CatalogStore {
		return node(t, memory.New(), newBackends(nil), pooled.Options{})
	})
}

func ref(name string) zaqar.QueueRef { return zaqar.QueueRef{Project: "p", Name: name} }

func newMsg(body string) []zaqar.NewMessage {
	return []zaqar.NewMessage{{Body: []byte(body), TTL: 3600e9}}
}

// Placement follows weights and flavors; a queue is then served by its pool.
func TestPlacement(t *testing.T) {
	ctx := t.Context()
	mgmt := memory.New()
	a, b, gold := memory.New(), memory.New(), memory.New()
	s := node(t, mgmt, newBackends(map[string]storage.Store{"memory://a": a, "memory://b": b, "memory://gold": gold}), pooled.Options{})

	if _, err := s.Queues().Create(ctx, ref("q"), nil); zaqar.KindOf(err) != zaqar.Unavailable {
		t.Fatalf("create without pools: %v, want a 503", err)
	}
	putPool(t, mgmt, zaqar.Pool{Name: "a", URI: "memory://a", Weight: 100})
	putPool(t, mgmt, zaqar.Pool{Name: "b", URI: "memory://b", Weight: 0}) // never chosen
	putPool(t, mgmt, zaqar.Pool{Name: "gold", URI: "memory://gold", Weight: 5, Flavor: "gold"})
	for i := range 20 {
		q := ref(fmt.Sprint("q", i))
		if _, err := s.Messages().Post(ctx, q, newMsg(`1`)); err != nil {
			t.Fatal(err)
		}
		if st, _ := a.Messages().Stats(ctx, q); st.Total != 1 {
			t.Fatalf("queue %s is not on pool a", q.Name)
		}
	}

	// A flavor must exist in the queue's project.
	_, err := s.Queues().Create(ctx, ref("g"), zaqar.Metadata{"_flavor": "gold"})
	var ze *zaqar.Error
	if !errors.As(err, &ze) || ze.Kind != zaqar.Invalid || ze.Desc != "Flavor gold does not exist" {
		t.Fatalf("create with an unknown flavor: %v", err)
	}
	if _, err := mgmt.Flavors().Put(ctx, zaqar.Flavor{Project: "p", Name: "gold"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Queues().Create(ctx, ref("g"), zaqar.Metadata{"_flavor": "gold"}); err != nil {
		t.Fatal(err)
	}
	if _, err := gold.Queues().Get(ctx, ref("g")); err != nil {
		t.Fatalf("flavored queue is not on the gold pool: %v", err)
	}
	// Its messages, claims and subscriptions go there too.
	if _, err := s.Messages().Post(ctx, ref("g"), newMsg(`2`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Subscriptions().Create(ctx, ref("g"), zaqar.Subscription{Subscriber: "http://x", TTL: 3600e9}); err != nil {
		t.Fatal(err)
	}
	if st, _ := gold.Messages().Stats(ctx, ref("g")); st.Total != 1 {
		t.Errorf("gold pool stats = %+v", st)
	}
	if subs, _ := gold.Subscriptions().List(ctx, ref("g"), "", 10); len(subs) != 1 {
		t.Errorf("gold pool subscriptions = %v", subs)
	}
	// Changing _flavor later does not move the queue.
	if err := s.Queues().SetMetadata(ctx, ref("g"), zaqar.Metadata{}); err != nil {
		t.Fatal(err)
	}
	if p, _ := mgmt.Catalogue().Lookup(ctx, ref("g")); p != "gold" {
		t.Errorf("queue moved to %q", p)
	}
	if n, _ := mgmt.Catalogue().Count(ctx, "b"); n != 0 {
		t.Errorf("%d queues on the pool of weight 0", n)
	}
}

// Listing merges the pools in name order with correct pages; counting sums.
func TestListingSpansPools(t *testing.T) {
	ctx := t.Context()
	mgmt := memory.New()
	a, b := memory.New(), memory.New()
	s := node(t, mgmt, newBackends(map[string]storage.Store{"memory://a": a, "memory://b": b}), pooled.Options{})
	putPool(t, mgmt, zaqar.Pool{Name: "a", URI: "memory://a", Weight: 1})
	putPool(t, mgmt, zaqar.Pool{Name: "b", URI: "memory://b", Weight: 1})
	var want []string
	for i := range 30 {
		name := fmt.Sprintf("q%02d", i)
		want = append(want, name)
		if _, err := s.Queues().Create(ctx, ref(name), nil); err != nil {
			t.Fatal(err)
		}
	}
	na, _ := a.Queues().Count(ctx, "p")
	nb, _ := b.Queues().Count(ctx, "p")
	if na == 0 || nb == 0 || na+nb != 30 {
		t.Fatalf("queues per pool: %d and %d", na, nb)
	}
	if n, _ := s.Queues().Count(ctx, "p"); n != 30 {
		t.Errorf("count = %d", n)
	}
	for _, limit := range []int{1, 4, 7, 30, 50} {
		var got []string
		marker := ""
		for {
			page, err := s.Queues().List(ctx, "p", storage.QueueListOptions{Marker: marker, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("page of %d, limit %d", len(page), limit)
			}
			if len(page) == 0 {
				break
			}
			for _, q := range page {
				got = append(got, q.Name)
			}
			marker = page[len(page)-1].Name
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("paging by %d: %v", limit, got)
		}
	}
}

// A dead-letter queue placed on another pool still receives moved
// messages, once each.
func TestDeadLetterAcrossPools(t *testing.T) {
	ctx := t.Context()
	mgmt := memory.New()
	a, b := memory.New(), memory.New()
	s := node(t, mgmt, newBackends(map[string]storage.Store{"memory://a": a, "memory://b": b}), pooled.Options{})
	putPool(t, mgmt, zaqar.Pool{Name: "a", URI: "memory://a", Weight: 1})
	putPool(t, mgmt, zaqar.Pool{Name: "b", URI: "memory://b", Weight: 1})
	mgmt.Catalogue().Insert(ctx, ref("src"), "a")
	mgmt.Catalogue().Insert(ctx, ref("dlq"), "b")
	for i := range 5 {
		if _, err := s.Messages().Post(ctx, ref("src"), newMsg(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	opts := storage.ClaimOptions{TTL: 3600e9, Grace: 60e9, Limit: 2, MaxClaimCount: 1, DeadLetterQueue: "dlq"}
	delivered := 0
	for range 20 {
		c, msgs, err := s.Claims().Create(ctx, ref("src"), opts)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID == "" {
			break
		}
		delivered += len(msgs)
		if err := s.Claims().Delete(ctx, ref("src"), c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if delivered != 5 {
		t.Errorf("delivered %d times, want each of 5 once", delivered)
	}
	if st, _ := a.Messages().Stats(ctx, ref("src")); st.Total != 0 {
		t.Errorf("left in the source: %+v", st)
	}
	st, _ := b.Messages().Stats(ctx, ref("dlq"))
	if st.Free != 5 {
		t.Errorf("dead-letter queue on pool b: %+v", st)
	}

	// With no placement yet, the dead-letter queue joins its source's pool.
	s.Messages().Post(ctx, ref("src2"), newMsg(`1`))
	src2, _ := mgmt.Catalogue().Lookup(ctx, ref("src2"))
	opts.DeadLetterQueue = "dlq2"
	s.Claims().Create(ctx, ref("src2"), opts)
	if p, _ := mgmt.Catalogue().Lookup(ctx, ref("dlq2")); p != src2 {
		t.Errorf("dead-letter queue placed on %q, source on %q", p, src2)
	}
}

// A placement goes with the last thing its pool holds under the name.
func TestRelease(t *testing.T) {
	ctx := t.Context()
	mgmt := memory.New()
	s := node(t, mgmt, newBackends(map[string]storage.Store{"memory://a": memory.New()}), pooled.Options{})
	putPool(t, mgmt, zaqar.Pool{Name: "a", URI: "memory://a", Weight: 1})
	placed := func() bool {
		_, err := mgmt.Catalogue().Lookup(ctx, ref("q"))
		return err == nil
	}
	s.Queues().Create(ctx, ref("q"), nil)
	sub, _, _ := s.Subscriptions().Create(ctx, ref("q"), zaqar.Subscription{Subscriber: "http://x", TTL: 3600e9})
	s.Queues().Delete(ctx, ref("q"))
	if !placed() {
		t.Fatal("placement dropped while a subscription remains")
	}
	s.Subscriptions().Delete(ctx, ref("q"), sub.ID)
	if placed() {
		t.Fatal("placement kept after the queue and its subscriptions went")
	}
	s.Messages().Post(ctx, ref("q"), newMsg(`1`))
	if !placed() {
		t.Fatal("post did not place the queue")
	}
	s.Queues().Delete(ctx, ref("q"))
	if placed() {
		t.Fatal("placement kept after delete")
	}
}

// With a default store (the virtual pool), queues that live there stay
// there, and new ones go to the pools once there are any.
func TestVirtualPool(t *testing.T) {
	ctx := t.Context()
	mgmt, def, a := memory.New(), memory.New(), memory.New()
	def.Queues().Create(ctx, ref("old"), zaqar.Metadata{"k": "v"})
	s := node(t, mgmt, newBackends(map[string]storage.Store{"memory://a": a}), pooled.Options{Default: shared{def}})

	if _, err := s.Messages().Post(ctx, ref("early"), newMsg(`1`)); err != nil {
		t.Fatal(err) // no pool yet: the default store takes it
	}
	putPool(t, mgmt, zaqar.Pool{Name: "a", URI: "memory://a", Weight: 1})
	for _, name := range []string{"old", "early", "new"} {
		if _, err := s.Messages().Post(ctx, ref(name), newMsg(`1`)); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]storage.Store{"old": def, "early": def, "new": a} {
		if st, _ := want.Messages().Stats(ctx, ref(name)); st.Total == 0 {
			t.Errorf("queue %s is not where it belongs", name)
		}
	}
	qs, err := s.Queues().List(ctx, "p", storage.QueueListOptions{Limit: 10})
	if err != nil || len(qs) != 3 || qs[0].Name != "early" || qs[1].Name != "new" || qs[2].Name != "old" {
		t.Errorf("list = %v, %v", qs, err)
	}
}

// A pool whose URI changes is reopened: at once on the node that changed
// it, within PoolTTL on the others.
func TestPoolURIChange(t *testing.T) {
	ctx := t.Context()
	mgmt := memory.New()
	one, two := memory.New(), memory.New()
	b := newBackends(map[string]storage.Store{"memory://1": one, "memory://2": two})
	s := node(t, mgmt, b, pooled.Options{})
	putPool(t, s, zaqar.Pool{Name: "a", URI: "memory://1", Weight: 1})
	s.Queues().Create(ctx, ref("q"), nil)
	uri := "memory://2"
	if err := s.Pools().Update(ctx, "a", storage.PoolUpdate{URI: &uri}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Queues().Get(ctx, ref("q")); !errors.Is(err, storage.ErrQueueNotFound) {
		t.Errorf("get after the pool moved to an empty backend: %v", err)
	}
	if b.opened["memory://2"] != 1 {
		t.Errorf("opened %v", b.opened)
	}
}

// Probe reuses an open pool instead of opening its URI again.
func TestProbe(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "pool.db")
	mgmt := memory.New()
	s, err := pooled.New(mgmt, pooled.Options{Open: func(ctx context.Context, uri string, _ map[string]any) (storage.Store, error) {
		return embedded.Open(ctx, strings.TrimPrefix(uri, "file://"))
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	uri := "file://" + path
	if err := s.Probe(ctx, uri, nil); err != nil {
		t.Fatal(err)
	}
	putPool(t, s, zaqar.Pool{Name: "a", URI: uri, Weight: 1})
	if _, err := s.Queues().Create(ctx, ref("q"), nil); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 5e9)
	defer cancel()
	if err := s.Probe(tctx, uri, nil); err != nil {
		t.Errorf("probe of an open embedded pool: %v", err)
	}
	if err := s.Probe(ctx, "file://"+filepath.Join(dir, "missing-dir", "x.db"), nil); err != nil {
		t.Errorf("probe creating a file: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
}

// PoolStores lists every pool by name, one that does not open with its
// error, then the default store.
func TestPoolStores(t *testing.T) {
	ctx := t.Context()
	mgmt, def, a := memory.New(), memory.New(), memory.New()
	s := node(t, mgmt, newBackends(map[string]storage.Store{"memory://a": a}), pooled.Options{Default: shared{def}})
	putPool(t, mgmt, zaqar.Pool{Name: "b", URI: "memory://gone", Weight: 1})
	putPool(t, mgmt, zaqar.Pool{Name: "a", URI: "memory://a", Weight: 1})
	got, err := s.PoolStores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != "a" || got[1].Name != "b" || got[2].Name != "" {
		t.Fatalf("PoolStores = %+v, want a, b and the default", got)
	}
	if got[0].Err != nil || got[0].Store == nil || got[0].Store.Ping(ctx) != nil {
		t.Errorf("pool a = %+v", got[0])
	}
	if got[1].Err == nil || got[1].Store != nil {
		t.Errorf("pool b, whose backend is missing = %+v, want its error", got[1])
	}
	if got[2].Store != storage.Store(shared{def}) || got[2].Err != nil {
		t.Errorf("default = %+v", got[2])
	}
}
