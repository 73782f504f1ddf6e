package redis

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type claimStore Store

// Create is one script call: it picks, claims and extends the messages
// atomically, so claimers on any number of API nodes never share a message.
// Messages it dead-letters wait in the queue's outbox; deliver then moves
// them (and any a failed earlier call left) in two more steps.
func (cs *claimStore) Create(ctx context.Context, ref zaqar.QueueRef, opts storage.ClaimOptions) (zaqar.Claim, []zaqar.Message, error) {
	s := (*Store)(cs)
	dlq := ""
	if opts.MaxClaimCount > 0 && opts.DeadLetterQueue != "" {
		dlq = opts.DeadLetterQueue
	}
	id := uuid.NewString()
	r, err := s.runList(ctx, claimScript, queueKeys(ref), id, storage.Millis(opts.TTL), storage.Millis(opts.Grace),
		pageSize(opts.Limit), max(opts.MaxClaimCount, 0), dlq, storage.Millis(opts.DeadLetterTTL))
	if err != nil {
		return zaqar.Claim{}, nil, err
	}
	now, n := r.int(0), int(r.int(2))
	var (
		c    zaqar.Claim
		msgs []zaqar.Message
	)
	if n > 0 {
		c = zaqar.Claim{ID: id, TTL: opts.TTL, Grace: opts.Grace}
		msgs = r.messages(3, n, now)
	}
	if pending := r[3+n*msgFields:]; len(pending) > 0 {
		// The claim stands whatever happens to the move: a failure here
		// leaves the messages in the outbox for the next claim to deliver,
		// so it is not the client's error.
		_ = s.deliver(ctx, ref, pending)
	}
	return c, msgs, nil
}

// deliver moves outbox entries (id, dead-letter queue, entry triples) of
// ref to their dead-letter queues: accept appends them there, remembering
// their ids so a second delivery of the same entry adds nothing, then ack
// removes them from the outbox. A crash in between leaves them in the
// outbox, delivered again (and added once) by the next claim on ref.
func (s *Store) deliver(ctx context.Context, ref zaqar.QueueRef, pending reply) error {
	byQueue := map[string][]any{}
	var order []string
	for i := 0; i+3 <= len(pending); i += 3 {
		q := pending.str(i + 1)
		if _, ok := byQueue[q]; !ok {
			order = append(order, q)
		}
		byQueue[q] = append(byQueue[q], pending.str(i), pending.str(i+2))
	}
	for _, name := range order {
		dlq := zaqar.QueueRef{Project: ref.Project, Name: name}
		args := byQueue[name]
		unindexed, err := s.runInt(ctx, acceptScript, queueKeys(dlq), args...)
		if err != nil {
			return err
		}
		if unindexed == 1 {
			if err := s.index(ctx, dlq); err != nil {
				return err
			}
		}
		ids := make([]any, 0, len(args)/2)
		for i := 0; i < len(args); i += 2 {
			ids = append(ids, args[i])
		}
		if _, err := s.runInt(ctx, ackScript, queueKeys(ref), ids...); err != nil {
			return err
		}
	}
	return nil
}

func (cs *claimStore) Get(ctx context.Context, ref zaqar.QueueRef, id string) (zaqar.Claim, []zaqar.Message, error) {
	s := (*Store)(cs)
	r, err := s.runList(ctx, claimGetScript, queueKeys(ref), id)
	if err != nil {
		return zaqar.Claim{}, nil, err
	}
	if len(r) < 4 {
		return zaqar.Claim{}, nil, storage.ErrClaimNotFound
	}
	now, expires, ttl := r.int(0), r.int(1), r.int(2)
	c := zaqar.Claim{ID: id, TTL: ms(ttl), Grace: ms(r.int(3)), Age: storage.Age(now, expires-ttl)}
	return c, r.messages(4, (len(r)-4)/msgFields, now), nil
}

func (cs *claimStore) Update(ctx context.Context, ref zaqar.QueueRef, id string, ttl, grace time.Duration) error {
	s := (*Store)(cs)
	n, err := s.runInt(ctx, claimUpdateScript, queueKeys(ref), id, storage.Millis(ttl), storage.Millis(grace))
	if err != nil {
		return err
	}
	if n == 1 {
		return storage.ErrClaimNotFound
	}
	return nil
}

func (cs *claimStore) Delete(ctx context.Context, ref zaqar.QueueRef, id string) error {
	s := (*Store)(cs)
	_, err := s.runInt(ctx, claimDeleteScript, queueKeys(ref), id)
	return err
}
