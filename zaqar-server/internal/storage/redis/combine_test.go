package redis

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
)

// recorder is a combiner's run function that records the groups it is
// given and answers each item doubled; the first call on a key waits for
// release, so the requests behind it pile up.
type recorder struct {
	mu      sync.Mutex
	groups  [][]int
	release chan struct{}
	entered chan struct{}
	err     error
}

func newRecorder() *recorder {
	return &recorder{release: make(chan struct{}), entered: make(chan struct{}, 100)}
}

func (r *recorder) run(ctx context.Context, items []int) ([]int, error) {
	r.entered <- struct{}{}
	<-r.release
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	r.mu.Lock()
	r.groups = append(r.groups, slices.Clone(items))
	r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	out := make([]int, len(items))
	for i, v := range items {
		out[i] = 2 * v
	}
	return out, nil
}

// waiting is how many requests wait behind the group in flight on key.
func waiting[T, R any](c *combiner[T, R], key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	if l := c.lanes[key]; l != nil {
		for _, g := range l.waiting {
			n += len(g.items)
		}
	}
	return n
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, what, 5*time.Second, time.Millisecond, cond)
}

func TestCombinerGroupsWaitingRequests(t *testing.T) {
	r := newRecorder()
	c := newCombiner(100, r.run)
	ctx := t.Context()

	results := make([]int, 6)
	errs := make([]error, 6)
	var wg sync.WaitGroup
	wg.Go(func() { results[0], errs[0] = c.do(ctx, "q", 0, 1) })
	<-r.entered // the first request runs alone, at once
	for i := 1; i < 6; i++ {
		wg.Go(func() { results[i], errs[i] = c.do(ctx, "q", i, 1) })
	}
	waitUntil(t, "five requests to wait", func() bool { return waiting(c, "q") == 5 })
	close(r.release)
	wg.Wait()

	for i := range 6 {
		if errs[i] != nil || results[i] != 2*i {
			t.Errorf("request %d: got %d, %v; want %d", i, results[i], errs[i], 2*i)
		}
	}
	if len(r.groups) != 2 || len(r.groups[0]) != 1 || len(r.groups[1]) != 5 {
		t.Fatalf("groups %v, want one of 1 then one of 5", r.groups)
	}
	if len(c.lanes) != 0 {
		t.Errorf("%d lanes left after the last group", len(c.lanes))
	}
}

func TestCombinerLimitSplitsGroups(t *testing.T) {
	r := newRecorder()
	c := newCombiner(3, r.run)
	ctx := t.Context()
	var wg sync.WaitGroup
	wg.Go(func() { c.do(ctx, "q", 0, 1) })
	<-r.entered
	// Weights 2, 1, 2, 5: groups {1,2} (3), {3} (2, as 5 more would pass 3), {4} alone.
	for i, w := range []int{2, 1, 2, 5} {
		wg.Go(func() { c.do(ctx, "q", i+1, w) })
		waitUntil(t, "the request to wait", func() bool { return waiting(c, "q") == i+1 })
	}
	close(r.release)
	wg.Wait()
	want := [][]int{{0}, {1, 2}, {3}, {4}}
	if !slices.EqualFunc(r.groups, want, slices.Equal) {
		t.Fatalf("groups %v, want %v", r.groups, want)
	}
}

func TestCombinerErrorReachesTheWholeGroup(t *testing.T) {
	r := newRecorder()
	r.err = errors.New("redis down")
	c := newCombiner(100, r.run)
	ctx := t.Context()
	errs := make([]error, 4)
	var wg sync.WaitGroup
	wg.Go(func() { _, errs[0] = c.do(ctx, "q", 0, 1) })
	<-r.entered
	for i := 1; i < 4; i++ {
		wg.Go(func() { _, errs[i] = c.do(ctx, "q", i, 1) })
	}
	waitUntil(t, "three requests to wait", func() bool { return waiting(c, "q") == 3 })
	close(r.release)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, r.err) {
			t.Errorf("request %d: error %v, want %v", i, err, r.err)
		}
	}
}

// A group's leader whose client has gone must still run the group for the
// others: the run does not inherit its cancellation.
func TestCombinerLeaderCancelled(t *testing.T) {
	r := newRecorder()
	c := newCombiner(100, r.run)
	var wg sync.WaitGroup
	wg.Go(func() { c.do(t.Context(), "q", 0, 1) })
	<-r.entered
	leaderCtx, cancel := context.WithCancel(t.Context())
	var leaderErr, followerErr error
	var follower int
	wg.Go(func() { _, leaderErr = c.do(leaderCtx, "q", 1, 1) })
	waitUntil(t, "the leader to wait", func() bool { return waiting(c, "q") == 1 })
	wg.Go(func() { follower, followerErr = c.do(t.Context(), "q", 2, 1) })
	waitUntil(t, "the follower to wait", func() bool { return waiting(c, "q") == 2 })
	cancel()
	close(r.release)
	wg.Wait()
	if leaderErr != nil || followerErr != nil || follower != 4 {
		t.Fatalf("leader %v, follower %d, %v; want both done", leaderErr, follower, followerErr)
	}
}

// Queues do not wait for each other.
func TestCombinerKeysIndependent(t *testing.T) {
	r := newRecorder()
	c := newCombiner(100, r.run)
	var wg sync.WaitGroup
	wg.Go(func() { c.do(t.Context(), "a", 0, 1) })
	wg.Go(func() { c.do(t.Context(), "b", 1, 1) })
	<-r.entered
	<-r.entered // both in flight at once
	close(r.release)
	wg.Wait()
	if len(r.groups) != 2 {
		t.Fatalf("groups %v, want two of one", r.groups)
	}
}

// A panicking run fails its group and frees the lane; the leader's panic
// goes on up (to the transport's recoverer).
func TestCombinerPanicReleasesTheLane(t *testing.T) {
	r := newRecorder()
	first := true
	c := newCombiner(100, func(ctx context.Context, items []int) ([]int, error) {
		if first {
			first = false
			r.entered <- struct{}{}
			<-r.release
			panic("boom")
		}
		return r.run(ctx, items)
	})
	var wg sync.WaitGroup
	var panicked any
	wg.Go(func() {
		defer func() { panicked = recover() }()
		c.do(t.Context(), "q", 0, 1)
	})
	<-r.entered
	var followerErr error
	wg.Go(func() { _, followerErr = c.do(t.Context(), "q", 1, 1) })
	waitUntil(t, "the follower to wait", func() bool { return waiting(c, "q") == 1 })
	close(r.release)
	wg.Wait()
	if panicked == nil {
		t.Error("the leader's panic was swallowed")
	}
	if followerErr != nil {
		t.Errorf("the next group failed: %v", followerErr)
	}
	got, err := c.do(t.Context(), "q", 5, 1)
	if err != nil || got != 10 {
		t.Fatalf("after the panic: %d, %v", got, err)
	}
}
