package service

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Long polling: a claim or a listing with wait=S that finds nothing is held
// until something arrives, S passes, the client goes or the server shuts
// down (see docs/long-polling.md).
//
// A waiter registers before it looks at the store and re-registers before
// every further look, so a post that commits between a look and the wait
// still finds it registered and wakes it: no lost wake-up. A post of n
// messages wakes at most n claim waiters of the queue, oldest first (a
// claimer woken for nothing goes back to the front); list waiters all wake,
// as any of them may show the messages. Wake-ups come from this node's
// posts and releases or, for a queue whose store signals (a
// storage.Signaler: Redis, or a pooled store's Redis pool), from the
// store's signals, which carry every node's. Nothing signals a delay
// ending or a claim expiring, so the store is also re-checked every
// Options.WaitRecheck (1 s); on a queue whose store cannot signal other
// nodes' posts, polled with backoff from pollFirst up to that. Claim
// waiters share one re-check per queue: a timer wakes the oldest, and a
// claimer that a re-check woke and that found messages wakes the next, so
// a thousand idle claimers cost the store one look a second, not a
// thousand. List waiters re-check on their own, as each has its own
// marker and client.
const (
	recheckEvery = time.Second
	pollFirst    = 50 * time.Millisecond
)

// WaitStats are the long-polling counters since the service started.
type WaitStats struct {
	Waiting  int64 // requests waiting now
	Woken    int64 // wake-ups handed to waiters (by posts, releases, signals)
	TimedOut int64 // waits that reached their deadline with nothing
	Refused  int64 // waits refused for a cap (answered at once)
	Rechecks int64 // re-check rounds of claim waiters (one look each, per queue)
}

// waiters holds this node's waiting requests by queue.
type waiters struct {
	max, perProject int
	signals         storage.Signaler // nil: this node's own posts only
	recheck         time.Duration
	log             *slog.Logger

	// count is read without the lock on every post, so a node where
	// nobody waits pays one atomic load per post.
	count                              atomic.Int64
	woken, timedOut, refused, rechecks atomic.Int64

	mu       sync.Mutex
	queues   map[zaqar.QueueRef]*queueWaiters
	projects map[string]int
	closed   chan struct{} // closed by release (shutdown)
	once     sync.Once
}

type queueWaiters struct {
	claims []*waiter // FIFO of claim waiters not yet woken
	lists  []*waiter // list waiters: every wake-up reaches them all
	n      int       // registered waiters, woken claimers included
	// ready is closed once the store's Watch has returned (nil without
	// signals); unwatch ends it when the last waiter leaves. signalled:
	// the store's signals carry every post and release of the queue, so
	// this node's own do not wake waiters a second time.
	ready     chan struct{}
	unwatch   func()
	signalled bool
	// recheck wakes the oldest claim waiter every interval (claim
	// waiters only; nil until the first).
	recheck  *time.Timer
	interval time.Duration
}

type waiter struct {
	q      zaqar.QueueRef
	claim  bool
	ch     chan bool // one pending wake-up at most; true: a re-check's
	queued bool      // in its queue's claims (guarded by waiters.mu)
}

func newWaiters(l zaqar.Limits, signals storage.Signaler, recheck time.Duration, log *slog.Logger) *waiters {
	if recheck <= 0 {
		recheck = recheckEvery
	}
	return &waiters{max: l.MaxWaiters, perProject: l.MaxWaitersPerProject, signals: signals, recheck: recheck, log: log,
		queues: map[zaqar.QueueRef]*queueWaiters{}, projects: map[string]int{}, closed: make(chan struct{})}
}

// add registers a waiter on q, or returns nil past a cap or after release.
// With signals, it returns once the store watches q.
func (ws *waiters) add(ctx context.Context, q zaqar.QueueRef, claim bool) *waiter {
	ws.mu.Lock()
	select {
	case <-ws.closed:
		ws.mu.Unlock()
		return nil
	default:
	}
	if int(ws.count.Load()) >= ws.max || ws.projects[q.Project] >= ws.perProject {
		ws.mu.Unlock()
		ws.refused.Add(1)
		return nil
	}
	w := &waiter{q: q, claim: claim, ch: make(chan bool, 1)}
	qw := ws.queues[q]
	first := qw == nil
	if first {
		qw = &queueWaiters{}
		if ws.signals != nil {
			qw.ready = make(chan struct{})
		}
		ws.queues[q] = qw
	}
	qw.n++
	ws.projects[q.Project]++
	ws.count.Add(1)
	if claim {
		w.queued = true
		qw.claims = append(qw.claims, w)
		if qw.recheck == nil {
			qw.interval = ws.recheck
			if ws.signals == nil {
				qw.interval = min(pollFirst, ws.recheck) // until Watch says otherwise
			}
			qw.recheck = time.AfterFunc(qw.interval, func() { ws.recheckRound(q, qw) })
		}
	} else {
		qw.lists = append(qw.lists, w)
	}
	ready := qw.ready
	ws.mu.Unlock()

	if first && ws.signals != nil {
		// qw lives while this waiter is registered, so it is still ours.
		unwatch, err := ws.signals.Watch(ctx, q, func(n int) { ws.wake(q, n) })
		if err != nil && !errors.Is(err, storage.ErrNoSignals) {
			// Not fatal: the waiters poll (see await).
			ws.log.Warn("long polling: store signals unavailable, polling", "project", q.Project, "queue", q.Name, "err", err)
		}
		ws.mu.Lock()
		qw.unwatch = unwatch
		qw.signalled = err == nil
		if !qw.signalled {
			qw.interval = min(pollFirst, ws.recheck)
		}
		ws.mu.Unlock()
		close(ready)
	} else if ready != nil {
		select {
		case <-ready:
		case <-ctx.Done():
		}
	}
	return w
}

// posted is this node's post or release of n messages on q: it wakes q's
// waiters unless the store's signals do.
func (ws *waiters) posted(q zaqar.QueueRef, n int) { ws.wakeIf(q, n, false) }

// wake hands n wake-ups to q's claim waiters in order and one to each of
// its list waiters.
func (ws *waiters) wake(q zaqar.QueueRef, n int) { ws.wakeIf(q, n, true) }

func (ws *waiters) wakeIf(q zaqar.QueueRef, n int, signalled bool) {
	if ws.count.Load() == 0 {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	qw := ws.queues[q]
	if qw == nil || (qw.signalled && !signalled) {
		return
	}
	for _, w := range qw.lists {
		signal(w, false)
	}
	k := min(n, len(qw.claims))
	for _, w := range qw.claims[:k] {
		w.queued = false
		signal(w, false)
	}
	qw.claims = append(qw.claims[:0:0], qw.claims[k:]...)
	ws.woken.Add(int64(k + len(qw.lists)))
}

// recheckRound wakes qw's oldest claim waiter to look at the store, and
// arms the next round: every WaitRecheck, or with backoff on a queue
// nothing signals.
func (ws *waiters) recheckRound(q zaqar.QueueRef, qw *queueWaiters) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.queues[q] != qw || qw.recheck == nil {
		return // the queue's waiters all left
	}
	if len(qw.claims) > 0 {
		ws.rechecks.Add(1)
		ws.handOn(qw, true)
	}
	if !qw.signalled {
		qw.interval = min(2*qw.interval, ws.recheck)
	}
	qw.recheck.Reset(qw.interval)
}

// handOn wakes qw's oldest claim waiter (under ws.mu); recheck marks the
// wake-up as a re-check's, which the waiter passes on when it finds
// messages.
func (ws *waiters) handOn(qw *queueWaiters, recheck bool) {
	if len(qw.claims) == 0 {
		return
	}
	w := qw.claims[0]
	qw.claims = append(qw.claims[:0:0], qw.claims[1:]...)
	w.queued = false
	signal(w, recheck)
}

// found is a claim waiter woken by a re-check that found messages: there
// may be more, so the next claimer looks too, and a queue polled with
// backoff is polled briskly again.
func (ws *waiters) found(w *waiter) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	qw := ws.queues[w.q]
	if !qw.signalled && qw.recheck != nil {
		qw.interval = min(pollFirst, ws.recheck)
		qw.recheck.Reset(qw.interval)
	}
	ws.handOn(qw, true)
}

func signal(w *waiter, recheck bool) {
	select {
	case w.ch <- recheck:
	default:
	}
}

// requeue puts a woken claim waiter back at the front of its queue: it
// has waited longest.
func (ws *waiters) requeue(w *waiter) {
	if !w.claim {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if w.queued {
		return
	}
	qw := ws.queues[w.q]
	w.queued = true
	qw.claims = append([]*waiter{w}, qw.claims...)
}

// remove unregisters w. A claim waiter leaving with a wake-up it did not
// use (it got nothing, or went before reading it) passes it on, so a
// message is not left for the next re-check.
func (ws *waiters) remove(w *waiter) {
	ws.mu.Lock()
	qw := ws.queues[w.q]
	if w.queued {
		qw.claims = without(qw.claims, w)
	} else if !w.claim {
		qw.lists = without(qw.lists, w)
	}
	unused := w.claim && len(w.ch) > 0
	qw.n--
	ws.count.Add(-1)
	if ws.projects[w.q.Project]--; ws.projects[w.q.Project] == 0 {
		delete(ws.projects, w.q.Project)
	}
	var unwatch func()
	if qw.n == 0 {
		delete(ws.queues, w.q)
		unwatch = qw.unwatch
		if qw.recheck != nil {
			qw.recheck.Stop()
			qw.recheck = nil
		}
	}
	ws.mu.Unlock()
	if unused {
		ws.wake(w.q, 1)
	}
	if unwatch != nil {
		unwatch()
	}
}

func without(ws []*waiter, w *waiter) []*waiter {
	for i, x := range ws {
		if x == w {
			return append(ws[:i:i], ws[i+1:]...)
		}
	}
	return ws
}

// signalled reports whether the store signals w's queue.
func (ws *waiters) signalled(w *waiter) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.queues[w.q].signalled
}

// release ends every wait at once (shutdown) and refuses new ones.
func (ws *waiters) release() { ws.once.Do(func() { close(ws.closed) }) }

func (ws *waiters) stats() WaitStats {
	return WaitStats{Waiting: ws.count.Load(), Woken: ws.woken.Load(), TimedOut: ws.timedOut.Load(),
		Refused: ws.refused.Load(), Rechecks: ws.rechecks.Load()}
}

// WaitStats returns the long-polling counters (for metrics).
func (s *Service) WaitStats() WaitStats { return s.waiters.stats() }

// ReleaseWaiters answers every waiting request at once, as at its
// deadline, and makes later ones answer without waiting: the server is
// shutting down.
func (s *Service) ReleaseWaiters() { s.waiters.release() }

// waitFor checks a wait parameter (seconds, nil when absent). Waits beyond
// [transport] max_wait are shortened to it: the client cannot know the
// operator's maximum, and a shorter wait is still a correct answer.
func (s *Service) waitFor(wait *int) (time.Duration, error) {
	if wait == nil {
		return 0, nil
	}
	if *wait < 0 {
		return 0, zaqar.Invalidf("Wait must be at least 0 seconds; at most %d are honoured.", int64(s.limits.MaxWait/time.Second))
	}
	return min(time.Duration(min(*wait, 1<<20))*time.Second, s.limits.MaxWait), nil
}

// await runs try, and while it finds nothing and wait lasts, waits for a
// wake-up or a re-check and runs it again. At the deadline or on shutdown
// it runs try once more and answers with that, as a request without wait
// would; when ctx ends (the client went) it returns at once, with nothing.
func (s *Service) await(ctx context.Context, q zaqar.QueueRef, claim bool, wait time.Duration, try func() (bool, error)) error {
	if wait <= 0 {
		_, err := try()
		return err
	}
	w := s.waiters.add(ctx, q, claim)
	if w == nil {
		_, err := try()
		return err
	}
	defer s.waiters.remove(w)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	// A list waiter re-checks on its own; claim waiters share their
	// queue's re-check (see recheckRound).
	var recheck *time.Timer
	var rechecks <-chan time.Time
	interval := s.waiters.recheck
	if !claim {
		if !s.waiters.signalled(w) {
			interval = min(pollFirst, interval)
		}
		recheck = time.NewTimer(interval)
		defer recheck.Stop()
		rechecks = recheck.C
	}
	rechecked := false
	for {
		found, err := try()
		if err != nil {
			return err
		}
		if found {
			if rechecked {
				s.waiters.found(w)
			}
			return nil
		}
		select {
		case rechecked = <-w.ch:
		case <-rechecks:
			interval = min(2*interval, s.waiters.recheck)
			recheck.Reset(interval)
		case <-deadline.C:
			s.waiters.timedOut.Add(1)
			_, err := try()
			return err
		case <-s.waiters.closed:
			_, err := try()
			return err
		case <-ctx.Done():
			return nil // the client went: nobody reads the answer
		}
		if ctx.Err() != nil {
			// Woken as the client went: no look for nobody, and the
			// wake-up goes to the next claimer.
			if claim {
				s.waiters.wake(q, 1)
			}
			return nil
		}
		// Before the next look, so a post during it wakes us again.
		s.waiters.requeue(w)
	}
}
