package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/pooled"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var allOperations = []string{"bulk_delete_messages", "claim_messages", "create_queue", "delete_claim",
	"delete_messages", "delete_queue", "list_messages", "post_messages"}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// faulty is a store whose backend can go away (down: every call fails) or
// whose message deletes fail.
type faulty struct {
	storage.Store
	down       *atomic.Bool
	failDelete bool
}

var errRefused = errors.New("connection refused")

func (f faulty) Ping(ctx context.Context) error {
	if f.down != nil && f.down.Load() {
		return errRefused
	}
	return f.Store.Ping(ctx)
}

func (f faulty) Queues() storage.QueueStore { return faultyQueues{f.Store.Queues(), f} }
func (f faulty) Messages() storage.MessageStore {
	return faultyMessages{f.Store.Messages(), f}
}

type faultyQueues struct {
	storage.QueueStore
	f faulty
}

func (q faultyQueues) Create(ctx context.Context, ref zaqar.QueueRef, meta zaqar.Metadata) (bool, error) {
	if q.f.down != nil && q.f.down.Load() {
		return false, errRefused
	}
	return q.QueueStore.Create(ctx, ref, meta)
}

type faultyMessages struct {
	storage.MessageStore
	f faulty
}

func (m faultyMessages) Delete(ctx context.Context, q zaqar.QueueRef, id, claimID string) error {
	if m.f.failDelete {
		return errRefused
	}
	return m.MessageStore.Delete(ctx, q, id, claimID)
}

// opStatus is one operation_status entry as decoded from the wire.
type opStatus struct {
	Succeeded *bool    `json:"succeeded"`
	Seconds   *float64 `json:"seconds"`
	Ref       *string  `json:"ref"`
}

type storeHealth struct {
	StorageReachable *bool               `json:"storage_reachable"`
	OperationStatus  map[string]opStatus `json:"operation_status"`
	MessageVolume    map[string]int64    `json:"message_volume"`
	keys             []string
}

func decodeStoreHealth(t *testing.T, raw []byte) storeHealth {
	t.Helper()
	var h storeHealth
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("health %s: %v", raw, err)
	}
	var keys map[string]json.RawMessage
	json.Unmarshal(raw, &keys)
	for k := range keys {
		h.keys = append(h.keys, k)
	}
	slices.Sort(h.keys)
	if h.StorageReachable == nil || h.OperationStatus == nil {
		t.Fatalf("health %s lacks storage_reachable or operation_status", raw)
	}
	for name, op := range h.OperationStatus {
		if op.Succeeded == nil || op.Seconds == nil || *op.Seconds < 0 {
			t.Errorf("operation %s = %+v: want succeeded, seconds and ref", name, op)
		}
		if *op.Succeeded != (op.Ref == nil) {
			t.Errorf("operation %s: succeeded %v with ref %v", name, *op.Succeeded, op.Ref)
		}
		if op.Ref != nil && !uuidRE.MatchString(*op.Ref) {
			t.Errorf("operation %s: ref %q is not a UUID", name, *op.Ref)
		}
	}
	return h
}

func (h storeHealth) succeeded() (ok, failed []string) {
	for name, op := range h.OperationStatus {
		if *op.Succeeded {
			ok = append(ok, name)
		} else {
			failed = append(failed, name)
		}
	}
	slices.Sort(ok)
	slices.Sort(failed)
	return ok, failed
}

func adminAPI(t *testing.T, store storage.Store, log *slog.Logger, pooling bool) *api {
	return newAPIWith(t, store, service.Options{Limits: zaqar.DefaultLimits(), Logger: log},
		rest.Options{AdminMode: true, Pooling: pooling})
}

// GET /v2/health on a working memory store: Zaqar's document with every
// operation succeeded, and the store's message volume, which the probe's
// own messages do not change.
func TestHealthDocument(t *testing.T) {
	store := memory.New()
	a := adminAPI(t, store, nil, false)
	a.expect("POST", "/v2/queues/q/messages", `{"messages":[{"body":1},{"body":2},{"body":3}]}`, 201, "X-Roles", "admin")
	a.expect("POST", "/v2/queues/q/claims?limit=1", `{"ttl":60}`, 201, "X-Roles", "admin")

	r := a.expect("GET", "/v2/health", "", 200, "X-Roles", "admin")
	h := decodeStoreHealth(t, r.body)
	if want := []string{"message_volume", "operation_status", "storage_reachable"}; !slices.Equal(h.keys, want) {
		t.Errorf("keys %v, want %v", h.keys, want)
	}
	if !*h.StorageReachable {
		t.Error("storage_reachable = false")
	}
	ok, failed := h.succeeded()
	if !slices.Equal(ok, allOperations) || failed != nil {
		t.Errorf("succeeded %v, failed %v; want all of %v", ok, failed, allOperations)
	}
	if want := map[string]int64{"free": 2, "claimed": 1, "total": 3}; !equalMap(h.MessageVolume, want) {
		t.Errorf("message_volume = %v, want %v", h.MessageVolume, want)
	}
	// The probe cleaned up after itself.
	if v, err := store.Volume(t.Context()); err != nil || v != (storage.Volume{Free: 2, Claimed: 1}) {
		t.Errorf("after the probe the store holds %+v, %v", v, err)
	}
}

func equalMap(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A failing step carries a ref that is also in the log; the others still
// succeed (Zaqar's test_operation_status), and a store that cannot count
// its messages has no message_volume.
func TestHealthOperationFailure(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	a := adminAPI(t, faulty{Store: memory.New(), failDelete: true}, log, false)
	h := decodeStoreHealth(t, a.expect("GET", "/v2/health", "", 200, "X-Roles", "admin").body)
	ok, failed := h.succeeded()
	if !slices.Equal(failed, []string{"delete_messages"}) || len(ok) != len(allOperations)-1 {
		t.Errorf("succeeded %v, failed %v; want only delete_messages failed", ok, failed)
	}
	if h.MessageVolume != nil {
		t.Errorf("message_volume = %v from a store that cannot count", h.MessageVolume)
	}
	ref := *h.OperationStatus["delete_messages"].Ref
	if !strings.Contains(logs.String(), "ref="+ref) || !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("log does not name ref %s with the error:\n%s", ref, logs.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// A store that does not answer: 200 with storage_reachable false and the
// first step failed, as Zaqar's Redis and MongoDB drivers answer.
func TestHealthUnreachableStore(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	a := adminAPI(t, faulty{Store: memory.New(), down: &down}, nil, false)
	h := decodeStoreHealth(t, a.expect("GET", "/v2/health", "", 200, "X-Roles", "admin").body)
	ok, failed := h.succeeded()
	if *h.StorageReachable || ok != nil || !slices.Equal(failed, []string{"create_queue"}) {
		t.Errorf("reachable %v, succeeded %v, failed %v", *h.StorageReachable, ok, failed)
	}
}

// catalogDown is a management store whose catalog does not answer.
type catalogDown struct{ *memory.Store }

func (c catalogDown) Pools() storage.PoolStore { return downPools{c.Store.Pools()} }

type downPools struct{ storage.PoolStore }

func (downPools) List(context.Context, string, int) ([]zaqar.Pool, error) { return nil, errRefused }

// pooledStore returns a pooled store over mgmt with the pools up (a memory
// store), down (opens, answers nothing) and broken (does not open).
func pooledStore(t *testing.T, mgmt storage.Store, def storage.Store) (*pooled.Store, *memory.Store) {
	t.Helper()
	up := memory.New()
	var down atomic.Bool
	down.Store(true)
	s, err := pooled.New(mgmt, pooled.Options{Default: def, Open: func(ctx context.Context, uri string, _ map[string]any) (storage.Store, error) {
		switch uri {
		case "memory://up":
			return up, nil
		case "memory://down":
			return faulty{Store: memory.New(), down: &down}, nil
		}
		return nil, errors.New("no such backend")
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s, up
}

// With pooling: one entry per pool next to catalog_reachable, which is
// false when any pool is down (Zaqar's is_alive); still 200.
func TestHealthPools(t *testing.T) {
	mgmt := memory.New()
	s, _ := pooledStore(t, mgmt, memory.New())
	for name, uri := range map[string]string{"up": "memory://up", "down": "memory://down", "broken": "memory://broken"} {
		if _, err := mgmt.Pools().Put(t.Context(), zaqar.Pool{Name: name, URI: uri, Weight: 1}); err != nil {
			t.Fatal(err)
		}
	}
	a := adminAPI(t, s, nil, true)
	r := a.expect("GET", "/v2/health", "", 200, "X-Roles", "admin")
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"broken", "catalog_reachable", "down", "up", "virtual_pool"}; !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	if string(doc["catalog_reachable"]) != "false" {
		t.Errorf("catalog_reachable = %s with a pool down", doc["catalog_reachable"])
	}
	for _, name := range []string{"up", "virtual_pool"} {
		h := decodeStoreHealth(t, doc[name])
		ok, failed := h.succeeded()
		if !*h.StorageReachable || !slices.Equal(ok, allOperations) || failed != nil || h.MessageVolume == nil {
			t.Errorf("pool %s: %s", name, doc[name])
		}
	}
	for _, name := range []string{"down", "broken"} {
		h := decodeStoreHealth(t, doc[name])
		ok, failed := h.succeeded()
		if *h.StorageReachable || ok != nil || !slices.Equal(failed, []string{"create_queue"}) {
			t.Errorf("pool %s: %s", name, doc[name])
		}
	}

	// Without the bad pools every pool answers.
	mgmt.Pools().Delete(t.Context(), "down")
	mgmt.Pools().Delete(t.Context(), "broken")
	r = a.expect("GET", "/v2/health", "", 200, "X-Roles", "admin")
	if err := json.Unmarshal(r.body, &doc); err != nil || string(doc["catalog_reachable"]) != "true" {
		t.Errorf("health with every pool up: %s", r.body)
	}
}

// The catalog not answering is a 503 with Zaqar's error document.
func TestHealthCatalogDown(t *testing.T) {
	s, _ := pooledStore(t, catalogDown{memory.New()}, nil)
	a := adminAPI(t, s, nil, true)
	r := a.expect("GET", "/v2/health", "", 503, "X-Roles", "admin")
	equalJSON(t, r.body, `{"title":"Service temporarily unavailable","description":"Health status could not be read. Please try again in a few seconds."}`)
}

// pinging counts pings and can fail them.
type pinging struct {
	storage.Store
	down  atomic.Bool
	pings atomic.Int64
}

func (p *pinging) Ping(ctx context.Context) error {
	p.pings.Add(1)
	if p.down.Load() {
		return errRefused
	}
	return p.Store.Ping(ctx)
}

// The probes answer without credentials, Client-ID or project; readiness
// follows the store, reusing an answer for ReadyTTL.
func TestReadiness(t *testing.T) {
	st := &pinging{Store: memory.New()}
	refuse := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	}
	a := newAPIWith(t, st, service.Options{Limits: zaqar.DefaultLimits(), ReadyTTL: time.Hour}, rest.Options{Authenticate: refuse})
	a.expect("GET", "/v2/queues", "", 401)
	noHeaders := []string{"Client-ID", "-", "X-Project-ID", "-"}
	r := a.expect("GET", "/healthz/live", "", 200, noHeaders...)
	equalJSON(t, r.body, `{"status":"alive"}`)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if r := a.do("GET", "/healthz/ready", "", noHeaders...); r.status != 200 || string(r.body) != "{\"status\":\"ready\"}\n" {
				t.Errorf("ready = %d %s", r.status, r.body)
			}
		})
	}
	wg.Wait()
	if n := st.pings.Load(); n != 1 {
		t.Errorf("%d pings for 20 readiness checks within ReadyTTL, want 1", n)
	}
	st.down.Store(true)
	a.expect("GET", "/healthz/ready", "", 200, noHeaders...) // cached
	a.expect("GET", "/healthz/live", "", 200, noHeaders...)

	st = &pinging{Store: memory.New()}
	a = newAPIWith(t, st, service.Options{Limits: zaqar.DefaultLimits(), ReadyTTL: time.Millisecond}, rest.Options{})
	a.expect("GET", "/healthz/ready", "", 200, noHeaders...)
	st.down.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for a.do("GET", "/healthz/ready", "", noHeaders...).status != 503 {
		if time.Now().After(deadline) {
			t.Fatal("readiness still 200 ten seconds after the store went down")
		}
	}
	r = a.expect("GET", "/healthz/ready", "", 503, noHeaders...)
	equalJSON(t, r.body, `{"status":"unavailable"}`)
	st.down.Store(false)
	for a.do("GET", "/healthz/ready", "", noHeaders...).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("readiness still 503 after the store came back")
		}
	}
}

// With pooling one answering pool is enough; none, or no catalog, is not.
func TestReadinessPools(t *testing.T) {
	mgmt := memory.New()
	s, _ := pooledStore(t, mgmt, nil)
	a := newAPIWith(t, s, service.Options{Limits: zaqar.DefaultLimits(), ReadyTTL: time.Nanosecond}, rest.Options{})
	a.expect("GET", "/healthz/ready", "", 200) // no pool yet
	put := func(name, uri string) {
		if _, err := mgmt.Pools().Put(t.Context(), zaqar.Pool{Name: name, URI: uri, Weight: 1}); err != nil {
			t.Fatal(err)
		}
	}
	put("down", "memory://down")
	put("broken", "memory://broken")
	a.expect("GET", "/healthz/ready", "", 503)
	put("up", "memory://up")
	a.expect("GET", "/healthz/ready", "", 200)

	s, _ = pooledStore(t, catalogDown{memory.New()}, nil)
	a = newAPIWith(t, s, service.Options{Limits: zaqar.DefaultLimits()}, rest.Options{})
	a.expect("GET", "/healthz/ready", "", 503)
}
