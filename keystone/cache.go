package keystone

import (
	"container/list"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

// cache is a bounded LRU of validation results keyed by the SHA-256 of the
// token: the token itself is never stored.
type cache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // front: most recently used; values are *item
	items map[[sha256.Size]byte]*list.Element
}

type item struct {
	key [sha256.Size]byte
	entry
}

// entry is a positive (id) or negative (err, ErrInvalidToken) result.
type entry struct {
	id      Identity
	err     error
	expires time.Time
}

func newCache(max int) *cache {
	return &cache{max: max, ll: list.New(), items: make(map[[sha256.Size]byte]*list.Element)}
}

func (c *cache) get(key [sha256.Size]byte, now time.Time) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return entry{}, false
	}
	it := el.Value.(*item)
	if !now.Before(it.expires) {
		c.ll.Remove(el)
		delete(c.items, key)
		return entry{}, false
	}
	c.ll.MoveToFront(el)
	return it.entry, true
}

func (c *cache) put(key [sha256.Size]byte, e entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*item).entry = e
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&item{key: key, entry: e})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*item).key)
	}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// flightGroup coalesces concurrent validations of one token into one
// Keystone request (a hand-written singleflight).
type flightGroup struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*flight
}

type flight struct {
	done    chan struct{}
	waiters int // callers waiting, for tests
	id      Identity
	err     error
}

// do runs fn once for all concurrent callers with key. fn runs under a
// context that is not cancelled with the first caller's (one client hanging
// up must not fail the others); each caller stops waiting when its own ctx
// ends.
func (g *flightGroup) do(ctx context.Context, key [sha256.Size]byte, fn func(context.Context) (Identity, error)) (Identity, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[[sha256.Size]byte]*flight)
	}
	f, ok := g.m[key]
	if !ok {
		f = &flight{done: make(chan struct{})}
		g.m[key] = f
		go func() {
			f.id, f.err = fn(context.WithoutCancel(ctx))
			g.mu.Lock()
			delete(g.m, key)
			g.mu.Unlock()
			close(f.done)
		}()
	}
	f.waiters++
	g.mu.Unlock()

	select {
	case <-f.done:
		id := f.id
		id.Roles = append([]string(nil), id.Roles...)
		return id, f.err
	case <-ctx.Done():
		return Identity{}, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}

// waiting is the number of callers that joined the flight for key.
func (g *flightGroup) waiting(key [sha256.Size]byte) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f.waiters
	}
	return 0
}
