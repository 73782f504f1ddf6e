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
// a round trip, to enter it in its project's index. Posts that arrive for a
// queue while another is being written go together in the next call.
func (ms *messageStore) Post(ctx context.Context, ref zaqar.QueueRef, msgs []zaqar.NewMessage) ([]string, error) {
	s := (*Store)(ms)
	if len(msgs) == 0 {
		return []string{}, nil
	}
	ids := make([]string, len(msgs))
	args := make([]any, 0, 6*len(msgs))
	weight := 0
	for i, m := range msgs {
		ids[i] = uuid.NewString()
		args = append(args, ids[i], storage.Millis(m.TTL), storage.Millis(m.Delay), m.ClientID, m.Checksum, []byte(m.Body))
		weight += postOverhead + len(m.Body)
	}
	if _, err := s.posts.do(ctx, queueTag(ref), postPart{ref, args}, weight); err != nil {
		return nil, err
	}
	return ids, nil
}

// A group of posts is capped at 1 MiB of bodies, each message counting
// postOverhead more: at most 2,048 messages, which keeps the script's
// argument lists well inside Lua's unpack limit (8,000).
const (
	postGroupLimit = 1 << 20
	postOverhead   = 512
)

// postPart is one request's share of a group of posts: the post script's
// arguments for its messages (six per message).
type postPart struct {
	ref  zaqar.QueueRef
	args []any
}

// postGroup appends the messages of parts, in order, in one script call.
func (s *Store) postGroup(ctx context.Context, parts []postPart) ([]struct{}, error) {
	size := 2
	for _, p := range parts {
		size += len(p.args)
	}
	args := make([]any, 2, size)
	for _, p := range parts {
		args = append(args, p.args...)
	}
	args[0] = (len(args) - 2) / 6
	args[1] = flag(s.retries)
	ref := parts[0].ref
	unindexed, err := s.runInt(ctx, postScript, queueKeys(ref), args...)
	if err != nil {
		return nil, err
	}
	if unindexed == 1 {
		if err := s.index(ctx, ref); err != nil {
			return nil, err
		}
	}
	return make([]struct{}, len(parts)), nil
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

// Delete is one script call, shared with the other deletes that arrive for
// the queue while one is running.
func (ms *messageStore) Delete(ctx context.Context, ref zaqar.QueueRef, id, claimID string) error {
	s := (*Store)(ms)
	n, err := s.deletes.do(ctx, queueTag(ref), deletePart{ref, id, claimID}, 1)
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

// deleteGroupLimit caps a group of single deletes.
const deleteGroupLimit = 256

type deletePart struct {
	ref         zaqar.QueueRef
	id, claimID string
}

// deleteGroup deletes the messages of parts in order, one result code each.
func (s *Store) deleteGroup(ctx context.Context, parts []deletePart) ([]int64, error) {
	args := make([]any, 0, 2*len(parts))
	for _, p := range parts {
		args = append(args, p.id, p.claimID)
	}
	r, err := s.runList(ctx, deleteScript, queueKeys(parts[0].ref), args...)
	if err != nil {
		return nil, err
	}
	codes := make([]int64, len(r))
	for i := range r {
		codes[i] = r.int(i)
	}
	return codes, nil
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
