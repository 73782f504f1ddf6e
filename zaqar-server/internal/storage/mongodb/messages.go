package mongodb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type messageStore Store

// maxPostDuration bounds a post's retries whatever max_attempts says, as
// Zaqar's MAX_RETRY_POST_DURATION does.
const maxPostDuration = 45 * time.Second

// Post reads the queue's last marker and inserts the batch at the markers
// after it in one ordered insert; the unique slot index refuses a marker
// another poster took first, and the post retries (bounded by max_attempts)
// from the new last marker. Then it creates the queue record if absent.
func (ms *messageStore) Post(ctx context.Context, ref zaqar.QueueRef, msgs []zaqar.NewMessage) ([]string, error) {
	s := (*Store)(ms)
	if len(msgs) == 0 {
		return []string{}, nil
	}
	c, err := s.messages(ctx, ref)
	if err != nil {
		return nil, err
	}
	mu := turn(&s.posting, ref)
	mu.Lock()
	defer mu.Unlock()
	for {
		ids, err := s.insertBatch(ctx, c, ref, msgs)
		if err != nil {
			return nil, err
		}
		created, err := s.ensureQueue(ctx, ref)
		if err != nil {
			return nil, err
		}
		if !created {
			return ids, nil
		}
		// Creating the record means the queue was absent after the batch
		// went in: a delete may have run in between and removed the batch.
		// Then this post comes after the delete and goes again.
		n, err := c.CountDocuments(ctx, bson.D{{Key: "_id", Value: ids[len(ids)-1]}})
		if err != nil {
			return nil, unavailable(err)
		}
		if n == 1 {
			return ids, nil
		}
	}
}

// insertBatch stores msgs after the queue's last marker, retrying on lost markers.
func (s *Store) insertBatch(ctx context.Context, c *mongo.Collection, ref zaqar.QueueRef, msgs []zaqar.NewMessage) ([]string, error) {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		tail, err := s.tail(ctx, c, ref)
		if err != nil {
			return nil, err
		}
		now := s.clock.now()
		ids := make([]string, len(msgs))
		docs := make([]*doc, len(msgs))
		for i, m := range msgs {
			ids[i] = newID()
			d := &doc{
				ID: ids[i], P: ref.Project, Q: ref.Name, K: tail + 1 + int64(i), M: ids[i],
				B: []byte(m.Body), T: storage.Millis(m.TTL), Cr: now, E: expiry(now, storage.Millis(m.TTL)),
				U: m.ClientID, Cs: m.Checksum, Bs: tail + 1, Be: tail + int64(len(msgs)), Bi: ids[0],
			}
			if d.B == nil {
				d.B = []byte{}
			}
			if m.Delay > 0 {
				d.D = now + storage.Millis(m.Delay)
			}
			docs[i] = d
		}
		_, err = c.InsertMany(ctx, docs)
		if err == nil {
			if attempt > 0 {
				s.log.DebugContext(ctx, "post retried", "attempts", attempt+1, "project", ref.Project, "queue", ref.Name)
			}
			return ids, nil
		}
		if !isDupBulk(err) {
			return nil, unavailable(err)
		}
		// Another poster took a marker first. Whatever part of this batch
		// went in is an incomplete batch, never visible.
		if attempt+1 >= s.opts.MaxAttempts || time.Since(start) > maxPostDuration {
			s.log.WarnContext(ctx, "post gave up on marker conflicts", "attempts", attempt+1, "project", ref.Project, "queue", ref.Name)
			return nil, zaqar.Unavailablef(err, "No messages could be enqueued.")
		}
		if err := s.backoff(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// isDupBulk reports an insert refused only for duplicate keys.
func isDupBulk(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return isDup(err)
	}
	for _, we := range bwe.WriteErrors {
		if !dupCode(we.Code) {
			return false
		}
	}
	return true
}

// listChunk is how many documents a listing reads at a time: a message and
// a state or two each, plus room for skipped ones.
func listChunk(limit int) int { return min(4*limit+8, 1000) }

func (ms *messageStore) List(ctx context.Context, ref zaqar.QueueRef, opts storage.MessageListOptions) ([]zaqar.Message, error) {
	s := (*Store)(ms)
	out := []zaqar.Message{}
	var after int64
	if opts.Marker != "" {
		m, err := strconv.ParseInt(opts.Marker, 10, 64)
		if err != nil || m < 0 {
			return out, nil // as Zaqar's mongodb driver: a bad marker is an empty page
		}
		after = m
	}
	limit := pageSize(opts.Limit)
	c, err := s.messages(ctx, ref)
	if err != nil {
		return nil, err
	}
	now := s.clock.now()
	_, err = s.scan(ctx, s.listing(c), ref, after, listChunk(limit), true, func(sl *slot) bool {
		switch {
		case !sl.complete, !sl.live(now),
			!opts.IncludeClaimed && sl.holder(now) != "",
			!opts.IncludeDelayed && sl.delayed(now),
			!opts.Echo && opts.ClientID != "" && sl.msg.U == opts.ClientID:
			return true
		}
		out = append(out, sl.view(now))
		return len(out) < limit
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
	out := []zaqar.Message{}
	if len(ids) == 0 {
		return out, nil
	}
	c, err := s.messages(ctx, ref)
	if err != nil {
		return nil, err
	}
	slots, err := s.slots(ctx, c, ref, ids, true)
	if err != nil {
		return nil, err
	}
	now := s.clock.now()
	for _, sl := range slots {
		if sl.live(now) {
			out = append(out, sl.view(now))
		}
	}
	return out, nil
}

// contention bounds how often a call re-reads messages that others changed
// under it before it gives up with a 503.
const contention = 16

func (ms *messageStore) Delete(ctx context.Context, ref zaqar.QueueRef, id, claimID string) error {
	s := (*Store)(ms)
	c, err := s.messages(ctx, ref)
	if err != nil {
		return err
	}
	for range contention {
		slots, err := s.slots(ctx, c, ref, []string{id}, false)
		if err != nil {
			return err
		}
		now := s.clock.now()
		if len(slots) == 0 || !slots[0].live(now) {
			return nil
		}
		sl := slots[0]
		if err := s.checkDelete(ctx, ref, sl, claimID, now); err != nil {
			return err
		}
		won, err := s.advance(ctx, c, slots, []*doc{sl.next(now, stDeleted)})
		if err != nil {
			return err
		}
		if won[0] {
			_, err := s.remove(ctx, c, ref, slots, 0, now)
			return err
		}
	}
	return unavailable(fmt.Errorf("message %s changed %d times while being deleted", id, contention))
}

// checkDelete decides whether sl may be deleted by a caller naming claimID
// (an empty one names none), in the order storage.MessageStore.Delete gives.
func (s *Store) checkDelete(ctx context.Context, ref zaqar.QueueRef, sl *slot, claimID string, now int64) error {
	holder := sl.holder(now)
	if claimID == "" {
		if holder != "" {
			return storage.ErrMessageClaimed
		}
		return nil
	}
	if holder == claimID {
		return nil // the message's own state proves the claim live
	}
	live, err := s.claimLive(ctx, ref, claimID, now)
	if err != nil {
		return err
	}
	switch {
	case !live:
		return storage.ErrClaimNotFound
	case holder == "":
		return storage.ErrMessageNotClaimed
	}
	return storage.ErrMessageClaimed
}

func (ms *messageStore) DeleteMany(ctx context.Context, ref zaqar.QueueRef, ids, claimIDs []string) error {
	s := (*Store)(ms)
	if len(ids) == 0 {
		return nil
	}
	c, err := s.messages(ctx, ref)
	if err != nil {
		return err
	}
	allowed := map[string]bool{}
	for _, id := range claimIDs {
		allowed[id] = true
	}
	for range contention {
		slots, err := s.slots(ctx, c, ref, ids, false)
		if err != nil {
			return err
		}
		now := s.clock.now()
		var live []*slot
		var next []*doc
		for _, sl := range slots {
			if !sl.live(now) {
				continue
			}
			if claimIDs != nil {
				if h := sl.holder(now); h == "" || !allowed[h] {
					return storage.ErrMessageClaimed
				}
			}
			live = append(live, sl)
			next = append(next, sl.next(now, stDeleted))
		}
		won, err := s.advance(ctx, c, live, next)
		if err != nil {
			return err
		}
		var gone []*slot
		var lost []string
		for i, sl := range live {
			if won[i] {
				gone = append(gone, sl)
			} else {
				lost = append(lost, sl.msg.ID)
			}
		}
		if _, err := s.remove(ctx, c, ref, gone, 0, now); err != nil {
			return err
		}
		if len(lost) == 0 {
			return nil
		}
		ids = lost // changed since read: look again
	}
	return unavailable(fmt.Errorf("messages changed %d times while being deleted", contention))
}

// Pop deletes the oldest unclaimed messages it can win, delayed ones
// included (as Zaqar), and returns them. Each is taken by its own
// exclusive transition, so concurrent pops never return one twice.
func (ms *messageStore) Pop(ctx context.Context, ref zaqar.QueueRef, limit int) ([]zaqar.Message, error) {
	s := (*Store)(ms)
	limit = pageSize(limit)
	c, err := s.messages(ctx, ref)
	if err != nil {
		return nil, err
	}
	mu := turn(&s.taking, ref)
	mu.Lock()
	defer mu.Unlock()
	out := []zaqar.Message{}
	for range contention {
		now := s.clock.now()
		need := limit - len(out)
		var pool []*slot
		seen, err := s.scan(ctx, c, ref, 0, listChunk(poolSize(need)), true, func(sl *slot) bool {
			if sl.complete && sl.live(now) && sl.holder(now) == "" {
				pool = append(pool, sl)
			}
			return len(pool) < poolSize(need)
		})
		if err != nil || len(pool) == 0 {
			return out, err
		}
		taken, lost, err := s.take(ctx, c, pool, need, func(sl *slot) *doc { return sl.next(now, stDeleted) })
		if err != nil {
			return nil, err
		}
		gone, err := s.remove(ctx, c, ref, taken, seen, now)
		if err != nil {
			return nil, err
		}
		for i, sl := range taken {
			if gone[i] {
				out = append(out, sl.view(now))
			} else {
				lost = true
			}
		}
		if !lost || len(out) == limit {
			break
		}
	}
	return out, nil
}

// poolSize is how many candidates a claim or pop of need messages reads:
// spares replace those that concurrent callers win first, without another scan.
func poolSize(need int) int { return 2*need + 4 }

func (ms *messageStore) Stats(ctx context.Context, ref zaqar.QueueRef) (zaqar.Stats, error) {
	s := (*Store)(ms)
	var st zaqar.Stats
	c, err := s.messages(ctx, ref)
	if err != nil {
		return zaqar.Stats{}, err
	}
	now := s.clock.now()
	var oldest, newest *slot
	_, err = s.scan(ctx, s.listing(c), ref, 0, 1000, false, func(sl *slot) bool {
		if !sl.complete || !sl.live(now) {
			return true
		}
		st.Total++
		if sl.holder(now) != "" {
			st.Claimed++
		}
		if oldest == nil {
			oldest = sl
		}
		newest = sl
		return true
	})
	if err != nil {
		return zaqar.Stats{}, err
	}
	st.Free = st.Total - st.Claimed
	if oldest != nil {
		st.Oldest, st.Newest = oldest.stat(now), newest.stat(now)
	}
	return st, nil
}

func (sl *slot) stat(now int64) *zaqar.MessageStat {
	return &zaqar.MessageStat{ID: sl.msg.ID, Age: storage.Age(now, sl.msg.Cr), Created: time.UnixMilli(sl.msg.Cr)}
}
