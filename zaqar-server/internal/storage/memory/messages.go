package memory

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type messageStore Store

// Post assigns markers and appends the whole batch under the queue lock, so
// a batch is contiguous and markers are handed out in commit order: a reader
// paging by marker can never miss a message that commits later with a
// smaller marker.
func (ms *messageStore) Post(ctx context.Context, ref zaqar.QueueRef, msgs []zaqar.NewMessage) ([]string, error) {
	s := (*Store)(ms)
	if len(msgs) == 0 {
		return []string{}, nil
	}
	ids := make([]string, len(msgs))
	batch := make([]*message, len(msgs))
	for i, nm := range msgs {
		ids[i] = newID()
		batch[i] = &message{
			id:       ids[i],
			body:     cloneBody(nm.Body),
			ttl:      nm.TTL,
			clientID: nm.ClientID,
			checksum: nm.Checksum,
		}
	}
	for {
		q := s.queueForWrite(ref)
		q.mu.Lock()
		if q.deleted {
			q.mu.Unlock()
			continue // deleted since we found it; create it again
		}
		now := s.now()
		for i, m := range batch {
			m.created = now
			m.expires = expiry(now, m.ttl)
			if d := msgs[i].Delay; d > 0 {
				m.delayUntil = after(now, d)
			}
			q.append(m)
		}
		markers, claims := q.sweep(now)
		q.tidy()
		if s.journal != nil {
			recs := make([]MessageRecord, len(batch))
			for i, m := range batch {
				recs[i] = m.record()
			}
			ch := append(reapChanges(ref, markers, claims),
				Change{Op: PutMessages, Queue: ref, Counter: q.counter, Messages: recs})
			q.seq = s.journal.Append(ch...)
		}
		seq := q.seq
		q.mu.Unlock()
		return ids, s.wait(seq)
	}
}

func (ms *messageStore) List(ctx context.Context, ref zaqar.QueueRef, opts storage.MessageListOptions) ([]zaqar.Message, error) {
	s := (*Store)(ms)
	out := []zaqar.Message{}
	var after int64
	if opts.Marker != "" {
		m, err := strconv.ParseInt(opts.Marker, 10, 64)
		if err != nil {
			return out, nil // as Zaqar's mongodb driver: a bad marker is an empty page
		}
		after = m
	}
	limit := pageSize(opts.Limit)
	q, seq := s.lookup(ref)
	if q == nil {
		return out, s.wait(seq)
	}
	q.mu.RLock()
	if !q.deleted {
		now := s.now()
		for i := max(q.head, q.after(after)); i < len(q.msgs) && len(out) < limit; i++ {
			m := q.msgs[i]
			switch {
			case !m.live(now),
				!opts.IncludeClaimed && m.liveClaim(now) != nil,
				!opts.IncludeDelayed && m.delayed(now),
				!opts.Echo && opts.ClientID != "" && m.clientID == opts.ClientID:
				continue
			}
			out = append(out, m.view(now))
		}
	}
	seq = q.seq
	q.mu.RUnlock()
	return out, s.wait(seq)
}

func (ms *messageStore) Get(ctx context.Context, ref zaqar.QueueRef, id string) (zaqar.Message, error) {
	s := (*Store)(ms)
	q, seq := s.lookup(ref)
	if q == nil {
		return zaqar.Message{}, s.waitOr(seq, storage.ErrMessageNotFound)
	}
	q.mu.RLock()
	now := s.now()
	var (
		v     zaqar.Message
		found bool
	)
	if m := q.byID[id]; m != nil && m.live(now) {
		v, found = m.view(now), true
	}
	seq = q.seq
	q.mu.RUnlock()
	if !found {
		return zaqar.Message{}, s.waitOr(seq, storage.ErrMessageNotFound)
	}
	return v, s.wait(seq)
}

func (ms *messageStore) GetMany(ctx context.Context, ref zaqar.QueueRef, ids []string) ([]zaqar.Message, error) {
	s := (*Store)(ms)
	out := []zaqar.Message{}
	q, seq := s.lookup(ref)
	if q == nil {
		return out, s.wait(seq)
	}
	q.mu.RLock()
	now := s.now()
	found := make([]*message, 0, len(ids))
	for _, id := range ids {
		if m := q.byID[id]; m != nil && m.live(now) {
			found = append(found, m)
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].marker < found[j].marker })
	for i, m := range found {
		if i > 0 && found[i-1] == m {
			continue // the same id asked twice
		}
		out = append(out, m.view(now))
	}
	seq = q.seq
	q.mu.RUnlock()
	return out, s.wait(seq)
}

func (ms *messageStore) Delete(ctx context.Context, ref zaqar.QueueRef, id, claimID string) error {
	s := (*Store)(ms)
	q, seq := s.lookup(ref)
	if q == nil {
		return s.wait(seq)
	}
	q.mu.Lock()
	if q.deleted {
		seq = q.seq
		q.mu.Unlock()
		return s.wait(seq)
	}
	now := s.now()
	m := q.byID[id]
	if m == nil || !m.live(now) {
		seq = q.seq
		q.mu.Unlock()
		return s.wait(seq)
	}
	if err := q.checkDelete(m, claimID, now); err != nil {
		seq = q.seq
		q.mu.Unlock()
		return s.waitOr(seq, err)
	}
	q.remove(m)
	s.commitRemoval(q, now, []int64{m.marker})
	seq = q.seq
	q.mu.Unlock()
	return s.wait(seq)
}

// checkDelete decides whether m may be deleted by a caller naming claimID
// (an empty one names none). A claimID that names no live claim of the
// queue (unknown, expired, released, another queue's) is ErrClaimNotFound
// whatever holds the message; a live claim that does not hold it gets
// ErrMessageNotClaimed, or ErrMessageClaimed when another live claim does.
func (q *queue) checkDelete(m *message, claimID string, now int64) error {
	holder := m.liveClaim(now)
	if claimID == "" {
		if holder != nil {
			return storage.ErrMessageClaimed
		}
		return nil
	}
	if c := q.claims[claimID]; c == nil || !c.live(now) {
		return storage.ErrClaimNotFound
	}
	switch {
	case holder == nil:
		return storage.ErrMessageNotClaimed
	case holder.id != claimID:
		return storage.ErrMessageClaimed
	}
	return nil
}

func (ms *messageStore) DeleteMany(ctx context.Context, ref zaqar.QueueRef, ids, claimIDs []string) error {
	s := (*Store)(ms)
	if len(ids) == 0 {
		return nil
	}
	q, seq := s.lookup(ref)
	if q == nil {
		return s.wait(seq)
	}
	q.mu.Lock()
	if q.deleted {
		seq = q.seq
		q.mu.Unlock()
		return s.wait(seq)
	}
	now := s.now()
	victims := make([]*message, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if m := q.byID[id]; m != nil && m.live(now) && !seen[id] {
			seen[id] = true
			victims = append(victims, m)
		}
	}
	if claimIDs != nil {
		allowed := make(map[string]bool, len(claimIDs))
		for _, id := range claimIDs {
			allowed[id] = true
		}
		for _, m := range victims {
			if c := m.liveClaim(now); c == nil || !allowed[c.id] {
				seq = q.seq
				q.mu.Unlock()
				return s.waitOr(seq, storage.ErrMessageClaimed)
			}
		}
	}
	markers := make([]int64, len(victims))
	for i, m := range victims {
		q.remove(m)
		markers[i] = m.marker
	}
	s.commitRemoval(q, now, markers)
	seq = q.seq
	q.mu.Unlock()
	return s.wait(seq)
}

func (ms *messageStore) Pop(ctx context.Context, ref zaqar.QueueRef, limit int) ([]zaqar.Message, error) {
	s := (*Store)(ms)
	limit = pageSize(limit)
	out := []zaqar.Message{}
	q, seq := s.lookup(ref)
	if q == nil {
		return out, s.wait(seq)
	}
	q.mu.Lock()
	if q.deleted {
		seq = q.seq
		q.mu.Unlock()
		return out, s.wait(seq)
	}
	now := s.now()
	var markers []int64
	for i := q.head; i < len(q.msgs) && len(out) < limit; i++ {
		m := q.msgs[i]
		switch {
		case m.removed:
			continue
		case !m.live(now):
			q.remove(m) // expired: drop it on the way
		case m.liveClaim(now) != nil:
			continue
		default:
			out = append(out, m.view(now))
			q.remove(m)
		}
		markers = append(markers, m.marker)
	}
	s.commitRemoval(q, now, markers)
	seq = q.seq
	q.mu.Unlock()
	return out, s.wait(seq)
}

// commitRemoval sweeps, tidies and journals the removal of markers (plus
// whatever the sweep found); q.mu must be held for writing.
func (s *Store) commitRemoval(q *queue, now int64, markers []int64) {
	swept, claims := q.sweep(now)
	q.tidy()
	if s.journal == nil {
		return
	}
	markers = append(markers, swept...)
	if ch := reapChanges(q.ref, markers, claims); len(ch) > 0 {
		q.seq = s.journal.Append(ch...)
	}
}

func (ms *messageStore) Stats(ctx context.Context, ref zaqar.QueueRef) (zaqar.Stats, error) {
	s := (*Store)(ms)
	var st zaqar.Stats
	q, seq := s.lookup(ref)
	if q == nil {
		return st, s.wait(seq)
	}
	q.mu.RLock()
	if !q.deleted {
		now := s.now()
		var oldest, newest *message
		for _, m := range q.msgs[q.head:] {
			if !m.live(now) {
				continue
			}
			st.Total++
			if m.liveClaim(now) != nil {
				st.Claimed++
			}
			if oldest == nil {
				oldest = m
			}
			newest = m
		}
		st.Free = st.Total - st.Claimed
		if oldest != nil {
			st.Oldest, st.Newest = oldest.stat(now), newest.stat(now)
		}
	}
	seq = q.seq
	q.mu.RUnlock()
	return st, s.wait(seq)
}

func (m *message) stat(now int64) *zaqar.MessageStat {
	return &zaqar.MessageStat{ID: m.id, Age: age(now, m.created), Created: time.Unix(0, m.created)}
}

// cloneBody copies a posted body so the caller may reuse its buffer.
func cloneBody(b json.RawMessage) json.RawMessage {
	if b == nil {
		return nil
	}
	return append(make(json.RawMessage, 0, len(b)), b...)
}

var _ storage.VolumeCounter = (*Store)(nil)

// Volume counts the live messages of every queue. It walks every message,
// one queue lock at a time (posts to other queues go on meanwhile), so its
// cost grows with what the store holds: callers bound it with ctx, which
// is checked between queues.
func (s *Store) Volume(ctx context.Context) (storage.Volume, error) {
	s.mu.RLock()
	var queues []*queue
	for _, p := range s.projects {
		for _, q := range p.queues {
			queues = append(queues, q)
		}
	}
	s.mu.RUnlock()
	var v storage.Volume
	for _, q := range queues {
		if err := ctx.Err(); err != nil {
			return storage.Volume{}, err
		}
		q.mu.RLock()
		if !q.deleted {
			now := s.now()
			for _, m := range q.msgs[q.head:] {
				if !m.live(now) {
					continue
				}
				if m.liveClaim(now) != nil {
					v.Claimed++
				} else {
					v.Free++
				}
			}
		}
		q.mu.RUnlock()
	}
	return v, nil
}
