package memory

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// subIndex holds every subscription. It is separate from the queues because
// subscriptions outlive the queue they name, as in Zaqar. Expired ones are
// invisible and removed by a bounded sweep on each write to their queue.
type subIndex struct {
	mu     sync.RWMutex
	queues map[zaqar.QueueRef]*subQueue
	seq    uint64 // journal sequence of the last subscription change
}

type subQueue struct {
	ref          zaqar.QueueRef
	byID         map[string]*subscription
	bySubscriber map[string]*subscription
}

type subscription struct {
	id         string
	subscriber string
	ttl        time.Duration
	start      int64 // when the TTL last (re)started
	expires    int64 // 0: never
	options    map[string]any
	confirmed  bool
}

const subSweepBudget = 16

// queue returns the subscriptions of ref, creating the set when create is set.
func (x *subIndex) queue(ref zaqar.QueueRef, create bool) *subQueue {
	sq := x.queues[ref]
	if sq == nil && create {
		sq = &subQueue{ref: ref, byID: map[string]*subscription{}, bySubscriber: map[string]*subscription{}}
		x.queues[ref] = sq
	}
	return sq
}

// release drops an empty set; x.mu must be held for writing.
func (x *subIndex) release(sq *subQueue) {
	if len(sq.byID) == 0 {
		delete(x.queues, sq.ref)
	}
}

func (sq *subQueue) add(sub *subscription) {
	sq.byID[sub.id] = sub
	sq.bySubscriber[sub.subscriber] = sub
}

func (sq *subQueue) remove(sub *subscription) {
	delete(sq.byID, sub.id)
	if sq.bySubscriber[sub.subscriber] == sub {
		delete(sq.bySubscriber, sub.subscriber)
	}
}

// sweep removes up to subSweepBudget expired subscriptions and returns their ids.
func (sq *subQueue) sweep(now int64) []string {
	var ids []string
	i := 0
	for id, sub := range sq.byID {
		if i++; i > subSweepBudget {
			break
		}
		if !sub.live(now) {
			sq.remove(sub)
			ids = append(ids, id)
		}
	}
	return ids
}

// lookup returns the live subscription id, or nil.
func (sq *subQueue) lookup(id string, now int64) *subscription {
	if sub := sq.byID[id]; sub != nil && sub.live(now) {
		return sub
	}
	return nil
}

func (sub *subscription) live(now int64) bool { return sub.expires == 0 || sub.expires > now }

func (sub *subscription) view(ref zaqar.QueueRef, now int64) zaqar.Subscription {
	return zaqar.Subscription{
		ID:         sub.id,
		Source:     ref.Name,
		Subscriber: sub.subscriber,
		TTL:        sub.ttl,
		Age:        age(now, sub.start),
		Options:    deepCopy(sub.options),
		Confirmed:  sub.confirmed,
	}
}

func (sub *subscription) record(ref zaqar.QueueRef) SubscriptionRecord {
	return SubscriptionRecord{
		Queue:      ref,
		ID:         sub.id,
		Subscriber: sub.subscriber,
		TTL:        sub.ttl,
		Start:      sub.start,
		Expires:    sub.expires,
		Options:    sub.options,
		Confirmed:  sub.confirmed,
	}
}

type subscriptionStore Store

// journal records the sweep's removals and the given changes; x.mu must be
// held for writing.
func (s *Store) journalSubs(ref zaqar.QueueRef, swept []string, ch ...Change) {
	if s.journal == nil {
		return
	}
	for _, id := range swept {
		ch = append(ch, Change{Op: DeleteSubscription, Queue: ref, ID: id})
	}
	if len(ch) > 0 {
		s.subs.seq = s.journal.Append(ch...)
	}
}

// Create ignores sub.ID: ids are always fresh random UUIDs. A TTL <= 0 never expires.
func (ss *subscriptionStore) Create(ctx context.Context, ref zaqar.QueueRef, sub zaqar.Subscription) (zaqar.Subscription, bool, error) {
	s := (*Store)(ss)
	opts, err := normalize(sub.Options)
	if err != nil {
		return zaqar.Subscription{}, false, err
	}
	x := &s.subs
	x.mu.Lock()
	now := s.now()
	sq := x.queue(ref, true)
	swept := sq.sweep(now)
	if old := sq.bySubscriber[sub.Subscriber]; old != nil && !old.live(now) {
		sq.remove(old)
		swept = append(swept, old.id)
	}
	if old := sq.bySubscriber[sub.Subscriber]; old != nil {
		v := old.view(ref, now)
		s.journalSubs(ref, swept)
		seq := x.seq
		x.mu.Unlock()
		return v, false, s.wait(seq)
	}
	n := &subscription{
		id:         newID(),
		subscriber: sub.Subscriber,
		ttl:        sub.TTL,
		start:      now,
		expires:    expiry(now, sub.TTL),
		options:    opts,
		confirmed:  sub.Confirmed,
	}
	sq.add(n)
	v := n.view(ref, now)
	s.journalSubs(ref, swept, Change{Op: PutSubscription, Queue: ref, Subscription: n.record(ref)})
	seq := x.seq
	x.mu.Unlock()
	return v, true, s.wait(seq)
}

func (ss *subscriptionStore) Get(ctx context.Context, ref zaqar.QueueRef, id string) (zaqar.Subscription, error) {
	s := (*Store)(ss)
	x := &s.subs
	x.mu.RLock()
	now := s.now()
	var (
		v     zaqar.Subscription
		found bool
	)
	if sq := x.queue(ref, false); sq != nil {
		if sub := sq.lookup(id, now); sub != nil {
			v, found = sub.view(ref, now), true
		}
	}
	seq := x.seq
	x.mu.RUnlock()
	if !found {
		return zaqar.Subscription{}, s.waitOr(seq, storage.ErrSubscriptionNotFound)
	}
	return v, s.wait(seq)
}

func (ss *subscriptionStore) List(ctx context.Context, ref zaqar.QueueRef, marker string, limit int) ([]zaqar.Subscription, error) {
	s := (*Store)(ss)
	limit = pageSize(limit)
	x := &s.subs
	x.mu.RLock()
	now := s.now()
	var subs []*subscription
	if sq := x.queue(ref, false); sq != nil {
		for id, sub := range sq.byID {
			if id > marker && sub.live(now) {
				subs = append(subs, sub)
			}
		}
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].id < subs[j].id })
	out := make([]zaqar.Subscription, 0, min(limit, len(subs)))
	for _, sub := range subs[:min(limit, len(subs))] {
		out = append(out, sub.view(ref, now))
	}
	seq := x.seq
	x.mu.RUnlock()
	return out, s.wait(seq)
}

func (ss *subscriptionStore) Update(ctx context.Context, ref zaqar.QueueRef, id string, u storage.SubscriptionUpdate) error {
	s := (*Store)(ss)
	var opts map[string]any
	if u.Options != nil {
		var err error
		if opts, err = normalize(u.Options); err != nil {
			return err
		}
	}
	x := &s.subs
	x.mu.Lock()
	now := s.now()
	sq := x.queue(ref, false)
	if sq == nil {
		seq := x.seq
		x.mu.Unlock()
		return s.waitOr(seq, storage.ErrSubscriptionNotFound)
	}
	swept := sq.sweep(now)
	sub := sq.lookup(id, now)
	var err error
	switch {
	case sub == nil:
		err = storage.ErrSubscriptionNotFound
	case u.Subscriber != nil && *u.Subscriber != sub.subscriber:
		if other := sq.bySubscriber[*u.Subscriber]; other != nil {
			if other.live(now) {
				err = storage.ErrSubscriptionExists
				break
			}
			sq.remove(other)
			swept = append(swept, other.id)
		}
		sq.remove(sub)
		sub.subscriber = *u.Subscriber
		sq.add(sub)
	}
	var ch []Change
	if err == nil {
		if u.TTL != nil {
			sub.ttl, sub.start, sub.expires = *u.TTL, now, expiry(now, *u.TTL)
		}
		if opts != nil {
			sub.options = opts
		}
		ch = append(ch, Change{Op: PutSubscription, Queue: ref, Subscription: sub.record(ref)})
	}
	s.journalSubs(ref, swept, ch...)
	x.release(sq)
	seq := x.seq
	x.mu.Unlock()
	return s.waitOr(seq, err)
}

func (ss *subscriptionStore) Confirm(ctx context.Context, ref zaqar.QueueRef, id string, confirmed bool) error {
	s := (*Store)(ss)
	x := &s.subs
	x.mu.Lock()
	now := s.now()
	err := storage.ErrSubscriptionNotFound
	if sq := x.queue(ref, false); sq != nil {
		if sub := sq.lookup(id, now); sub != nil {
			sub.confirmed = confirmed
			s.journalSubs(ref, nil, Change{Op: PutSubscription, Queue: ref, Subscription: sub.record(ref)})
			err = nil
		}
	}
	seq := x.seq
	x.mu.Unlock()
	return s.waitOr(seq, err)
}

func (ss *subscriptionStore) Delete(ctx context.Context, ref zaqar.QueueRef, id string) error {
	s := (*Store)(ss)
	x := &s.subs
	x.mu.Lock()
	if sq := x.queue(ref, false); sq != nil {
		if sub := sq.byID[id]; sub != nil {
			sq.remove(sub)
			s.journalSubs(ref, nil, Change{Op: DeleteSubscription, Queue: ref, ID: id})
			x.release(sq)
		}
	}
	seq := x.seq
	x.mu.Unlock()
	return s.wait(seq)
}
