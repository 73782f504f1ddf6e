package redis

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

var (
	errShortReply  = errors.New("script answered fewer results than it was given operations")
	errRunPanicked = errors.New("the grouped call panicked")
)

// combiner runs concurrent operations of one kind on one queue as a single
// script call, a group commit: while a call for a queue is in flight, the
// requests that arrive for it wait and then go together in the next call.
// What Redis charges per call (starting the script, the round trip, one
// command in go-redis) is then paid once per group rather than per request
// (a quarter of Redis's CPU per single-message post at 16 producers); a
// request that finds its queue idle goes at once, so an unloaded queue
// gains no latency.
//
// The queue's keys share a hash slot, so a group is one script on one node
// even in Redis Cluster. A group runs as one script, so no other client
// sees it half done; its requests are applied in arrival order, and an
// error (Redis unreachable, say) fails every request of the group.
type combiner[T, R any] struct {
	// run performs items (all on one queue, which they name) and returns
	// one result per item, or an error for them all.
	run func(ctx context.Context, items []T) ([]R, error)
	// limit caps a group's total weight (a request heavier than it goes
	// alone), so one script call stays small enough not to stall Redis.
	limit int

	mu    sync.Mutex
	lanes map[string]*lane[T, R]
	// calls counts the groups run, for tests to see that requests share.
	calls atomic.Int64
}

// lane is one queue's state: whether a group is in flight, and the groups
// waiting behind it in order.
type lane[T, R any] struct {
	busy    bool
	waiting []*group[T, R]
}

type group[T, R any] struct {
	items  []T
	weight int
	// ready is closed when the group may run; its first member (the
	// leader) runs it for everyone. done is closed when the results are in.
	ready, done chan struct{}
	results     []R
	err         error
}

func newCombiner[T, R any](limit int, run func(ctx context.Context, items []T) ([]R, error)) *combiner[T, R] {
	return &combiner[T, R]{run: run, limit: limit, lanes: map[string]*lane[T, R]{}}
}

// do performs item (of the given weight) on the queue named by key, with
// whatever other requests for it are waiting, and returns its own result.
//
// The group runs under ctx's values but not its cancellation: the leader's
// client leaving must not fail the others' requests. Redis's read and
// write timeouts still bound the call.
func (c *combiner[T, R]) do(ctx context.Context, key string, item T, weight int) (R, error) {
	c.mu.Lock()
	l := c.lanes[key]
	if l == nil {
		l = &lane[T, R]{}
		c.lanes[key] = l
	}
	if !l.busy {
		l.busy = true
		c.mu.Unlock()
		g := &group[T, R]{items: []T{item}}
		c.exec(ctx, key, l, g)
		return g.result(0)
	}
	var g *group[T, R]
	leader := false
	if n := len(l.waiting); n > 0 && l.waiting[n-1].weight+weight <= c.limit {
		g = l.waiting[n-1]
	} else {
		g = &group[T, R]{ready: make(chan struct{}), done: make(chan struct{})}
		l.waiting = append(l.waiting, g)
		leader = true
	}
	i := len(g.items)
	g.items = append(g.items, item)
	g.weight += weight
	c.mu.Unlock()

	if leader {
		<-g.ready
		c.exec(ctx, key, l, g)
	} else {
		<-g.done
	}
	return g.result(i)
}

// exec runs g, publishes its results and starts the next waiting group of
// the lane (or marks the lane idle). A panic in run still releases the
// group (with an error) and the lane before it goes on up, so no request
// waits forever behind it.
func (c *combiner[T, R]) exec(ctx context.Context, key string, l *lane[T, R], g *group[T, R]) {
	finished := false
	defer func() {
		if !finished {
			g.results, g.err = nil, unavailable(errRunPanicked)
		}
		if g.done != nil {
			close(g.done)
		}
		c.next(key, l)
	}()
	c.calls.Add(1)
	g.results, g.err = c.run(context.WithoutCancel(ctx), g.items)
	finished = true
}

// next starts the lane's next waiting group, or marks the lane idle.
func (c *combiner[T, R]) next(key string, l *lane[T, R]) {
	c.mu.Lock()
	if len(l.waiting) == 0 {
		l.busy = false
		delete(c.lanes, key)
	} else {
		next := l.waiting[0]
		l.waiting[0] = nil
		l.waiting = l.waiting[1:]
		close(next.ready)
	}
	c.mu.Unlock()
}

func (g *group[T, R]) result(i int) (R, error) {
	var zero R
	if g.err != nil {
		return zero, g.err
	}
	if i >= len(g.results) {
		return zero, unavailable(errShortReply)
	}
	return g.results[i], nil
}
