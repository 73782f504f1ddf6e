package redis

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type messageStore Store

// Post is one script call: it creates the queue when absent, assigns the
// markers and appends the batch atomically. Only a queue's first post adds
// a round trip, to enter it in its project's index.
func (ms *messageStore) Post(ctx context.Context, ref zaqar.QueueRef, msgs []zaqar.NewMessage) ([]string, error) {
	s := (*Store)(ms)
	if len(msgs) == 0 {
		return []string{}, nil
	}
	ids := make([]string, len(msgs))
	args := make([]any, 0, 1+6*len(msgs))
	args = append(args, len(msgs))
	for i, m := range msgs {
		ids[i] = uuid.NewString()
		args = append(args, ids[i], storage.Millis(m.TTL), storage.Millis(m.Delay), m.ClientID, m.Checksum, []byte(m.Body))
	}
	unindexed, err := s.runInt(ctx, postScript, queueKeys(ref), args...)
	if err != nil {
		return nil, err
	}
	if unindexed == 1 {
		if err := s.index(ctx, ref); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func (ms *messageStore) List(ctx context.Context, ref zaqar.QueueRef, opts storage.MessageListOptions) ([]zaqar.Message, error) {
	s := (*Store)(ms)
	marker := "0"
	if opts.Marker != "" {
		m, err := strconv.ParseInt(opts.Marker, 10, 64)
		if err != nil || m < 0 {
			return []zaqar.Message{}, nil // as Zaqar's mongodb driver: a bad marker is an empty page
		}
		marker = strconv.FormatInt(m, 10)
	}
	r, err := s.runList(ctx, listScript, queueKeys(ref), marker, pageSize(opts.Limit),
		flag(opts.IncludeClaimed), flag(opts.IncludeDelayed), flag(opts.Echo), opts.ClientID)
	if err != nil {
		return nil, err
	}
	return r.allMessages(), nil
}

func (ms *messageStore) Get(ctx context.Context, ref zaqar.QueueRef, id string) (zaqar.Message, error) {
	msgs, err := ms.GetMany(ctx, ref, []string{id})
	if err != nil {
		return zaqar.Message{}, err
	}
	if len(msgs) == 0 {
		return zaqar.Message{}, storage.ErrMessageNotFound
	}
	return msgs[0], nil
}

func (ms *messageStore) GetMany(ctx context.Context, ref zaqar.QueueRef, ids []string) ([]zaqar.Message, error) {
	s := (*Store)(ms)
	if len(ids) == 0 {
		return []zaqar.Message{}, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	r, err := s.runList(ctx, getScript, queueKeys(ref), args...)
	if err != nil {
		return nil, err
	}
	return r.allMessages(), nil
}

func (ms *messageStore) Delete(ctx context.Context, ref zaqar.QueueRef, id, claimID string) error {
	s := (*Store)(ms)
	n, err := s.runInt(ctx, deleteScript, queueKeys(ref), id, claimID)
	if err != nil {
		return err
	}
	switch n {
	case 1:
		return storage.ErrMessageClaimed
	case 2:
		return storage.ErrMessageNotClaimed
	case 3:
		return storage.ErrClaimNotFound
	}
	return nil
}

func (ms *messageStore) DeleteMany(ctx context.Context, ref zaqar.QueueRef, ids, claimIDs []string) error {
	s := (*Store)(ms)
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, 0, 2+len(ids)+len(claimIDs))
	args = append(args, flag(claimIDs != nil), len(ids))
	for _, id := range ids {
		args = append(args, id)
	}
	for _, id := range claimIDs {
		args = append(args, id)
	}
	n, err := s.runInt(ctx, deleteManyScript, queueKeys(ref), args...)
	if err != nil {
		return err
	}
	if n == 1 {
		return storage.ErrMessageClaimed
	}
	return nil
}

func (ms *messageStore) Pop(ctx context.Context, ref zaqar.QueueRef, limit int) ([]zaqar.Message, error) {
	s := (*Store)(ms)
	r, err := s.runList(ctx, popScript, queueKeys(ref), pageSize(limit))
	if err != nil {
		return nil, err
	}
	return r.allMessages(), nil
}

func (ms *messageStore) Stats(ctx context.Context, ref zaqar.QueueRef) (zaqar.Stats, error) {
	s := (*Store)(ms)
	r, err := s.runList(ctx, statsScript, queueKeys(ref))
	if err != nil {
		return zaqar.Stats{}, err
	}
	now := r.int(0)
	st := zaqar.Stats{Total: int(r.int(1)), Claimed: int(r.int(2))}
	st.Free = st.Total - st.Claimed
	if id := r.str(3); id != "" {
		st.Oldest = stat(id, r.int(4), now)
		st.Newest = stat(r.str(5), r.int(6), now)
	}
	return st, nil
}

func stat(id string, created, now int64) *zaqar.MessageStat {
	return &zaqar.MessageStat{ID: id, Age: storage.Age(now, created), Created: time.UnixMilli(created)}
}
