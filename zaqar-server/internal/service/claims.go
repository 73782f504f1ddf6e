package service

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// claimDoc decodes {"ttl", "grace"} with the configured defaults.
func (s *Service) claimDoc(body []byte) (ttl, grace int64, err error) {
	ttl = int64(s.limits.DefaultClaimTTL / time.Second)
	grace = int64(s.limits.DefaultClaimGrace / time.Second)
	o, err := decodeObject(body)
	if err != nil {
		return 0, 0, err
	}
	if ttl, err = o.intField("ttl", ttl); err != nil {
		return 0, 0, err
	}
	if grace, err = o.intField("grace", grace); err != nil {
		return 0, 0, err
	}
	return ttl, grace, nil
}

func (s *Service) checkClaimTTL(ttl int64) error {
	max := int64(s.limits.MaxClaimTTL / time.Second)
	if ttl < 60 || ttl > max {
		return zaqar.Invalidf("The TTL for a claim may not exceed %d seconds, and must be at least 60 seconds long.", max)
	}
	return nil
}

// CreateClaim claims up to limit messages (default 10). body may be empty
// for the default ttl and grace. A zero Claim means nothing was claimable.
// With wait (seconds, long polling) it waits that long for something
// claimable; nil or 0 answers at once.
func (s *Service) CreateClaim(ctx context.Context, q zaqar.QueueRef, body []byte, limit, wait *int) (zaqar.Claim, []zaqar.Message, error) {
	ttl := int64(s.limits.DefaultClaimTTL / time.Second)
	grace := int64(s.limits.DefaultClaimGrace / time.Second)
	if len(strings.TrimSpace(string(body))) > 0 {
		var err error
		if ttl, grace, err = s.claimDoc(body); err != nil {
			return zaqar.Claim{}, nil, err
		}
	}
	if err := s.checkClaimTTL(ttl); err != nil {
		return zaqar.Claim{}, nil, err
	}
	n := zaqar.DefaultPageSize
	if limit != nil {
		n = *limit
		if n < 1 || n > s.limits.MaxMessagesPerClaimOrPop {
			return zaqar.Claim{}, nil, zaqar.Invalidf("Limit must be at least 1 and may not be greater than %d.", s.limits.MaxMessagesPerClaimOrPop)
		}
	}
	if max := int64(s.limits.MaxClaimGrace / time.Second); grace < 60 || grace > max {
		return zaqar.Claim{}, nil, zaqar.Invalidf("The grace for a claim may not exceed %d seconds, and must be at least 60 seconds long.", max)
	}
	d, err := s.waitFor(wait)
	if err != nil {
		return zaqar.Claim{}, nil, err
	}
	meta, err := s.settings(ctx, q)
	if err != nil {
		return zaqar.Claim{}, nil, storeErr(err, "Claim could not be created.")
	}
	opts := storage.ClaimOptions{
		TTL:   time.Duration(ttl) * time.Second,
		Grace: time.Duration(grace) * time.Second,
		Limit: n,
	}
	// Dead-lettering needs both keys (zaqar/storage/redis/claims.py).
	if max, ok := asInt(meta["_max_claim_count"]); ok && max > 0 {
		if dlq, ok := meta["_dead_letter_queue"].(string); ok && dlq != "" {
			opts.MaxClaimCount, opts.DeadLetterQueue = int(max), dlq
			if t, ok := asInt(meta["_dead_letter_queue_messages_ttl"]); ok && t > 0 {
				opts.DeadLetterTTL = time.Duration(t) * time.Second
			}
		}
	}
	var c zaqar.Claim
	var msgs []zaqar.Message
	sctx := ctx
	if d > 0 {
		// A waiting claim is often woken just as its client gives up (a
		// consumer stopping): the claim is made whole, then released below,
		// rather than cut off midway, made but unknown, holding its
		// messages until it expires.
		sctx = context.WithoutCancel(ctx)
	}
	err = s.await(ctx, q, true, d, func() (bool, error) {
		var err error
		c, msgs, err = s.store.Claims().Create(sctx, q, opts)
		if err != nil && !errors.Is(err, storage.ErrQueueNotFound) {
			return false, storeErr(err, "Claim could not be created.")
		}
		return c.ID != "" && len(msgs) > 0, nil
	})
	if err != nil {
		return zaqar.Claim{}, nil, err
	}
	if d > 0 && c.ID != "" && ctx.Err() != nil {
		// Nobody reads the answer: give the messages back now.
		if err := s.DeleteClaim(sctx, q, c.ID); err != nil {
			s.log.Warn("long polling: releasing the claim of a client gone", "project", q.Project, "queue", q.Name, "claim", c.ID, "err", err)
		}
		return zaqar.Claim{}, nil, nil
	}
	return c, s.openAll(msgs), nil
}

func claimNotFound(q zaqar.QueueRef, id string) error {
	return zaqar.NotFoundf("Claim %s does not exist in %s %s for project %s", id, q.Kind(), q.Name, q.Owner())
}

// GetClaim returns a live claim and its messages.
func (s *Service) GetClaim(ctx context.Context, q zaqar.QueueRef, id string) (zaqar.Claim, []zaqar.Message, error) {
	c, msgs, err := s.store.Claims().Get(ctx, q, id)
	if errors.Is(err, storage.ErrClaimNotFound) || errors.Is(err, storage.ErrQueueNotFound) {
		return zaqar.Claim{}, nil, claimNotFound(q, id)
	}
	if err != nil {
		return zaqar.Claim{}, nil, storeErr(err, "Claim could not be queried.")
	}
	return c, s.openAll(msgs), nil
}

// UpdateClaim renews a live claim; the body is required, its fields
// default, and only ttl is range-checked, as in Zaqar.
func (s *Service) UpdateClaim(ctx context.Context, q zaqar.QueueRef, id string, body []byte) error {
	ttl, grace, err := s.claimDoc(body)
	if err != nil {
		return err
	}
	if err := s.checkClaimTTL(ttl); err != nil {
		return err
	}
	err = s.store.Claims().Update(ctx, q, id, time.Duration(ttl)*time.Second, time.Duration(grace)*time.Second)
	if errors.Is(err, storage.ErrClaimNotFound) || errors.Is(err, storage.ErrQueueNotFound) {
		return claimNotFound(q, id)
	}
	if err != nil {
		return storeErr(err, "Claim could not be updated.")
	}
	return nil
}

// DeleteClaim releases a claim; unknown claims succeed.
func (s *Service) DeleteClaim(ctx context.Context, q zaqar.QueueRef, id string) error {
	err := s.store.Claims().Delete(ctx, q, id)
	if err != nil && !errors.Is(err, storage.ErrClaimNotFound) && !errors.Is(err, storage.ErrQueueNotFound) {
		return storeErr(err, "Claim could not be deleted.")
	}
	// How many messages came free is the store's to know; a claim holds
	// at most this many.
	s.waiters.posted(q, s.limits.MaxMessagesPerClaimOrPop)
	return nil
}
