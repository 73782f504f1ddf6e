package pooled

import (
	"context"
	"errors"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type claimStore Store

func (cs *claimStore) Create(ctx context.Context, q zaqar.QueueRef, opts storage.ClaimOptions) (zaqar.Claim, []zaqar.Message, error) {
	s := (*Store)(cs)
	st, pool, err := s.route(ctx, q)
	if err != nil || st == nil {
		return zaqar.Claim{}, nil, err
	}
	if opts.MaxClaimCount <= 0 || opts.DeadLetterQueue == "" {
		return st.Claims().Create(ctx, q, opts)
	}
	dlq := zaqar.QueueRef{Project: q.Project, Name: opts.DeadLetterQueue}
	dst, err := s.deadLetterStore(ctx, dlq, pool)
	if err != nil {
		return zaqar.Claim{}, nil, err
	}
	if dst == st {
		return st.Claims().Create(ctx, q, opts)
	}
	return claimAcross(ctx, st, q, dst, dlq, opts)
}

// deadLetterStore returns the store of a dead-letter queue, placing it on
// its source queue's pool when it has no placement yet.
func (s *Store) deadLetterStore(ctx context.Context, dlq zaqar.QueueRef, sourcePool string) (storage.Store, error) {
	st, pool, err := s.route(ctx, dlq)
	if err != nil || pool != "" {
		return st, err
	}
	if sourcePool == "" { // the source is on the default store
		return s.def, nil
	}
	if s.def != nil {
		if in, err := holds(ctx, s.def, dlq); err != nil || in {
			return s.def, err
		}
	}
	placed, err := s.cat.Catalogue().Insert(ctx, dlq, sourcePool)
	if err != nil {
		return nil, unavailable(err)
	}
	return s.pool(ctx, placed)
}

// claimAcross claims in src and moves the messages that reached the claim
// limit to dlq in dst, another store: it claims without dead-lettering,
// posts what must move to dst and then deletes it from src under the
// claim. A crash between the two leaves the message in both (it is moved
// again once the claim expires); nothing is lost.
func claimAcross(ctx context.Context, src storage.Store, q zaqar.QueueRef, dst storage.Store, dlq zaqar.QueueRef, opts storage.ClaimOptions) (zaqar.Claim, []zaqar.Message, error) {
	plain := opts
	plain.MaxClaimCount, plain.DeadLetterQueue, plain.DeadLetterTTL = 0, "", 0
	for {
		c, msgs, err := src.Claims().Create(ctx, q, plain)
		if err != nil || c.ID == "" {
			return c, msgs, err
		}
		var keep, dead []zaqar.Message
		for _, m := range msgs {
			// The claim counted itself: a message whose count had already
			// reached the limit is one claim over it now.
			if m.ClaimCount > opts.MaxClaimCount {
				dead = append(dead, m)
			} else {
				keep = append(keep, m)
			}
		}
		if len(dead) == 0 {
			return c, msgs, nil
		}
		moved := make([]zaqar.NewMessage, len(dead))
		ids := make([]string, len(dead))
		for i, m := range dead {
			ttl := opts.DeadLetterTTL
			if ttl <= 0 {
				ttl = max(m.TTL-m.Age, time.Second)
			}
			moved[i] = zaqar.NewMessage{Body: m.Body, TTL: ttl, ClientID: m.ClientID, Checksum: m.Checksum}
			ids[i] = m.ID
		}
		if _, err := dst.Messages().Post(ctx, dlq, moved); err != nil {
			return zaqar.Claim{}, nil, errors.Join(err, src.Claims().Delete(ctx, q, c.ID))
		}
		if err := src.Messages().DeleteMany(ctx, q, ids, []string{c.ID}); err != nil {
			return zaqar.Claim{}, nil, errors.Join(err, src.Claims().Delete(ctx, q, c.ID))
		}
		if len(keep) > 0 {
			return c, keep, nil
		}
		// Everything claimed moved: release the empty claim and look again.
		if err := src.Claims().Delete(ctx, q, c.ID); err != nil {
			return zaqar.Claim{}, nil, err
		}
	}
}

func (cs *claimStore) Get(ctx context.Context, q zaqar.QueueRef, id string) (zaqar.Claim, []zaqar.Message, error) {
	st, _, err := (*Store)(cs).route(ctx, q)
	if err != nil || st == nil {
		return zaqar.Claim{}, nil, orMissing(err, storage.ErrClaimNotFound)
	}
	return st.Claims().Get(ctx, q, id)
}

func (cs *claimStore) Update(ctx context.Context, q zaqar.QueueRef, id string, ttl, grace time.Duration) error {
	st, _, err := (*Store)(cs).route(ctx, q)
	if err != nil || st == nil {
		return orMissing(err, storage.ErrClaimNotFound)
	}
	return st.Claims().Update(ctx, q, id, ttl, grace)
}

func (cs *claimStore) Delete(ctx context.Context, q zaqar.QueueRef, id string) error {
	st, _, err := (*Store)(cs).route(ctx, q)
	if err != nil || st == nil {
		return err
	}
	return st.Claims().Delete(ctx, q, id)
}
