package pooled

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var (
	_ storage.Store        = (*Store)(nil)
	_ storage.CatalogStore = (*Store)(nil)
	_ storage.PoolSet      = (*Store)(nil)
)

// Opener opens the store a pool URI names; the caller closes it.
type Opener func(ctx context.Context, uri string, options map[string]any) (storage.Store, error)

// Options configure a pooled Store.
type Options struct {
	// Open opens pool stores; required.
	Open Opener
	// Capabilities lists what the driver of a URI offers, with Zaqar's
	// names (FIFO, CLAIMS, DURABILITY, AOD, HIGH_THROUGHPUT); nil knows none.
	Capabilities func(uri string) []string
	// Default, when set, is the virtual pool (see the package comment).
	Default storage.Store
	// PoolTTL is how long a pool record is trusted before it is read again
	// (default 10s, Zaqar's pool cache TTL).
	PoolTTL time.Duration
	Logger  *slog.Logger
}

// Store routes every queue to its pool. It owns the management store, the
// default store and the pool stores it opens: Close closes them all.
type Store struct {
	mgmt storage.Store
	cat  storage.CatalogStore
	def  storage.Store
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	drivers map[string]*driver // by pool name
	retired []storage.Store    // replaced when a pool's URI changed; closed by Close
	closed  bool
}

type driver struct {
	uri   string
	store storage.Store
	read  time.Time // when the pool record was last read
}

// New returns a pooled store over management, which must implement
// storage.CatalogStore.
func New(management storage.Store, opts Options) (*Store, error) {
	cat, ok := management.(storage.CatalogStore)
	if !ok {
		return nil, fmt.Errorf("pooling: the management store %T cannot keep a pool catalog", management)
	}
	if opts.Open == nil {
		return nil, errors.New("pooling: no way to open pools")
	}
	if opts.PoolTTL <= 0 {
		opts.PoolTTL = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{mgmt: management, cat: cat, def: opts.Default, opts: opts, log: log, drivers: map[string]*driver{}}, nil
}

func (s *Store) Queues() storage.QueueStore               { return (*queueStore)(s) }
func (s *Store) Messages() storage.MessageStore           { return (*messageStore)(s) }
func (s *Store) Claims() storage.ClaimStore               { return (*claimStore)(s) }
func (s *Store) Subscriptions() storage.SubscriptionStore { return (*subscriptionStore)(s) }

// Ping checks the management store and every pool, as Zaqar's is_alive.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.mgmt.Ping(ctx); err != nil {
		return err
	}
	stores, err := s.all(ctx)
	if err != nil {
		return err
	}
	for _, st := range stores {
		if err := st.Ping(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the pool stores, the default store and the management store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, d := range s.drivers {
		errs = append(errs, d.store.Close())
	}
	for _, st := range s.retired {
		errs = append(errs, st.Close())
	}
	if s.def != nil && s.def != s.mgmt {
		errs = append(errs, s.def.Close())
	}
	errs = append(errs, s.mgmt.Close())
	return errors.Join(errs...)
}

// Probe reports whether uri opens and answers; a pool already open with
// that URI is pinged rather than opened twice (an embedded file may be held
// by one handle only).
func (s *Store) Probe(ctx context.Context, uri string, options map[string]any) error {
	s.mu.Lock()
	for _, d := range s.drivers {
		if d.uri == uri {
			st := d.store
			s.mu.Unlock()
			return st.Ping(ctx)
		}
	}
	s.mu.Unlock()
	st, err := s.opts.Open(ctx, uri, options)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Ping(ctx)
}

// Capabilities lists what the driver of uri offers.
func (s *Store) Capabilities(uri string) []string {
	if s.opts.Capabilities == nil {
		return nil
	}
	return s.opts.Capabilities(uri)
}

func unavailable(err error) error {
	var ze *zaqar.Error
	if errors.As(err, &ze) {
		return err
	}
	return zaqar.Unavailablef(err, "")
}

// pool returns the store of a pool by name, reading its record when the
// cached one is older than PoolTTL.
func (s *Store) pool(ctx context.Context, name string) (storage.Store, error) {
	s.mu.Lock()
	if d := s.drivers[name]; d != nil && time.Since(d.read) < s.opts.PoolTTL {
		st := d.store
		s.mu.Unlock()
		return st, nil
	}
	s.mu.Unlock()
	p, err := s.cat.Pools().Get(ctx, name)
	if errors.Is(err, storage.ErrPoolNotFound) {
		return nil, zaqar.Unavailablef(fmt.Errorf("pool %q is in the catalog but not registered", name), "")
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return s.open(ctx, p)
}

// open returns the store of p, reusing the cached one while p's URI is
// the same.
func (s *Store) open(ctx context.Context, p zaqar.Pool) (storage.Store, error) {
	s.mu.Lock()
	if d := s.drivers[p.Name]; d != nil && d.uri == p.URI {
		d.read = time.Now()
		st := d.store
		s.mu.Unlock()
		return st, nil
	}
	s.mu.Unlock()
	st, err := s.opts.Open(ctx, p.URI, p.Options)
	if err != nil {
		return nil, zaqar.Unavailablef(fmt.Errorf("pool %q: %w", p.Name, err), "")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		st.Close()
		return nil, zaqar.Unavailablef(errors.New("pooled store closed"), "")
	}
	if d := s.drivers[p.Name]; d != nil {
		if d.uri == p.URI { // opened by another caller meanwhile
			st.Close()
			d.read = time.Now()
			return d.store, nil
		}
		// In-flight calls may still use the old store: it is closed last.
		s.retired = append(s.retired, d.store)
		s.log.Info("pool URI changed: reopened", "pool", p.Name)
	}
	s.drivers[p.Name] = &driver{uri: p.URI, store: st, read: time.Now()}
	return st, nil
}

// forget makes the next use of a pool read its record again.
func (s *Store) forget(name string) {
	s.mu.Lock()
	if d := s.drivers[name]; d != nil {
		d.read = time.Time{}
	}
	s.mu.Unlock()
}

// all returns the store of every pool in name order, then the default
// store; a pool that does not open fails the call.
func (s *Store) all(ctx context.Context) ([]storage.Store, error) {
	named, err := s.PoolStores(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]storage.Store, len(named))
	for i, n := range named {
		if n.Err != nil {
			return nil, n.Err
		}
		out[i] = n.Store
	}
	return out, nil
}

// PoolStores returns the store of every pool in name order, then the
// default store (name ""). A pool that does not open is listed with its
// error: health shows it as unreachable, next to the pools that answer.
func (s *Store) PoolStores(ctx context.Context) ([]storage.NamedStore, error) {
	pools, err := s.cat.Pools().List(ctx, "", 0)
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]storage.NamedStore, 0, len(pools)+1)
	for _, p := range pools {
		st, err := s.open(ctx, p)
		out = append(out, storage.NamedStore{Name: p.Name, Store: st, Err: err})
	}
	if s.def != nil {
		out = append(out, storage.NamedStore{Store: s.def})
	}
	return out, nil
}

// route returns the store of q and the pool it is placed on; for a name
// with no placement pool is "" and the store is the default store, or nil
// without one.
func (s *Store) route(ctx context.Context, q zaqar.QueueRef) (storage.Store, string, error) {
	pool, err := s.cat.Catalogue().Lookup(ctx, q)
	if errors.Is(err, storage.ErrQueueNotMapped) {
		return s.def, "", nil
	}
	if err != nil {
		return nil, "", unavailable(err)
	}
	st, err := s.pool(ctx, pool)
	return st, pool, err
}

var errNoPool = errors.New("no pools registered")

// place returns the store of q for a write, placing q first when it has no
// placement yet: flavor chooses among the pools as described in the
// package comment.
func (s *Store) place(ctx context.Context, q zaqar.QueueRef, flavor string) (storage.Store, error) {
	st, pool, err := s.route(ctx, q)
	if err != nil || pool != "" {
		return st, err
	}
	if s.def != nil {
		if in, err := holds(ctx, s.def, q); err != nil || in {
			return s.def, err
		}
	}
	for range 3 {
		chosen, err := s.choose(ctx, q.Owner(), flavor)
		if errors.Is(err, errNoPool) && s.def != nil {
			return s.def, nil
		}
		if errors.Is(err, errNoPool) {
			// Zaqar answers NoPoolFound with a 503 naming the operation.
			return nil, zaqar.Unavailablef(err, "")
		}
		if err != nil {
			return nil, err
		}
		placed, err := s.cat.Catalogue().Insert(ctx, q, chosen)
		if err != nil {
			return nil, unavailable(err)
		}
		// Read the record after placing: a pool deleted in between (its
		// deletion checks for placements after removing the record) must
		// not receive the queue.
		p, err := s.cat.Pools().Get(ctx, placed)
		if errors.Is(err, storage.ErrPoolNotFound) {
			if err := s.cat.Catalogue().Delete(ctx, q, placed); err != nil {
				return nil, unavailable(err)
			}
			continue
		}
		if err != nil {
			return nil, unavailable(err)
		}
		return s.open(ctx, p)
	}
	return nil, zaqar.Unavailablef(errors.New("pools keep disappearing while placing a queue"), "")
}

// choose picks a pool for a new queue of project: among the pools of
// flavor, or the pools without a flavor when flavor is "", at random in
// proportion to their weights (zaqar/common/storage/select.py weighted).
func (s *Store) choose(ctx context.Context, project, flavor string) (string, error) {
	if flavor != "" {
		_, err := s.cat.Flavors().Get(ctx, project, flavor)
		if errors.Is(err, storage.ErrFlavorNotFound) {
			return "", zaqar.Invalidf("Flavor %s does not exist", flavor)
		}
		if err != nil {
			return "", unavailable(err)
		}
	}
	pools, err := s.cat.Pools().List(ctx, "", 0)
	if err != nil {
		return "", unavailable(err)
	}
	var total int64
	for _, p := range pools {
		if p.Flavor == flavor && p.Weight > 0 {
			total += p.Weight
		}
	}
	if total == 0 {
		return "", errNoPool
	}
	r := rand.Int64N(total)
	for _, p := range pools {
		if p.Flavor != flavor || p.Weight <= 0 {
			continue
		}
		if r < p.Weight {
			return p.Name, nil
		}
		r -= p.Weight
	}
	return "", errNoPool // unreachable
}

// holds reports whether st has anything under q's name: the queue or a
// subscription.
func holds(ctx context.Context, st storage.Store, q zaqar.QueueRef) (bool, error) {
	_, err := st.Queues().Get(ctx, q)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, storage.ErrQueueNotFound) {
		return false, err
	}
	subs, err := st.Subscriptions().List(ctx, q, "", 1)
	return len(subs) > 0, err
}

// release drops q's placement on pool once the pool holds nothing under
// its name. A write routed by the old placement may race the removal, so
// what is still there afterwards is placed back.
func (s *Store) release(ctx context.Context, q zaqar.QueueRef, pool string, st storage.Store) {
	if in, err := holds(ctx, st, q); err != nil || in {
		return
	}
	if err := s.cat.Catalogue().Delete(ctx, q, pool); err != nil {
		s.log.WarnContext(ctx, "pooling: cannot remove a placement", "project", q.Project, "queue", q.Name, "pool", pool, "err", err)
		return
	}
	if in, err := holds(ctx, st, q); err == nil && in {
		if now, err := s.cat.Catalogue().Insert(ctx, q, pool); err == nil && now != pool {
			s.log.ErrorContext(ctx, "pooling: queue written on two pools", "project", q.Project, "queue", q.Name, "pools", []string{pool, now})
		}
	}
}

// Pools, Flavors and Catalogue expose the catalog of the management store
// to the pools and flavors API. Pool changes made here reach this store's
// cache at once; other API nodes see them within PoolTTL.
func (s *Store) Pools() storage.PoolStore          { return poolStore{s} }
func (s *Store) Flavors() storage.FlavorStore      { return s.cat.Flavors() }
func (s *Store) Catalogue() storage.CatalogueStore { return s.cat.Catalogue() }

type poolStore struct{ s *Store }

func (p poolStore) Put(ctx context.Context, pool zaqar.Pool) (bool, error) {
	defer p.s.forget(pool.Name)
	return p.s.cat.Pools().Put(ctx, pool)
}

func (p poolStore) Get(ctx context.Context, name string) (zaqar.Pool, error) {
	return p.s.cat.Pools().Get(ctx, name)
}

func (p poolStore) Update(ctx context.Context, name string, u storage.PoolUpdate) error {
	defer p.s.forget(name)
	return p.s.cat.Pools().Update(ctx, name, u)
}

func (p poolStore) Delete(ctx context.Context, name string) error {
	defer p.s.forget(name)
	return p.s.cat.Pools().Delete(ctx, name)
}

func (p poolStore) List(ctx context.Context, marker string, limit int) ([]zaqar.Pool, error) {
	return p.s.cat.Pools().List(ctx, marker, limit)
}

var _ storage.Signaler = (*Store)(nil)

// Watch implements storage.Signaler by passing the watch to the store of
// q's pool. A queue not placed yet is watched on every pool (and the
// default store), as its first post may place it on any of them. When one
// of those stores cannot signal (MongoDB), Watch answers ErrNoSignals and
// q's waiters poll. A queue moved after the watch began is not followed:
// its waiters' periodic re-check finds its messages.
func (s *Store) Watch(ctx context.Context, q zaqar.QueueRef, wake func(n int)) (func(), error) {
	st, pool, err := s.route(ctx, q)
	if err != nil {
		return nil, err
	}
	var stores []storage.Store
	if st != nil {
		stores = append(stores, st)
	}
	if pool == "" {
		pools, err := s.cat.Pools().List(ctx, "", 0)
		if err != nil {
			return nil, unavailable(err)
		}
		for _, p := range pools {
			st, err := s.open(ctx, p)
			if err != nil {
				return nil, err
			}
			stores = append(stores, st)
		}
	}
	var sigs []storage.Signaler
	for _, st := range stores {
		sig := storage.SignalerOf(st)
		if sig == nil {
			return nil, storage.ErrNoSignals
		}
		if !slices.Contains(sigs, sig) { // one wake-up per post
			sigs = append(sigs, sig)
		}
	}
	if len(sigs) == 0 {
		return nil, storage.ErrNoSignals
	}
	unwatches := make([]func(), 0, len(sigs))
	unwatch := func() {
		for _, u := range unwatches {
			u()
		}
	}
	for _, sig := range sigs {
		u, err := sig.Watch(ctx, q, wake)
		if err != nil {
			unwatch()
			return nil, err
		}
		unwatches = append(unwatches, u)
	}
	return unwatch, nil
}
