package pooled

import (
	"context"
	"slices"
	"strings"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type queueStore Store

// flavorOf reads the _flavor a new queue asks for.
func flavorOf(meta zaqar.Metadata) (string, error) {
	switch f := meta["_flavor"].(type) {
	case nil:
		return "", nil
	case string:
		return f, nil
	default:
		return "", zaqar.Invalidf("Flavor %v does not exist", f)
	}
}

// Create places the queue, by its _flavor, unless its name is placed
// already; then the queue's pool creates it.
func (qs *queueStore) Create(ctx context.Context, q zaqar.QueueRef, meta zaqar.Metadata) (bool, error) {
	flavor, err := flavorOf(meta)
	if err != nil {
		return false, err
	}
	st, err := (*Store)(qs).place(ctx, q, flavor)
	if err != nil {
		return false, err
	}
	return st.Queues().Create(ctx, q, meta)
}

func (qs *queueStore) Get(ctx context.Context, q zaqar.QueueRef) (zaqar.Metadata, error) {
	st, _, err := (*Store)(qs).route(ctx, q)
	if err != nil || st == nil {
		return nil, orMissing(err, storage.ErrQueueNotFound)
	}
	return st.Queues().Get(ctx, q)
}

func (qs *queueStore) SetMetadata(ctx context.Context, q zaqar.QueueRef, meta zaqar.Metadata) error {
	st, _, err := (*Store)(qs).route(ctx, q)
	if err != nil || st == nil {
		return orMissing(err, storage.ErrQueueNotFound)
	}
	return st.Queues().SetMetadata(ctx, q, meta)
}

// Delete deletes the queue in its pool and drops the placement unless the
// pool still holds subscriptions of that name.
func (qs *queueStore) Delete(ctx context.Context, q zaqar.QueueRef) error {
	s := (*Store)(qs)
	st, pool, err := s.route(ctx, q)
	if err != nil || st == nil {
		return err
	}
	if err := st.Queues().Delete(ctx, q); err != nil {
		return err
	}
	if pool != "" {
		s.release(ctx, q, pool, st)
	}
	return nil
}

// List merges one page from every pool: each returns its first opts.Limit
// names after the marker that pass the filters, so the first opts.Limit of
// the merge are the page.
func (qs *queueStore) List(ctx context.Context, project string, opts storage.QueueListOptions) ([]zaqar.Queue, error) {
	stores, err := (*Store)(qs).all(ctx)
	if err != nil {
		return nil, err
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = zaqar.DefaultPageSize
	}
	var all []zaqar.Queue
	for _, st := range stores {
		page, err := st.Queues().List(ctx, project, opts)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
	}
	slices.SortStableFunc(all, func(a, b zaqar.Queue) int { return strings.Compare(a.Name, b.Name) })
	// Two pools never hold one name, unless two pool URIs reach one backend.
	all = slices.CompactFunc(all, func(a, b zaqar.Queue) bool { return a.Name == b.Name })
	if len(all) > limit {
		all = all[:limit]
	}
	if all == nil {
		all = []zaqar.Queue{}
	}
	return all, nil
}

func (qs *queueStore) Count(ctx context.Context, project string) (int, error) {
	stores, err := (*Store)(qs).all(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, st := range stores {
		n, err := st.Queues().Count(ctx, project)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// orMissing is err, or missing when a name has no pool.
func orMissing(err, missing error) error {
	if err != nil {
		return err
	}
	return missing
}
