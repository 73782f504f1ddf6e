package memory

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var _ storage.CatalogStore = (*Store)(nil)

// catalog is the pooling catalog of a management store. It is small
// (pools, flavors, one entry per queue) and has its own lock, never taken
// with the queue locks. The zero value is empty and usable.
type catalog struct {
	mu      sync.RWMutex
	pools   map[string]zaqar.Pool // by name; Options normalized
	flavors map[string]map[string]bool
	placed  map[zaqar.QueueRef]string
	perPool map[string]int
}

func (c *catalog) init() {
	if c.pools == nil {
		c.pools = map[string]zaqar.Pool{}
		c.flavors = map[string]map[string]bool{}
		c.placed = map[zaqar.QueueRef]string{}
		c.perPool = map[string]int{}
	}
}

// Pools, Flavors and Catalogue make the store a storage.CatalogStore, so it
// can be the management store of storage/pooled.
func (s *Store) Pools() storage.PoolStore          { return (*poolStore)(s) }
func (s *Store) Flavors() storage.FlavorStore      { return (*flavorStore)(s) }
func (s *Store) Catalogue() storage.CatalogueStore { return (*catalogueStore)(s) }

type (
	poolStore      Store
	flavorStore    Store
	catalogueStore Store
)

func copyPool(p zaqar.Pool) zaqar.Pool {
	p.Options = deepCopy(p.Options)
	return p
}

// uriTaken reports whether a pool other than name has uri; c.mu held.
func (c *catalog) uriTaken(uri, name string) bool {
	for n, p := range c.pools {
		if p.URI == uri && n != name {
			return true
		}
	}
	return false
}

func (ps *poolStore) Put(ctx context.Context, p zaqar.Pool) (bool, error) {
	opts, err := normalize(p.Options)
	if err != nil {
		return false, err
	}
	p.Options = opts
	c := &ps.cat
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	if c.uriTaken(p.URI, p.Name) {
		return false, storage.ErrPoolURIInUse
	}
	_, exists := c.pools[p.Name]
	c.pools[p.Name] = p
	return !exists, nil
}

func (ps *poolStore) Get(ctx context.Context, name string) (zaqar.Pool, error) {
	c := &ps.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.pools[name]
	if !ok {
		return zaqar.Pool{}, storage.ErrPoolNotFound
	}
	return copyPool(p), nil
}

func (ps *poolStore) Update(ctx context.Context, name string, u storage.PoolUpdate) error {
	var opts map[string]any
	if u.Options != nil {
		var err error
		if opts, err = normalize(u.Options); err != nil {
			return err
		}
	}
	c := &ps.cat
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pools[name]
	if !ok {
		return storage.ErrPoolNotFound
	}
	if u.URI != nil && c.uriTaken(*u.URI, name) {
		return storage.ErrPoolURIInUse
	}
	u.Options = opts // normalized, or nil when unchanged
	c.pools[name] = u.Apply(p)
	return nil
}

func (ps *poolStore) Delete(ctx context.Context, name string) error {
	c := &ps.cat
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pools, name)
	return nil
}

func (ps *poolStore) List(ctx context.Context, marker string, limit int) ([]zaqar.Pool, error) {
	c := &ps.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	names := make([]string, 0, len(c.pools))
	for n := range c.pools {
		if n > marker {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	out := make([]zaqar.Pool, len(names))
	for i, n := range names {
		out[i] = copyPool(c.pools[n])
	}
	return out, nil
}

func (fs *flavorStore) Put(ctx context.Context, f zaqar.Flavor) (bool, error) {
	c := &fs.cat
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	names := c.flavors[f.Project]
	if names == nil {
		names = map[string]bool{}
		c.flavors[f.Project] = names
	}
	if names[f.Name] {
		return false, nil
	}
	names[f.Name] = true
	return true, nil
}

func (fs *flavorStore) Get(ctx context.Context, project, name string) (zaqar.Flavor, error) {
	c := &fs.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.flavors[project][name] {
		return zaqar.Flavor{}, storage.ErrFlavorNotFound
	}
	return zaqar.Flavor{Project: project, Name: name}, nil
}

func (fs *flavorStore) Delete(ctx context.Context, project, name string) error {
	c := &fs.cat
	c.mu.Lock()
	defer c.mu.Unlock()
	if names := c.flavors[project]; names != nil {
		delete(names, name)
		if len(names) == 0 {
			delete(c.flavors, project)
		}
	}
	return nil
}

func (fs *flavorStore) List(ctx context.Context, project, marker string, limit int) ([]zaqar.Flavor, error) {
	c := &fs.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	var names []string
	for n := range c.flavors[project] {
		if n > marker {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	out := make([]zaqar.Flavor, len(names))
	for i, n := range names {
		out[i] = zaqar.Flavor{Project: project, Name: n}
	}
	return out, nil
}

func (cs *catalogueStore) Lookup(ctx context.Context, q zaqar.QueueRef) (string, error) {
	c := &cs.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	pool, ok := c.placed[q]
	if !ok {
		return "", storage.ErrQueueNotMapped
	}
	return pool, nil
}

func (cs *catalogueStore) Insert(ctx context.Context, q zaqar.QueueRef, pool string) (string, error) {
	c := &cs.cat
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	if cur, ok := c.placed[q]; ok {
		return cur, nil
	}
	c.placed[q] = pool
	c.perPool[pool]++
	return pool, nil
}

func (cs *catalogueStore) Delete(ctx context.Context, q zaqar.QueueRef, pool string) error {
	c := &cs.cat
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.placed[q]; ok && cur == pool {
		delete(c.placed, q)
		if c.perPool[pool]--; c.perPool[pool] <= 0 {
			delete(c.perPool, pool)
		}
	}
	return nil
}

func (cs *catalogueStore) Count(ctx context.Context, pool string) (int, error) {
	c := &cs.cat
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.perPool[pool], nil
}
