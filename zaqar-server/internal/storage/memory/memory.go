// Package memory is the ephemeral storage driver: queues, messages, claims
// and subscriptions live in process memory and are gone when it exits.
//
// It is also the engine of the embedded driver, which keeps the same
// structures in memory and makes them durable: a Journal receives every
// mutation inside the engine's critical section, and Restore reloads saved
// state at start-up. This package does no I/O itself.
//
// Concurrency: one lock guards the queue index, each queue has its own lock,
// and subscriptions have theirs; the index lock is always taken before a
// queue lock and never while one is held, and two queue locks (a dead-letter
// move) are taken in name order.
//
// Memory reclamation: expired messages and claims are invisible from the
// moment they expire and are removed lazily. Every write to a queue sweeps a
// bounded window of its messages (a cursor that wraps around), and claims
// and pops drop the expired messages they walk over; removed entries are
// compacted out of the queue's slice once they outnumber live ones. A queue
// that is never written again keeps its expired messages until it is.
package memory

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var _ storage.Store = (*Store)(nil)

// Store is the in-memory store. The zero value is not usable; call New.
type Store struct {
	clock   zaqar.Clock
	journal Journal // nil for the ephemeral driver

	mu       sync.RWMutex // guards projects, each project's index, idxSeq
	projects map[string]*project
	idxSeq   uint64 // journal sequence of the last queue create or delete

	subs subIndex

	cat catalog // the pooling catalog, when the store is a management store
}

type project struct {
	queues map[string]*queue
	names  []string // sorted by byte order, for List
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read time from c instead of the wall clock.
func WithClock(c zaqar.Clock) Option {
	return func(s *Store) {
		if c != nil {
			s.clock = c
		}
	}
}

// WithJournal makes the store hand every mutation to j; see Journal.
func WithJournal(j Journal) Option {
	return func(s *Store) { s.journal = j }
}

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		clock:    zaqar.SystemClock{},
		projects: map[string]*project{},
		subs:     subIndex{queues: map[zaqar.QueueRef]*subQueue{}},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *Store) Queues() storage.QueueStore               { return (*queueStore)(s) }
func (s *Store) Messages() storage.MessageStore           { return (*messageStore)(s) }
func (s *Store) Claims() storage.ClaimStore               { return (*claimStore)(s) }
func (s *Store) Subscriptions() storage.SubscriptionStore { return (*subscriptionStore)(s) }

// Ping always succeeds: there is no backend to lose.
func (s *Store) Ping(ctx context.Context) error { return nil }

// Close does nothing; an ephemeral store is freed by the garbage collector.
func (s *Store) Close() error { return nil }

// now is the store's time in Unix nanoseconds, the unit of every stored instant.
func (s *Store) now() int64 { return s.clock.Now().UnixNano() }

// lookup returns the live queue named by ref, or nil with the sequence that
// made it absent.
func (s *Store) lookup(ref zaqar.QueueRef) (*queue, uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p := s.projects[ref.Project]; p != nil {
		if q := p.queues[ref.Name]; q != nil {
			return q, 0
		}
	}
	return nil, s.idxSeq
}

// queueForWrite returns the queue named by ref, creating it with empty
// metadata when absent. Callers lock it and retry when it was deleted in
// between.
func (s *Store) queueForWrite(ref zaqar.QueueRef) *queue {
	if q, _ := s.lookup(ref); q != nil {
		return q
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, _ := s.createLocked(ref, zaqar.Metadata{})
	return q
}

// createLocked adds the queue unless it exists; s.mu must be held for writing.
func (s *Store) createLocked(ref zaqar.QueueRef, meta zaqar.Metadata) (*queue, bool) {
	if p := s.projects[ref.Project]; p != nil {
		if q := p.queues[ref.Name]; q != nil {
			return q, false
		}
	}
	q := newQueue(ref, meta)
	s.insertLocked(q)
	if s.journal != nil {
		q.seq = s.journal.Append(Change{Op: PutQueue, Queue: ref, Meta: meta})
		s.idxSeq = q.seq
	}
	return q, true
}

// insertLocked adds q to the index; s.mu must be held for writing.
func (s *Store) insertLocked(q *queue) {
	p := s.projects[q.ref.Project]
	if p == nil {
		p = &project{queues: map[string]*queue{}}
		s.projects[q.ref.Project] = p
	}
	p.queues[q.ref.Name] = q
	i := sort.SearchStrings(p.names, q.ref.Name)
	p.names = append(p.names, "")
	copy(p.names[i+1:], p.names[i:])
	p.names[i] = q.ref.Name
}

// removeLocked drops the queue from the index; s.mu must be held for writing.
func (s *Store) removeLocked(ref zaqar.QueueRef) {
	p := s.projects[ref.Project]
	if p == nil {
		return
	}
	delete(p.queues, ref.Name)
	if i := sort.SearchStrings(p.names, ref.Name); i < len(p.names) && p.names[i] == ref.Name {
		p.names = append(p.names[:i], p.names[i+1:]...)
	}
	if len(p.queues) == 0 {
		delete(s.projects, ref.Project)
	}
}

// wait blocks until the journal holds everything up to seq, so no caller
// sees or acknowledges a state a crash could take back.
func (s *Store) wait(seq uint64) error {
	if seq == 0 || s.journal == nil {
		return nil
	}
	return s.journal.Sync(seq)
}

func newID() string { return uuid.NewString() }

// normalize returns a private copy of a metadata or options document in its
// stored form: what a JSON round trip gives, numbers as json.Number, so the
// memory and embedded drivers return the same values.
func normalize(doc map[string]any) (map[string]any, error) {
	if len(doc) == 0 {
		return map[string]any{}, nil
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, zaqar.BadBodyf("document cannot be stored: %v", err)
	}
	m, err := zaqar.DecodeMetadata(b)
	if err != nil {
		return nil, zaqar.BadBodyf("document cannot be stored: %v", err)
	}
	return m, nil
}

// deepCopy copies a normalized document so a caller can mutate what it gets.
func deepCopy(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopy(x)
	case zaqar.Metadata:
		return zaqar.Metadata(deepCopy(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}

// age is the time from start to now, never negative even if the clock steps back.
func age(now, start int64) time.Duration {
	if now <= start {
		return 0
	}
	return time.Duration(now - start)
}

// expiry is the instant a thing with ttl started at start expires; 0 (never) when ttl <= 0.
func expiry(start int64, ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return after(start, ttl)
}

// after is t+d in Unix nanoseconds, saturating so an absurd duration means
// "far future" rather than wrapping into the past.
func after(t int64, d time.Duration) int64 {
	switch {
	case d > 0 && t > math.MaxInt64-int64(d):
		return math.MaxInt64
	case d < 0 && t < math.MinInt64-int64(d):
		return math.MinInt64
	}
	return t + int64(d)
}

// pageSize applies Zaqar's default page size to a missing limit.
func pageSize(limit int) int {
	if limit <= 0 {
		return zaqar.DefaultPageSize
	}
	return limit
}

func markerString(m int64) string { return strconv.FormatInt(m, 10) }
