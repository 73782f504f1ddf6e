package memory

import (
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Reclamation bounds: each write examines at most sweepBudget messages and
// claimSweepBudget claims beyond the ones it works on, and the message slice
// is compacted once removed entries outnumber live ones (amortised O(1)).
const (
	sweepBudget      = 32
	claimSweepBudget = 8
	compactMin       = 64
)

// queue is one queue's state; mu guards every field.
type queue struct {
	ref zaqar.QueueRef

	mu      sync.RWMutex
	deleted bool // removed from the index; callers holding it must retry or give up
	meta    zaqar.Metadata
	counter int64      // last marker handed out; markers start at 1
	msgs    []*message // ascending marker order, removed entries kept until compaction
	removed int        // removed entries in msgs
	head    int        // every entry before head is removed
	cursor  int        // next entry the bounded sweep looks at
	byID    map[string]*message
	claims  map[string]*claim
	seq     uint64 // journal sequence of the last change to this queue
}

type message struct {
	id         string
	marker     int64
	body       json.RawMessage // never modified in place
	ttl        time.Duration
	created    int64
	expires    int64 // 0: never
	delayUntil int64
	clientID   string
	checksum   string
	claim      *claim // the last claim that took it; live only while claim.expires > now
	claimCount int
	removed    bool
}

type claim struct {
	id      string
	ttl     time.Duration
	grace   time.Duration
	expires int64
	msgs    []*message // taken by this claim, in queue order; some may have moved on
}

func newQueue(ref zaqar.QueueRef, meta zaqar.Metadata) *queue {
	if meta == nil {
		meta = zaqar.Metadata{}
	}
	return &queue{
		ref:    ref,
		meta:   meta,
		byID:   map[string]*message{},
		claims: map[string]*claim{},
	}
}

func (m *message) live(now int64) bool {
	return !m.removed && (m.expires == 0 || m.expires > now)
}

// liveClaim returns the claim holding m at now, or nil.
func (m *message) liveClaim(now int64) *claim {
	if m.claim != nil && m.claim.expires > now {
		return m.claim
	}
	return nil
}

func (m *message) delayed(now int64) bool { return m.delayUntil > now }

// extend keeps m alive at least until the claim c ends plus its grace: a
// message that would end no later than its claim gets the grace (one ending
// in the very millisecond the claim does too, as in Zaqar's Redis driver).
func (m *message) extend(c *claim) bool {
	if m.expires == 0 || m.expires > c.expires {
		return false
	}
	m.expires = after(c.expires, c.grace)
	m.ttl = c.ttl + c.grace
	return true
}

func (m *message) view(now int64) zaqar.Message {
	v := zaqar.Message{
		ID:         m.id,
		Body:       cloneBody(m.body), // the caller may modify it
		TTL:        m.ttl,
		Age:        age(now, m.created),
		Created:    time.Unix(0, m.created),
		ClientID:   m.clientID,
		ClaimCount: m.claimCount,
		Checksum:   m.checksum,
		Marker:     markerString(m.marker),
	}
	if c := m.liveClaim(now); c != nil {
		v.ClaimID = c.id
	}
	return v
}

func (m *message) record() MessageRecord {
	r := MessageRecord{
		ID:         m.id,
		Marker:     m.marker,
		Body:       m.body,
		TTL:        m.ttl,
		Created:    m.created,
		Expires:    m.expires,
		DelayUntil: m.delayUntil,
		ClientID:   m.clientID,
		Checksum:   m.checksum,
		ClaimCount: m.claimCount,
	}
	if m.claim != nil {
		r.ClaimID = m.claim.id
	}
	return r
}

func (c *claim) live(now int64) bool { return c.expires > now }

func (c *claim) record() ClaimRecord {
	return ClaimRecord{ID: c.id, TTL: c.ttl, Grace: c.grace, Expires: c.expires}
}

func (c *claim) view(now int64) zaqar.Claim {
	return zaqar.Claim{ID: c.id, TTL: c.ttl, Grace: c.grace, Age: age(now, c.expires-int64(c.ttl))}
}

// held returns the live messages c still holds at now.
func (c *claim) held(now int64) []*message {
	var out []*message
	for _, m := range c.msgs {
		if m.claim == c && m.live(now) {
			out = append(out, m)
		}
	}
	return out
}

// after returns the index of the first entry with a marker above marker.
func (q *queue) after(marker int64) int {
	return sort.Search(len(q.msgs), func(i int) bool { return q.msgs[i].marker > marker })
}

// append adds m at the tail with the next marker.
func (q *queue) append(m *message) {
	q.counter++
	m.marker = q.counter
	q.msgs = append(q.msgs, m)
	q.byID[m.id] = m
}

// remove unlinks m; the slice entry stays until compact.
func (q *queue) remove(m *message) {
	if m.removed {
		return
	}
	m.removed = true
	delete(q.byID, m.id)
	q.removed++
}

// tidy advances head past removed entries and compacts the slice when
// removed entries outnumber live ones; call it after removals.
func (q *queue) tidy() {
	for q.head < len(q.msgs) && q.msgs[q.head].removed {
		q.head++
	}
	if q.removed < compactMin || q.removed*2 < len(q.msgs) {
		return
	}
	live := make([]*message, 0, len(q.msgs)-q.removed)
	for _, m := range q.msgs[q.head:] {
		if !m.removed {
			live = append(live, m)
		}
	}
	q.msgs, q.removed, q.head, q.cursor = live, 0, 0, 0
}

// sweep removes expired messages among the next sweepBudget entries after
// the cursor and expired claims among a few, returning what it removed so
// the caller can journal it.
func (q *queue) sweep(now int64) (markers []int64, claims []string) {
	n := len(q.msgs)
	for i := 0; i < sweepBudget && n > 0; i++ {
		if q.cursor < q.head || q.cursor >= n {
			q.cursor = q.head
			if q.cursor >= n {
				break
			}
		}
		m := q.msgs[q.cursor]
		q.cursor++
		if !m.removed && !m.live(now) {
			q.remove(m)
			markers = append(markers, m.marker)
		}
	}
	i := 0
	for id, c := range q.claims {
		if i++; i > claimSweepBudget {
			break
		}
		if !c.live(now) {
			q.dropClaim(c)
			claims = append(claims, id)
		}
	}
	return markers, claims
}

// dropClaim forgets c and releases the messages it still holds.
func (q *queue) dropClaim(c *claim) {
	delete(q.claims, c.id)
	for _, m := range c.msgs {
		if m.claim == c {
			m.claim = nil
		}
	}
	c.msgs = nil
}

// reapChanges turns what sweep removed into journal changes.
func reapChanges(ref zaqar.QueueRef, markers []int64, claims []string) []Change {
	var ch []Change
	if len(markers) > 0 {
		ch = append(ch, Change{Op: DeleteMessages, Queue: ref, Markers: markers})
	}
	for _, id := range claims {
		ch = append(ch, Change{Op: DeleteClaim, Queue: ref, ID: id})
	}
	return ch
}

// lockPair locks a and b (which may be the same queue) in name order, the
// one order every multi-queue operation uses.
func lockPair(a, b *queue) {
	switch {
	case a == b:
		a.mu.Lock()
	case a.ref.Project < b.ref.Project || a.ref.Project == b.ref.Project && a.ref.Name < b.ref.Name:
		a.mu.Lock()
		b.mu.Lock()
	default:
		b.mu.Lock()
		a.mu.Lock()
	}
}

func unlockPair(a, b *queue) {
	a.mu.Unlock()
	if a != b {
		b.mu.Unlock()
	}
}
