package redis

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type queueStore Store

func (qs *queueStore) Create(ctx context.Context, ref zaqar.QueueRef, meta zaqar.Metadata) (bool, error) {
	s := (*Store)(qs)
	doc, err := encodeDoc(meta)
	if err != nil {
		return false, err
	}
	r, err := s.runList(ctx, queueCreateScript, queueKeys(ref), doc)
	if err != nil {
		return false, err
	}
	if r.int(1) == 1 {
		if err := s.index(ctx, ref); err != nil {
			return false, err
		}
	}
	return r.int(0) == 1, nil
}

// index enters a queue in its project's index, a key in another slot. The
// queue record says whether that happened (field ix), so a failure here is
// repaired by the next post or create of the queue: the record is the
// truth, the index a superset of it that listings check (see the package doc).
func (s *Store) index(ctx context.Context, ref zaqar.QueueRef) error {
	if err := s.rdb.ZAdd(ctx, indexKey(ref.Project), redis.Z{Member: ref.Name}).Err(); err != nil {
		return unavailable(err)
	}
	_, err := s.runInt(ctx, queueIndexScript, queueKeys(ref))
	return err
}

func (qs *queueStore) Get(ctx context.Context, ref zaqar.QueueRef) (zaqar.Metadata, error) {
	s := (*Store)(qs)
	b, err := s.rdb.HGet(ctx, queueTag(ref), "meta").Bytes()
	if isNil(err) {
		return nil, storage.ErrQueueNotFound
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return decodeMeta(b)
}

func (qs *queueStore) SetMetadata(ctx context.Context, ref zaqar.QueueRef, meta zaqar.Metadata) error {
	s := (*Store)(qs)
	doc, err := encodeDoc(meta)
	if err != nil {
		return err
	}
	n, err := s.runInt(ctx, queueSetScript, queueKeys(ref), doc)
	if err != nil {
		return err
	}
	if n == 1 {
		return storage.ErrQueueNotFound
	}
	return nil
}

// Delete removes the queue's keys, then its index entry. A creator of the
// same name may have run in between, so the entry is put back when the
// queue exists again: the index never lacks a queue that exists.
func (qs *queueStore) Delete(ctx context.Context, ref zaqar.QueueRef) error {
	s := (*Store)(qs)
	if _, err := s.runInt(ctx, queueDeleteScript, queueKeys(ref)); err != nil {
		return err
	}
	return s.unindex(ctx, ref)
}

// unindex removes ref's index entry unless the queue exists.
func (s *Store) unindex(ctx context.Context, ref zaqar.QueueRef) error {
	if err := s.rdb.ZRem(ctx, indexKey(ref.Project), ref.Name).Err(); err != nil {
		return unavailable(err)
	}
	n, err := s.rdb.Exists(ctx, queueTag(ref)).Result()
	if err != nil {
		return unavailable(err)
	}
	if n == 1 {
		return s.index(ctx, ref)
	}
	return nil
}

// List pages through the project's index by name and reads the records of
// the names it finds in one pipelined round trip; names whose queue is
// gone (a delete or create that failed half way) are skipped and repaired.
func (qs *queueStore) List(ctx context.Context, project string, opts storage.QueueListOptions) ([]zaqar.Queue, error) {
	s := (*Store)(qs)
	limit := pageSize(opts.Limit)
	out := []zaqar.Queue{}
	from := "-"
	if opts.Marker != "" {
		from = "(" + opts.Marker
	}
	batch := int64(max(limit, 50))
	for len(out) < limit {
		names, err := s.rdb.ZRangeByLex(ctx, indexKey(project), &redis.ZRangeBy{Min: from, Max: "+", Count: batch}).Result()
		if err != nil {
			return nil, unavailable(err)
		}
		if len(names) == 0 {
			break
		}
		from = "(" + names[len(names)-1]
		var want []string
		for _, n := range names {
			if opts.Name == "" || strings.Contains(n, opts.Name) {
				want = append(want, n)
			}
		}
		metas, err := s.records(ctx, project, want, opts.Detailed || len(opts.Filter) > 0)
		if err != nil {
			return nil, err
		}
		for i, n := range want {
			if len(out) == limit {
				break
			}
			if metas[i] == nil {
				continue
			}
			q := zaqar.Queue{Name: n}
			if opts.Detailed || len(opts.Filter) > 0 {
				meta, err := decodeMeta(metas[i])
				if err != nil {
					return nil, err
				}
				if !storage.MatchesFilter(meta, opts.Filter) {
					continue
				}
				if opts.Detailed {
					q.Metadata = meta
				}
			}
			out = append(out, q)
		}
		if int64(len(names)) < batch {
			break
		}
	}
	return out, nil
}

// records reads the named queues' records in one pipeline: the metadata
// when withMeta, else an empty non-nil slice for each queue that exists.
// nil marks a queue that does not exist, whose index entry is repaired.
func (s *Store) records(ctx context.Context, project string, names []string, withMeta bool) ([][]byte, error) {
	if len(names) == 0 {
		return nil, nil
	}
	cmds := make([]redis.Cmder, len(names))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			key := queueTag(zaqar.QueueRef{Project: project, Name: n})
			if withMeta {
				cmds[i] = p.HGet(ctx, key, "meta")
			} else {
				cmds[i] = p.Exists(ctx, key)
			}
		}
		return nil
	})
	if err != nil && !isNil(err) {
		return nil, unavailable(err)
	}
	out := make([][]byte, len(names))
	for i, c := range cmds {
		var (
			b     []byte
			found bool
		)
		switch c := c.(type) {
		case *redis.StringCmd:
			b, err = c.Bytes()
			found = err == nil
		case *redis.IntCmd:
			var n int64
			n, err = c.Result()
			b, found = []byte{}, n == 1
		}
		switch {
		case err != nil && !isNil(err):
			return nil, unavailable(err)
		case found:
			out[i] = b
		default:
			if err := s.unindex(ctx, zaqar.QueueRef{Project: project, Name: names[i]}); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Count counts the index entries whose queue exists, checking them a
// thousand at a time; it is exact even after a half-done create or delete.
func (qs *queueStore) Count(ctx context.Context, project string) (int, error) {
	s := (*Store)(qs)
	n, from := 0, "-"
	for {
		names, err := s.rdb.ZRangeByLex(ctx, indexKey(project), &redis.ZRangeBy{Min: from, Max: "+", Count: 1000}).Result()
		if err != nil {
			return 0, unavailable(err)
		}
		if len(names) == 0 {
			return n, nil
		}
		from = "(" + names[len(names)-1]
		metas, err := s.records(ctx, project, names, false)
		if err != nil {
			return 0, err
		}
		for _, m := range metas {
			if m != nil {
				n++
			}
		}
		if len(names) < 1000 {
			return n, nil
		}
	}
}

// encodeDoc stores a metadata or options document as JSON; numbers are
// json.Number (zaqar.DecodeMetadata), so they keep every digit.
func encodeDoc(doc map[string]any) (string, error) {
	if len(doc) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", zaqar.BadBodyf("document cannot be stored: %v", err)
	}
	return string(b), nil
}

func decodeMeta(b []byte) (zaqar.Metadata, error) {
	m, err := zaqar.DecodeMetadata(b)
	if err != nil {
		return nil, unavailable(err)
	}
	return m, nil
}
