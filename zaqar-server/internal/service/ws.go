package service

import (
	"context"
	"errors"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Operations whose WebSocket answer differs from the HTTP one in what it
// shows (zaqar/api/v2/endpoints.py returns storage records as they are).

// ListStoredQueues lists the project's queues like ListQueues, but a
// detailed listing shows the metadata as stored, without reserved defaults
// (the WebSocket queue_list answer).
func (s *Service) ListStoredQueues(ctx context.Context, project, marker string, limit *int, detailed bool) ([]zaqar.Queue, error) {
	n := zaqar.DefaultPageSize
	if limit != nil {
		n = *limit
		if n < 1 || n > s.limits.MaxQueuesPerPage {
			return nil, zaqar.Invalidf("Limit must be at least 1 and no greater than %d.", s.limits.MaxQueuesPerPage)
		}
	}
	qs, err := s.store.Queues().List(ctx, project, storage.QueueListOptions{Marker: marker, Limit: n, Detailed: detailed})
	if err != nil {
		return nil, storeErr(err, "Queues could not be listed.")
	}
	return qs, nil
}

// QueueStatsIfExists returns the stats of q and whether q exists: the
// WebSocket queue_get_stats answers a missing queue with 404 and zero
// counts, where HTTP answers 200.
func (s *Service) QueueStatsIfExists(ctx context.Context, q zaqar.QueueRef) (zaqar.Stats, bool, error) {
	if _, err := s.store.Queues().Get(ctx, q); errors.Is(err, storage.ErrQueueNotFound) {
		return zaqar.Stats{}, false, nil
	} else if err != nil {
		return zaqar.Stats{}, false, storeErr(err, "Queue stats could not be read.")
	}
	st, err := s.QueueStats(ctx, q)
	return st, err == nil, err
}
