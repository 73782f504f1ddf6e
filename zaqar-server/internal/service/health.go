package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Health is what GET /v2/health reports (zaqar/storage/base.py health):
// for a plain store its StoreHealth; with pooling whether the catalog and
// every pool answer, and each pool's StoreHealth.
type Health struct {
	Store StoreHealth // without pooling

	Pooled bool
	// CatalogReachable is Zaqar's catalog_reachable: the catalog answered
	// and so did every pool (zaqar/storage/pooling.py is_alive).
	CatalogReachable bool
	Pools            []PoolHealth // in name order; the virtual pool last
}

// PoolHealth is one pool's health; Name is "" for the virtual pool.
type PoolHealth struct {
	Name string
	StoreHealth
}

// StoreHealth is one store's health (the drivers' _health).
type StoreHealth struct {
	Reachable bool
	// Operations are the steps of the probe, by Zaqar's names; a step that
	// did not run because an earlier one failed is absent, as in Zaqar.
	Operations map[string]OperationStatus
	// Volume counts the store's messages when it can do so cheaply
	// (storage.VolumeCounter); nil otherwise.
	Volume *storage.Volume
}

// OperationStatus is one step of the probe.
type OperationStatus struct {
	Succeeded bool
	Elapsed   time.Duration
	// Ref names a failure in the log ("health: operation failed"); "" when
	// the step succeeded.
	Ref string
}

// Health runs Zaqar's health probe on the store, or on every pool at once
// with pooling. The catalog not answering is an error (503); a pool not
// answering is reported in its entry.
func (s *Service) Health(ctx context.Context) (Health, error) {
	ps, ok := s.store.(storage.PoolSet)
	if !ok {
		return Health{Store: s.storeHealth(ctx, "", s.store, nil)}, nil
	}
	pools, err := ps.PoolStores(ctx)
	if err != nil {
		return Health{}, storeErr(err, "Health status could not be read.")
	}
	h := Health{Pooled: true, CatalogReachable: true, Pools: make([]PoolHealth, len(pools))}
	var wg sync.WaitGroup
	for i, p := range pools {
		wg.Go(func() {
			h.Pools[i] = PoolHealth{Name: p.Name, StoreHealth: s.storeHealth(ctx, p.Name, p.Store, p.Err)}
		})
	}
	wg.Wait()
	for _, p := range h.Pools {
		h.CatalogReachable = h.CatalogReachable && p.Reachable
	}
	return h, nil
}

// storeHealth pings st, runs the probe and counts its messages; openErr
// is why st could not be opened at all (then st is nil).
func (s *Service) storeHealth(ctx context.Context, pool string, st storage.Store, openErr error) StoreHealth {
	log := s.log
	if pool != "" {
		log = log.With("pool", pool)
	}
	if openErr != nil {
		// Reported as the probe's first step failing, as Zaqar's driver
		// would report a backend it cannot reach.
		return StoreHealth{Operations: map[string]OperationStatus{
			"create_queue": failed(log, "create_queue", 0, openErr),
		}}
	}
	h := StoreHealth{Reachable: st.Ping(ctx) == nil}
	h.Operations = probe(ctx, st, log)
	if vc, ok := st.(storage.VolumeCounter); ok && h.Reachable {
		vctx, cancel := context.WithTimeout(ctx, volumeTimeout)
		v, err := vc.Volume(vctx)
		cancel()
		if err != nil {
			log.WarnContext(ctx, "health: messages could not be counted", "err", err)
		} else {
			h.Volume = &v
		}
	}
	return h
}

// volumeTimeout bounds a store's message count in the health answer.
const volumeTimeout = 5 * time.Second

// probeTimeout bounds the probe of one store; cleanupTimeout the deletion
// of its queue afterwards, which runs even when the probe ran out of time
// or its caller went away.
const (
	probeTimeout   = 30 * time.Second
	cleanupTimeout = 10 * time.Second
)

// probe is zaqar/storage/base.py _get_operation_status: on a throwaway
// queue of a random project, create the queue, post 100 messages, claim
// some, list, delete the claimed ones under the claim, release the claim,
// delete the posted ones by id and delete the queue, timing each step.
func probe(ctx context.Context, st storage.Store, log *slog.Logger) map[string]OperationStatus {
	ops := map[string]OperationStatus{}
	// The probe must not stop half way because the client went away: it
	// would leave its queue behind.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
	defer cancel()
	q := zaqar.QueueRef{Project: uuid.NewString(), Name: uuid.NewString()}
	client := uuid.NewString()
	step := func(op string, fn func() error) bool {
		start := time.Now()
		err := fn()
		if err != nil {
			ops[op] = failed(log, op, time.Since(start), err)
			return false
		}
		ops[op] = OperationStatus{Succeeded: true, Elapsed: time.Since(start)}
		return true
	}

	if !step("create_queue", func() error {
		_, err := st.Queues().Create(pctx, q, zaqar.Metadata{})
		return err
	}) {
		return ops
	}
	var ids []string
	step("post_messages", func() error {
		msgs := make([]zaqar.NewMessage, 100)
		for i := range msgs {
			msgs[i] = zaqar.NewMessage{Body: json.RawMessage(fmt.Sprintf(`{"event":"p_%d"}`, i)), TTL: 600 * time.Second, ClientID: client}
		}
		var err error
		ids, err = st.Messages().Post(pctx, q, msgs)
		return err
	})
	if len(ids) > 0 {
		var claim zaqar.Claim
		var claimed []zaqar.Message
		step("claim_messages", func() error {
			var err error
			claim, claimed, err = st.Claims().Create(pctx, q, storage.ClaimOptions{TTL: 60 * time.Second, Grace: 300 * time.Second, Limit: 10})
			return err
		})
		step("list_messages", func() error {
			_, err := st.Messages().List(pctx, q, storage.MessageListOptions{Limit: 10, ClientID: client, Echo: true, IncludeClaimed: true})
			return err
		})
		if claim.ID != "" && len(claimed) > 0 {
			for _, m := range claimed {
				if !step("delete_messages", func() error { return st.Messages().Delete(pctx, q, m.ID, claim.ID) }) {
					break
				}
			}
			step("delete_claim", func() error { return st.Claims().Delete(pctx, q, claim.ID) })
		}
	}
	step("bulk_delete_messages", func() error { return st.Messages().DeleteMany(pctx, q, ids, nil) })
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer ccancel()
	step("delete_queue", func() error { return st.Queues().Delete(cctx, q) })
	return ops
}

// failed records a failed step under a new reference, logged with the
// error so that an operator can find it (Zaqar logs instance_uuid).
func failed(log *slog.Logger, op string, elapsed time.Duration, err error) OperationStatus {
	ref := uuid.NewString()
	log.Error("health: operation failed", "operation", op, "ref", ref, "err", err)
	return OperationStatus{Elapsed: elapsed, Ref: ref}
}

// Readiness: a cheap check for load balancers, cached so that many of
// them polling many nodes cost storage one check per node per ReadyTTL.

const readyTimeout = 3 * time.Second

type readiness struct {
	ttl     time.Duration
	mu      sync.Mutex
	checked time.Time
	err     error
	running chan struct{} // closed when the check in progress ends; nil when none
}

// errNotReady is the answer when no pool answers.
var errNotReady = errors.New("no pool answers")

// Ready reports whether this node can serve: its store answers a ping, or
// with pooling the catalog answers and so does at least one pool (or no
// pool is registered). Failing because one pool is down would take every
// API node out of a load balancer at once, since they all share the
// pools; /v2/health says which pool is down. An answer is reused for
// Options.ReadyTTL, and concurrent callers share one check.
func (s *Service) Ready(ctx context.Context) error {
	r := &s.ready
	for {
		r.mu.Lock()
		if !r.checked.IsZero() && time.Since(r.checked) < r.ttl {
			err := r.err
			r.mu.Unlock()
			return err
		}
		if r.running == nil {
			break
		}
		wait := r.running
		r.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	done := make(chan struct{})
	r.running = done
	r.mu.Unlock()

	// A caller that gives up must not leave a failure in the cache.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
	err := s.checkReady(cctx)
	cancel()

	r.mu.Lock()
	was := r.err
	r.err, r.checked, r.running = err, time.Now(), nil
	r.mu.Unlock()
	close(done)
	// Logged when the answer changes, not on every poll.
	switch {
	case err != nil && (was == nil):
		s.log.Warn("readiness: storage unreachable", "err", err)
	case err == nil && was != nil:
		s.log.Info("readiness: storage answers again")
	}
	return err
}

func (s *Service) checkReady(ctx context.Context) error {
	ps, ok := s.store.(storage.PoolSet)
	if !ok {
		return s.store.Ping(ctx)
	}
	pools, err := ps.PoolStores(ctx)
	if err != nil || len(pools) == 0 {
		return err
	}
	answers := make(chan error, len(pools))
	for _, p := range pools {
		go func() {
			if p.Err != nil {
				answers <- p.Err
				return
			}
			answers <- p.Store.Ping(ctx)
		}()
	}
	errs := make([]error, 0, len(pools))
	for range pools {
		err := <-answers
		if err == nil {
			return nil // the other pings end with ctx
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("%w: %w", errNotReady, errors.Join(errs...))
}
