package memory

import (
	"context"
	"sort"
	"strings"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type queueStore Store

func (qs *queueStore) Create(ctx context.Context, ref zaqar.QueueRef, meta zaqar.Metadata) (bool, error) {
	s := (*Store)(qs)
	norm, err := normalize(meta)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	_, created := s.createLocked(ref, norm)
	seq := s.idxSeq // covers this queue's creation, whoever made it
	s.mu.Unlock()
	return created, s.wait(seq)
}

func (qs *queueStore) Get(ctx context.Context, ref zaqar.QueueRef) (zaqar.Metadata, error) {
	s := (*Store)(qs)
	q, seq := s.lookup(ref)
	if q == nil {
		return nil, s.waitOr(seq, storage.ErrQueueNotFound)
	}
	q.mu.RLock()
	meta, deleted, seq := zaqar.Metadata(deepCopy(q.meta)), q.deleted, q.seq
	q.mu.RUnlock()
	if deleted {
		return nil, s.waitOr(seq, storage.ErrQueueNotFound)
	}
	return meta, s.wait(seq)
}

func (qs *queueStore) SetMetadata(ctx context.Context, ref zaqar.QueueRef, meta zaqar.Metadata) error {
	s := (*Store)(qs)
	norm, err := normalize(meta)
	if err != nil {
		return err
	}
	q, seq := s.lookup(ref)
	if q == nil {
		return s.waitOr(seq, storage.ErrQueueNotFound)
	}
	q.mu.Lock()
	if q.deleted {
		seq = q.seq
		q.mu.Unlock()
		return s.waitOr(seq, storage.ErrQueueNotFound)
	}
	q.meta = norm
	if s.journal != nil {
		q.seq = s.journal.Append(Change{Op: PutQueue, Queue: ref, Meta: norm})
	}
	seq = q.seq
	q.mu.Unlock()
	return s.wait(seq)
}

func (qs *queueStore) Delete(ctx context.Context, ref zaqar.QueueRef) error {
	s := (*Store)(qs)
	// The index lock is held until the deletion is journaled so a queue
	// re-created under the same name is journaled after it, never before.
	s.mu.Lock()
	var q *queue
	if p := s.projects[ref.Project]; p != nil {
		q = p.queues[ref.Name]
	}
	if q == nil {
		seq := s.idxSeq
		s.mu.Unlock()
		return s.wait(seq)
	}
	s.removeLocked(ref)
	q.mu.Lock()
	q.deleted = true
	q.msgs, q.byID, q.claims = nil, map[string]*message{}, map[string]*claim{}
	q.removed, q.head, q.cursor = 0, 0, 0
	if s.journal != nil {
		q.seq = s.journal.Append(Change{Op: DeleteQueue, Queue: ref})
		s.idxSeq = q.seq
	}
	seq := q.seq
	q.mu.Unlock()
	s.mu.Unlock()
	return s.wait(seq)
}

func (qs *queueStore) List(ctx context.Context, project string, opts storage.QueueListOptions) ([]zaqar.Queue, error) {
	s := (*Store)(qs)
	limit := pageSize(opts.Limit)
	needMeta := opts.Detailed || len(opts.Filter) > 0
	out := []zaqar.Queue{}
	s.mu.RLock()
	seq := s.idxSeq
	if p := s.projects[project]; p != nil {
		names := p.names[sort.Search(len(p.names), func(i int) bool { return p.names[i] > opts.Marker }):]
		for _, name := range names {
			if len(out) == limit {
				break
			}
			if opts.Name != "" && !strings.Contains(name, opts.Name) {
				continue
			}
			entry := zaqar.Queue{Name: name}
			if needMeta {
				q := p.queues[name]
				q.mu.RLock()
				ok := storage.MatchesFilter(q.meta, opts.Filter)
				if ok && opts.Detailed {
					entry.Metadata = deepCopy(q.meta)
				}
				seq = max(seq, q.seq)
				q.mu.RUnlock()
				if !ok {
					continue
				}
			}
			out = append(out, entry)
		}
	}
	s.mu.RUnlock()
	return out, s.wait(seq)
}

func (qs *queueStore) Count(ctx context.Context, project string) (int, error) {
	s := (*Store)(qs)
	s.mu.RLock()
	n, seq := 0, s.idxSeq
	if p := s.projects[project]; p != nil {
		n = len(p.queues)
	}
	s.mu.RUnlock()
	return n, s.wait(seq)
}

// waitOr returns the journal's failure if seq cannot be made durable, else err.
func (s *Store) waitOr(seq uint64, err error) error {
	if werr := s.wait(seq); werr != nil {
		return werr
	}
	return err
}
