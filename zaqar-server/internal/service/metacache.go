package service

import (
	"context"
	"sync"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// metaTTL is how long the hot paths (post, list, claim) reuse a queue's
// metadata. Each of them needs the queue's settings (TTL and delay
// defaults, size limit, dead-lettering): reading them every time costs a
// storage round trip per request. This node forgets its copy at once when
// it changes the queue; another API node sees a change within metaTTL.
const metaTTL = time.Second

// metaCacheMax bounds the cache; past it, it starts over.
const metaCacheMax = 100000

type metaCache struct {
	mu      sync.Mutex
	entries map[zaqar.QueueRef]metaEntry
}

type metaEntry struct {
	meta    zaqar.Metadata // shared: readers must not modify it
	expires time.Time
}

// settings returns q's metadata for reading, from the cache when fresh.
func (s *Service) settings(ctx context.Context, q zaqar.QueueRef) (zaqar.Metadata, error) {
	now := time.Now()
	s.metas.mu.Lock()
	e, ok := s.metas.entries[q]
	s.metas.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.meta, nil
	}
	meta, err := s.queueMeta(ctx, q)
	if err != nil {
		return nil, err
	}
	s.metas.mu.Lock()
	if s.metas.entries == nil || len(s.metas.entries) >= metaCacheMax {
		s.metas.entries = map[zaqar.QueueRef]metaEntry{}
	}
	s.metas.entries[q] = metaEntry{meta: meta, expires: now.Add(metaTTL)}
	s.metas.mu.Unlock()
	return meta, nil
}

// forget drops q's cached metadata after this node changed it.
func (s *Service) forget(q zaqar.QueueRef) {
	s.metas.mu.Lock()
	delete(s.metas.entries, q)
	s.metas.mu.Unlock()
}
