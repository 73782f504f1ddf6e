package memory

import (
	"context"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type claimStore Store

// Create claims under the queue lock, so concurrent claimers never share a
// message. With dead-lettering it holds the dead-letter queue's lock too, so
// a move is one atomic step (and one journal entry): the message is never in
// both queues or in neither.
func (cs *claimStore) Create(ctx context.Context, ref zaqar.QueueRef, opts storage.ClaimOptions) (zaqar.Claim, []zaqar.Message, error) {
	s := (*Store)(cs)
	limit := pageSize(opts.Limit)
	deadLetter := opts.MaxClaimCount > 0 && opts.DeadLetterQueue != ""
	dlqRef := zaqar.QueueRef{Project: ref.Project, Name: opts.DeadLetterQueue}
	q, seq := s.lookup(ref)
	if q == nil {
		return zaqar.Claim{}, nil, s.wait(seq)
	}
	var dlq *queue // locked with q once a move is needed
	for {
		if dlq == nil {
			q.mu.Lock()
		} else {
			lockPair(q, dlq)
		}
		unlock := func() {
			if dlq == nil {
				q.mu.Unlock()
			} else {
				unlockPair(q, dlq)
			}
		}
		if q.deleted {
			seq = q.seq
			unlock()
			return zaqar.Claim{}, nil, s.wait(seq)
		}
		if dlq != nil && dlq.deleted {
			unlock()
			dlq = s.queueForWrite(dlqRef)
			continue
		}
		now := s.now()
		var picked, expired []*message
		needDLQ := false
		for i := q.head; i < len(q.msgs) && len(picked) < limit; i++ {
			m := q.msgs[i]
			switch {
			case m.removed:
			case !m.live(now):
				expired = append(expired, m)
			case m.liveClaim(now) != nil, m.delayed(now):
			default:
				picked = append(picked, m)
				needDLQ = needDLQ || (deadLetter && m.claimCount >= opts.MaxClaimCount)
			}
		}
		if needDLQ && dlq == nil {
			// Taking the index lock while holding a queue lock could
			// deadlock, so let go, find or create the dead-letter queue,
			// and choose again with both locks held.
			unlock()
			if dlqRef == ref {
				dlq = q
			} else {
				dlq = s.queueForWrite(dlqRef)
			}
			continue
		}

		var removed []int64
		for _, m := range expired {
			q.remove(m)
			removed = append(removed, m.marker)
		}
		c := &claim{id: newID(), ttl: opts.TTL, grace: opts.Grace, expires: after(now, opts.TTL)}
		var claimed, moved []*message
		for _, m := range picked {
			if deadLetter && m.claimCount >= opts.MaxClaimCount {
				q.remove(m)
				removed = append(removed, m.marker)
				moved = append(moved, deadLettered(m, now, opts.DeadLetterTTL))
				continue
			}
			m.claim = c
			m.claimCount++
			m.extend(c)
			claimed = append(claimed, m)
		}
		for _, m := range moved {
			dlq.append(m)
		}
		if len(claimed) > 0 {
			c.msgs = claimed
			q.claims[c.id] = c
		}
		swept, sweptClaims := q.sweep(now)
		q.tidy()
		if s.journal != nil {
			ch := reapChanges(ref, append(removed, swept...), sweptClaims)
			if len(claimed) > 0 {
				ch = append(ch,
					Change{Op: PutClaim, Queue: ref, Claim: c.record()},
					Change{Op: PutMessages, Queue: ref, Messages: records(claimed)})
			}
			if len(moved) > 0 {
				ch = append(ch, Change{Op: PutMessages, Queue: dlq.ref, Counter: dlq.counter, Messages: records(moved)})
			}
			if len(ch) > 0 {
				q.seq = s.journal.Append(ch...)
				if dlq != nil {
					dlq.seq = q.seq
				}
			}
		}
		var (
			cl   zaqar.Claim
			msgs []zaqar.Message
		)
		if len(claimed) > 0 {
			cl = c.view(now)
			msgs = make([]zaqar.Message, len(claimed))
			for i, m := range claimed {
				msgs[i] = m.view(now)
			}
		}
		seq = q.seq
		unlock()
		return cl, msgs, s.wait(seq)
	}
}

// deadLettered is m as it arrives in a dead-letter queue: same id, body and
// claim count, unclaimed, and with a fresh life when ttl > 0. The caller
// appends it, which gives it a marker at the tail.
func deadLettered(m *message, now int64, ttl time.Duration) *message {
	n := &message{
		id:         m.id,
		body:       m.body,
		ttl:        m.ttl,
		created:    m.created,
		expires:    m.expires,
		clientID:   m.clientID,
		checksum:   m.checksum,
		claimCount: m.claimCount,
	}
	if ttl > 0 {
		n.ttl, n.expires = ttl, after(now, ttl)
	}
	return n
}

func records(msgs []*message) []MessageRecord {
	recs := make([]MessageRecord, len(msgs))
	for i, m := range msgs {
		recs[i] = m.record()
	}
	return recs
}

func (cs *claimStore) Get(ctx context.Context, ref zaqar.QueueRef, id string) (zaqar.Claim, []zaqar.Message, error) {
	s := (*Store)(cs)
	q, seq := s.lookup(ref)
	if q == nil {
		return zaqar.Claim{}, nil, s.waitOr(seq, storage.ErrClaimNotFound)
	}
	q.mu.RLock()
	now := s.now()
	var (
		cl    zaqar.Claim
		msgs  []zaqar.Message
		found bool
	)
	if c := q.claims[id]; c != nil && c.live(now) {
		found, cl = true, c.view(now)
		msgs = []zaqar.Message{}
		for _, m := range c.held(now) {
			msgs = append(msgs, m.view(now))
		}
	}
	seq = q.seq
	q.mu.RUnlock()
	if !found {
		return zaqar.Claim{}, nil, s.waitOr(seq, storage.ErrClaimNotFound)
	}
	return cl, msgs, s.wait(seq)
}

func (cs *claimStore) Update(ctx context.Context, ref zaqar.QueueRef, id string, ttl, grace time.Duration) error {
	s := (*Store)(cs)
	q, seq := s.lookup(ref)
	if q == nil {
		return s.waitOr(seq, storage.ErrClaimNotFound)
	}
	q.mu.Lock()
	now := s.now()
	c := q.claims[id]
	if c == nil || !c.live(now) {
		seq = q.seq
		q.mu.Unlock()
		return s.waitOr(seq, storage.ErrClaimNotFound)
	}
	c.ttl, c.grace, c.expires = ttl, grace, after(now, ttl)
	c.msgs = c.held(now) // forget messages that moved on
	var extended []*message
	for _, m := range c.msgs {
		if m.extend(c) {
			extended = append(extended, m)
		}
	}
	swept, sweptClaims := q.sweep(now)
	q.tidy()
	if s.journal != nil {
		ch := append(reapChanges(ref, swept, sweptClaims), Change{Op: PutClaim, Queue: ref, Claim: c.record()})
		if len(extended) > 0 {
			ch = append(ch, Change{Op: PutMessages, Queue: ref, Messages: records(extended)})
		}
		q.seq = s.journal.Append(ch...)
	}
	seq = q.seq
	q.mu.Unlock()
	return s.wait(seq)
}

func (cs *claimStore) Delete(ctx context.Context, ref zaqar.QueueRef, id string) error {
	s := (*Store)(cs)
	q, seq := s.lookup(ref)
	if q == nil {
		return s.wait(seq)
	}
	q.mu.Lock()
	if c := q.claims[id]; c != nil {
		q.dropClaim(c)
		if s.journal != nil {
			q.seq = s.journal.Append(Change{Op: DeleteClaim, Queue: ref, ID: id})
		}
	}
	seq = q.seq
	q.mu.Unlock()
	return s.wait(seq)
}
