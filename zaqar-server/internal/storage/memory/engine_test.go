package memory

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func newClock() *testenv.Clock { return testenv.NewClock(time.Unix(1_700_000_000, 0)) }

// recorder is a Journal that keeps what it is given.
type recorder struct {
	mu      sync.Mutex
	appends [][]Change
}

func (r *recorder) Append(ch ...Change) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.appends = append(r.appends, ch)
	return uint64(len(r.appends))
}

func (r *recorder) Sync(uint64) error { return nil }

var ref = zaqar.QueueRef{Project: "p", Name: "q"}

func post(t *testing.T, s *Store, q zaqar.QueueRef, n int, ttl time.Duration) []string {
	t.Helper()
	msgs := make([]zaqar.NewMessage, n)
	for i := range msgs {
		msgs[i] = zaqar.NewMessage{Body: json.RawMessage(`{"i":1}`), TTL: ttl}
	}
	ids, err := s.Messages().Post(context.Background(), q, msgs)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func queueOf(t *testing.T, s *Store, q zaqar.QueueRef) *queue {
	t.Helper()
	qq, _ := s.lookup(q)
	if qq == nil {
		t.Fatalf("queue %v missing", q)
	}
	return qq
}

// Expired messages leave memory as writes go on, and the slice is compacted.
func TestReclaim(t *testing.T) {
	c := newClock()
	s := New(WithClock(c))
	post(t, s, ref, 1000, time.Minute)
	c.Advance(2 * time.Minute)
	for range 100 {
		post(t, s, ref, 1, time.Hour)
	}
	q := queueOf(t, s, ref)
	if len(q.byID) != 100 {
		t.Errorf("%d messages indexed, want the 100 live ones", len(q.byID))
	}
	if len(q.msgs) > 2*100+compactMin {
		t.Errorf("message slice holds %d entries for 100 live messages", len(q.msgs))
	}
}

// Claims and pops drop the expired messages they walk over.
func TestReclaimOnClaimAndPop(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   func(s *Store) error
	}{
		{"claim", func(s *Store) error {
			_, _, err := s.Claims().Create(context.Background(), ref, storage.ClaimOptions{TTL: time.Minute, Limit: 1})
			return err
		}},
		{"pop", func(s *Store) error {
			_, err := s.Messages().Pop(context.Background(), ref, 1)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			s := New(WithClock(c))
			post(t, s, ref, 500, time.Minute)
			post(t, s, ref, 1, time.Hour)
			c.Advance(2 * time.Minute)
			if err := tc.op(s); err != nil {
				t.Fatal(err)
			}
			q := queueOf(t, s, ref)
			if q.head < 500-compactMin && len(q.msgs) > compactMin {
				t.Errorf("head at %d of %d after walking over 500 expired messages", q.head, len(q.msgs))
			}
			if len(q.byID) > 1 {
				t.Errorf("%d messages indexed, want at most 1", len(q.byID))
			}
		})
	}
}

// Concurrent posts reach the journal in marker order, each batch in one
// Append: the order a durable store replays is the order markers were given.
func TestJournalOrder(t *testing.T) {
	r := &recorder{}
	s := New(WithJournal(r))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				post(t, s, ref, 3, time.Hour)
			}
		})
	}
	wg.Wait()
	var last int64
	puts := 0
	for _, ch := range r.appends {
		for _, c := range ch {
			if c.Op != PutMessages {
				continue
			}
			puts++
			if len(c.Messages) != 3 {
				t.Fatalf("a batch of 3 was journaled as %d messages", len(c.Messages))
			}
			for _, m := range c.Messages {
				if m.Marker != last+1 {
					t.Fatalf("journal has marker %d after %d", m.Marker, last)
				}
				last = m.Marker
			}
			if c.Counter != last {
				t.Fatalf("journaled counter %d, last marker %d", c.Counter, last)
			}
		}
	}
	if puts != 400 {
		t.Errorf("%d posts journaled, want 400", puts)
	}
}

// A dead-letter move is one Append that deletes from the source and adds
// at the tail of the dead-letter queue, so a crash never keeps it in both
// or neither.
func TestDeadLetterJournal(t *testing.T) {
	ctx := context.Background()
	r := &recorder{}
	s := New(WithJournal(r))
	dlq := zaqar.QueueRef{Project: "p", Name: "dlq"}
	post(t, s, dlq, 2, time.Hour)
	id := post(t, s, ref, 1, time.Hour)[0]
	opts := storage.ClaimOptions{TTL: time.Minute, Limit: 5, MaxClaimCount: 1, DeadLetterQueue: dlq.Name}
	cl, _, err := s.Claims().Create(ctx, ref, opts)
	if err != nil || cl.ID == "" {
		t.Fatalf("first claim: %v %v", cl, err)
	}
	if err := s.Claims().Delete(ctx, ref, cl.ID); err != nil {
		t.Fatal(err)
	}
	n := len(r.appends)
	if cl, _, err = s.Claims().Create(ctx, ref, opts); err != nil || cl.ID != "" {
		t.Fatalf("second claim = %v, %v; want the message moved and no claim", cl, err)
	}
	if len(r.appends) != n+1 {
		t.Fatalf("the move took %d appends, want 1", len(r.appends)-n)
	}
	var deleted, added bool
	for _, c := range r.appends[n] {
		switch {
		case c.Op == DeleteMessages && c.Queue == ref && len(c.Markers) == 1 && c.Markers[0] == 1:
			deleted = true
		case c.Op == PutMessages && c.Queue == dlq && len(c.Messages) == 1:
			m := c.Messages[0]
			added = m.ID == id && m.Marker == 3 && c.Counter == 3 && m.ClaimCount == 1
		}
	}
	if !deleted || !added {
		t.Errorf("move journaled as %+v", r.appends[n])
	}
}

// A queue may name itself as its dead-letter queue: the message goes to its
// own tail, unclaimed, with a new marker.
func TestDeadLetterSelf(t *testing.T) {
	ctx := context.Background()
	s := New()
	ids := post(t, s, ref, 2, time.Hour)
	opts := storage.ClaimOptions{TTL: time.Minute, Limit: 1, MaxClaimCount: 1, DeadLetterQueue: ref.Name}
	cl, _, err := s.Claims().Create(ctx, ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Claims().Delete(ctx, ref, cl.ID); err != nil {
		t.Fatal(err)
	}
	if cl, _, err = s.Claims().Create(ctx, ref, opts); err != nil || cl.ID != "" {
		t.Fatalf("claim = %v, %v; want the message moved and no claim", cl, err)
	}
	msgs, err := s.Messages().List(ctx, ref, storage.MessageListOptions{Echo: true, IncludeClaimed: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].ID != ids[1] || msgs[1].ID != ids[0] || msgs[1].Marker != "3" || msgs[1].ClaimID != "" {
		t.Errorf("queue after moving into itself: %+v", msgs)
	}
}

// Documents that JSON cannot carry are refused, not stored or panicked on.
func TestUnencodableDocuments(t *testing.T) {
	ctx := context.Background()
	s := New()
	for _, tc := range []struct {
		name string
		meta zaqar.Metadata
	}{
		{"channel", zaqar.Metadata{"c": make(chan int)}},
		{"infinity", zaqar.Metadata{"f": math.Inf(1)}},
		{"nested func", zaqar.Metadata{"o": map[string]any{"f": func() {}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Queues().Create(ctx, ref, tc.meta)
			if zaqar.KindOf(err) != zaqar.Invalid {
				t.Errorf("Create = %v, want an Invalid error", err)
			}
			_, _, err = s.Subscriptions().Create(ctx, ref, zaqar.Subscription{Subscriber: "http://x", Options: tc.meta})
			if zaqar.KindOf(err) != zaqar.Invalid {
				t.Errorf("subscription Create = %v, want an Invalid error", err)
			}
		})
	}
	if _, err := s.Queues().Get(ctx, ref); !errors.Is(err, storage.ErrQueueNotFound) {
		t.Errorf("a refused Create left a queue: %v", err)
	}
}

// Bodies are copied in and out: neither the poster's buffer nor a reader's
// copy can change what is stored.
func TestBodiesByValue(t *testing.T) {
	ctx := context.Background()
	s := New()
	body := json.RawMessage(`"abc"`)
	ids, err := s.Messages().Post(ctx, ref, []zaqar.NewMessage{{Body: body, TTL: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	body[1] = 'X'
	m, err := s.Messages().Get(ctx, ref, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	m.Body[2] = 'Y'
	if m, _ = s.Messages().Get(ctx, ref, ids[0]); string(m.Body) != `"abc"` {
		t.Errorf("stored body changed to %s", m.Body)
	}
}

// Restore rebuilds a queue: expired records are dropped, live claims are
// linked to their messages, and the counter never goes below a marker.
func TestRestore(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	now := c.Now().UnixNano()
	s := New(WithClock(c))
	hour := int64(time.Hour)
	s.Restore(QueueState{
		Queue:   ref,
		Meta:    zaqar.Metadata{"k": "v"},
		Counter: 5,
		Messages: []MessageRecord{
			{ID: "b", Marker: 9, TTL: time.Hour, Created: now, Expires: now + hour, ClaimID: "live", ClaimCount: 1},
			{ID: "a", Marker: 2, TTL: time.Hour, Created: now, Expires: now + hour, ClaimID: "dead", ClaimCount: 3},
			{ID: "old", Marker: 4, TTL: time.Hour, Created: now - 2*hour, Expires: now - hour},
			{ID: "dup", Marker: 9, TTL: time.Hour, Created: now, Expires: now + hour},
		},
		Claims: []ClaimRecord{
			{ID: "live", TTL: time.Minute, Expires: now + int64(time.Minute)},
			{ID: "dead", TTL: time.Minute, Expires: now},
		},
	})
	msgs, err := s.Messages().List(ctx, ref, storage.MessageListOptions{Echo: true, IncludeClaimed: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, m.ID+"/"+m.Marker+"/"+m.ClaimID)
	}
	want := []string{"a/2/", "b/9/live"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("restored messages %v, want %v", got, want)
	}
	if _, _, err := s.Claims().Get(ctx, ref, "dead"); !errors.Is(err, storage.ErrClaimNotFound) {
		t.Errorf("expired claim restored: %v", err)
	}
	ids := post(t, s, ref, 1, time.Hour)
	if m, _ := s.Messages().Get(ctx, ref, ids[0]); m.Marker != "10" {
		t.Errorf("marker after restore = %s, want 10", m.Marker)
	}
}

// A missing limit takes Zaqar's default page size.
func TestDefaultLimit(t *testing.T) {
	ctx := context.Background()
	s := New()
	post(t, s, ref, 25, time.Hour)
	msgs, err := s.Messages().List(ctx, ref, storage.MessageListOptions{Echo: true})
	if err != nil {
		t.Fatal(err)
	}
	_, claimed, err := s.Claims().Create(ctx, ref, storage.ClaimOptions{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	popped, err := s.Messages().Pop(ctx, ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]int{"list": len(msgs), "claim": len(claimed), "pop": len(popped)} {
		if n != zaqar.DefaultPageSize {
			t.Errorf("%s without a limit returned %d, want %d", name, n, zaqar.DefaultPageSize)
		}
	}
}

// Durations too large for the clock saturate: such a message or claim lives
// (or waits) practically forever instead of wrapping into the past.
func TestHugeDurations(t *testing.T) {
	ctx := context.Background()
	s := New()
	forever := time.Duration(math.MaxInt64)
	ids, err := s.Messages().Post(ctx, ref, []zaqar.NewMessage{
		{Body: json.RawMessage(`1`), TTL: forever},
		{Body: json.RawMessage(`2`), TTL: forever, Delay: forever},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Messages().List(ctx, ref, storage.MessageListOptions{Echo: true})
	if err != nil || len(msgs) != 1 || msgs[0].ID != ids[0] {
		t.Fatalf("list = %v, %v; want only the undelayed message", msgs, err)
	}
	c, claimed, err := s.Claims().Create(ctx, ref, storage.ClaimOptions{TTL: forever, Grace: forever, Limit: 10})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	if _, _, err := s.Claims().Get(ctx, ref, c.ID); err != nil {
		t.Errorf("claim with a huge TTL is not live: %v", err)
	}
	if err := s.Claims().Update(ctx, ref, c.ID, forever, forever); err != nil {
		t.Errorf("update with a huge TTL: %v", err)
	}
}

// A message whose TTL ends in the same instant as the claim taken on it gets
// the grace too: it must outlive the claim, not die with it.
func TestGraceWhenEndingWithClaim(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := New(WithClock(c))
	ids := post(t, s, ref, 1, time.Minute)
	if _, _, err := s.Claims().Create(ctx, ref, storage.ClaimOptions{TTL: time.Minute, Grace: time.Hour, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	m, err := s.Messages().Get(ctx, ref, ids[0])
	if err != nil {
		t.Fatalf("message gone when its claim ended, before the grace: %v", err)
	}
	if m.TTL != time.Minute+time.Hour {
		t.Errorf("ttl %v, want claim ttl + grace", m.TTL)
	}
}
