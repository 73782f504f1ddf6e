package memory

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Journal makes the engine durable; the embedded driver implements it.
//
// The engine calls Append inside the critical section of the mutation it
// describes (holding the locks of the affected queues, or of the queue index
// or the subscriptions), so the order of Append calls is the order in which
// mutations were applied, and replaying them in that order rebuilds the same
// state. Append must be quick and must not call back into the Store. The
// changes of one Append call belong together (a dead-letter move deletes from
// one queue and adds to another) and must become durable atomically.
//
// After releasing its locks, a write calls Sync with the sequence Append
// returned and reports success only when Sync does. Reads call Sync with the
// last sequence of what they observed, so nothing a crash could undo is
// shown to a client. Changes that nobody waits for (the removal of expired
// data) are made durable with later ones.
type Journal interface {
	Append(changes ...Change) (seq uint64)
	Sync(seq uint64) error
}

// Op says what a Change does.
type Op uint8

const (
	// PutQueue creates a queue or replaces its metadata: Queue, Meta.
	PutQueue Op = iota + 1
	// DeleteQueue removes a queue with its messages, claims and counter: Queue.
	DeleteQueue
	// PutMessages writes message records: Queue, Messages, and Counter when
	// it is not 0 (the queue's last marker after new messages were added).
	PutMessages
	// DeleteMessages removes messages by marker: Queue, Markers.
	DeleteMessages
	// PutClaim writes a claim record: Queue, Claim.
	PutClaim
	// DeleteClaim removes a claim: Queue, ID. Message records may still
	// name it; a message whose claim is unknown is unclaimed.
	DeleteClaim
	// PutSubscription writes a subscription: Subscription.
	PutSubscription
	// DeleteSubscription removes a subscription: Queue, ID.
	DeleteSubscription
)

// Change is one mutation handed to a Journal. Its records are snapshots the
// engine will not touch again; the journal must not modify them either
// (bodies and documents are shared with the engine).
type Change struct {
	Op           Op
	Queue        zaqar.QueueRef
	Meta         zaqar.Metadata
	Counter      int64
	Messages     []MessageRecord
	Markers      []int64
	Claim        ClaimRecord
	Subscription SubscriptionRecord
	ID           string
}

// MessageRecord is a message as a journal stores it. Instants are Unix
// nanoseconds; Expires 0 means the message never expires.
type MessageRecord struct {
	ID         string
	Marker     int64
	Body       json.RawMessage
	TTL        time.Duration
	Created    int64
	Expires    int64
	DelayUntil int64
	ClientID   string
	Checksum   string
	ClaimID    string // the last claim that took it; it may since have ended
	ClaimCount int
}

// Expired reports whether the message is gone at now (Unix nanoseconds).
func (r MessageRecord) Expired(now int64) bool { return r.Expires != 0 && r.Expires <= now }

// ClaimRecord is a claim as a journal stores it.
type ClaimRecord struct {
	ID      string
	TTL     time.Duration
	Grace   time.Duration
	Expires int64
}

// Expired reports whether the claim has ended at now.
func (r ClaimRecord) Expired(now int64) bool { return r.Expires <= now }

// SubscriptionRecord is a subscription as a journal stores it. Start is when
// its TTL last (re)started; Expires 0 means never.
type SubscriptionRecord struct {
	Queue      zaqar.QueueRef
	ID         string
	Subscriber string
	TTL        time.Duration
	Start      int64
	Expires    int64
	Options    map[string]any
	Confirmed  bool
}

// Expired reports whether the subscription is gone at now.
func (r SubscriptionRecord) Expired(now int64) bool { return r.Expires != 0 && r.Expires <= now }

// QueueState is a saved queue for Restore.
type QueueState struct {
	Queue    zaqar.QueueRef
	Meta     zaqar.Metadata // nil reads as empty
	Counter  int64          // last marker handed out
	Messages []MessageRecord
	Claims   []ClaimRecord
}

// Restore loads a saved queue, replacing any queue of that name. It is for
// start-up, before the store is shared, and journals nothing. Expired
// messages and claims are skipped; messages naming a claim that is not
// restored are unclaimed.
func (s *Store) Restore(st QueueState) {
	now := s.now()
	meta, err := normalize(st.Meta)
	if err != nil {
		meta = zaqar.Metadata{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(st.Queue)
	q := newQueue(st.Queue, meta)
	s.insertLocked(q)

	claims := make(map[string]*claim, len(st.Claims))
	for _, r := range st.Claims {
		if r.ID == "" || r.Expired(now) {
			continue
		}
		c := &claim{id: r.ID, ttl: r.TTL, grace: r.Grace, expires: r.Expires}
		claims[r.ID] = c
		q.claims[r.ID] = c
	}
	recs := append([]MessageRecord(nil), st.Messages...)
	sort.Slice(recs, func(i, j int) bool { return recs[i].Marker < recs[j].Marker })
	q.counter = st.Counter
	for i, r := range recs {
		if r.Expired(now) || r.ID == "" || q.byID[r.ID] != nil {
			continue
		}
		if i > 0 && r.Marker == recs[i-1].Marker {
			continue // a damaged file; markers are unique
		}
		m := &message{
			id:         r.ID,
			marker:     r.Marker,
			body:       r.Body,
			ttl:        r.TTL,
			created:    r.Created,
			expires:    r.Expires,
			delayUntil: r.DelayUntil,
			clientID:   r.ClientID,
			checksum:   r.Checksum,
			claimCount: r.ClaimCount,
		}
		if c := claims[r.ClaimID]; c != nil {
			m.claim = c
			c.msgs = append(c.msgs, m)
		}
		q.msgs = append(q.msgs, m)
		q.byID[m.id] = m
		if m.marker > q.counter {
			q.counter = m.marker
		}
	}
}

// RestoreSubscription loads a saved subscription; see Restore.
func (s *Store) RestoreSubscription(r SubscriptionRecord) {
	if r.ID == "" || r.Expired(s.now()) {
		return
	}
	opts, err := normalize(r.Options)
	if err != nil {
		opts = map[string]any{}
	}
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	sq := s.subs.queue(r.Queue, true)
	if old := sq.byID[r.ID]; old != nil {
		sq.remove(old)
	}
	if old := sq.bySubscriber[r.Subscriber]; old != nil {
		sq.remove(old) // a damaged file; subscribers are unique per queue
	}
	sq.add(&subscription{
		id:         r.ID,
		subscriber: r.Subscriber,
		ttl:        r.TTL,
		start:      r.Start,
		expires:    r.Expires,
		options:    opts,
		confirmed:  r.Confirmed,
	})
}
