package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Store returns st counting its backend failures in
// zaqar_storage_errors_total under driver. It keeps st's VolumeCounter,
// and no other optional interface: app wraps the stores that hold
// messages (the message store, each pool), not a pooled store or a
// management store, whose catalog methods it would hide.
func (m *Metrics) Store(driver string, st storage.Store) storage.Store {
	s := &store{inner: st, errs: m.storeErr.MustCurryWith(prometheus.Labels{"driver": driver})}
	s.queues.s, s.messages.s, s.claims.s, s.subs.s = s, s, s, s
	if vc, ok := st.(storage.VolumeCounter); ok {
		return &countingStore{store: s, vc: vc}
	}
	return s
}

// sentinels are answers, not failures.
var sentinels = []error{storage.ErrQueueNotFound, storage.ErrMessageNotFound, storage.ErrClaimNotFound,
	storage.ErrMessageClaimed, storage.ErrMessageNotClaimed, storage.ErrSubscriptionNotFound,
	storage.ErrSubscriptionExists, storage.ErrPoolNotFound, storage.ErrPoolURIInUse,
	storage.ErrFlavorNotFound, storage.ErrQueueNotMapped}

// backendFailure tells a failure of the backend from an answer: an absent
// resource, refused input, or a caller that went away.
func backendFailure(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return false
		}
	}
	var ze *zaqar.Error
	if errors.As(err, &ze) {
		return ze.Kind == zaqar.Unavailable || ze.Kind == zaqar.Internal
	}
	return true
}

type store struct {
	inner    storage.Store
	errs     *prometheus.CounterVec // by operation
	queues   queueStore
	messages messageStore
	claims   claimStore
	subs     subscriptionStore
}

type countingStore struct {
	*store
	vc storage.VolumeCounter
}

func (c *countingStore) Volume(ctx context.Context) (storage.Volume, error) {
	v, err := c.vc.Volume(ctx)
	return v, c.count("volume", err)
}

func (s *store) count(op string, err error) error {
	if err != nil && backendFailure(err) {
		s.errs.WithLabelValues(op).Inc()
	}
	return err
}

func (s *store) Queues() storage.QueueStore               { return &s.queues }
func (s *store) Messages() storage.MessageStore           { return &s.messages }
func (s *store) Claims() storage.ClaimStore               { return &s.claims }
func (s *store) Subscriptions() storage.SubscriptionStore { return &s.subs }
func (s *store) Ping(ctx context.Context) error           { return s.count("ping", s.inner.Ping(ctx)) }
func (s *store) Close() error                             { return s.inner.Close() }

// Unwrap returns the wrapped store, so storage.SignalerOf finds its
// Signaler (long polling's wake-ups are not storage calls to count).
func (s *store) Unwrap() storage.Store { return s.inner }

type queueStore struct{ s *store }

func (q *queueStore) Create(ctx context.Context, ref zaqar.QueueRef, meta zaqar.Metadata) (bool, error) {
	created, err := q.s.inner.Queues().Create(ctx, ref, meta)
	return created, q.s.count("queues.create", err)
}

func (q *queueStore) Get(ctx context.Context, ref zaqar.QueueRef) (zaqar.Metadata, error) {
	meta, err := q.s.inner.Queues().Get(ctx, ref)
	return meta, q.s.count("queues.get", err)
}

func (q *queueStore) SetMetadata(ctx context.Context, ref zaqar.QueueRef, meta zaqar.Metadata) error {
	return q.s.count("queues.set_metadata", q.s.inner.Queues().SetMetadata(ctx, ref, meta))
}

func (q *queueStore) Delete(ctx context.Context, ref zaqar.QueueRef) error {
	return q.s.count("queues.delete", q.s.inner.Queues().Delete(ctx, ref))
}

func (q *queueStore) List(ctx context.Context, project string, opts storage.QueueListOptions) ([]zaqar.Queue, error) {
	qs, err := q.s.inner.Queues().List(ctx, project, opts)
	return qs, q.s.count("queues.list", err)
}

func (q *queueStore) Count(ctx context.Context, project string) (int, error) {
	n, err := q.s.inner.Queues().Count(ctx, project)
	return n, q.s.count("queues.count", err)
}

type messageStore struct{ s *store }

func (m *messageStore) Post(ctx context.Context, q zaqar.QueueRef, msgs []zaqar.NewMessage) ([]string, error) {
	ids, err := m.s.inner.Messages().Post(ctx, q, msgs)
	return ids, m.s.count("messages.post", err)
}

func (m *messageStore) List(ctx context.Context, q zaqar.QueueRef, opts storage.MessageListOptions) ([]zaqar.Message, error) {
	msgs, err := m.s.inner.Messages().List(ctx, q, opts)
	return msgs, m.s.count("messages.list", err)
}

func (m *messageStore) Get(ctx context.Context, q zaqar.QueueRef, id string) (zaqar.Message, error) {
	msg, err := m.s.inner.Messages().Get(ctx, q, id)
	return msg, m.s.count("messages.get", err)
}

func (m *messageStore) GetMany(ctx context.Context, q zaqar.QueueRef, ids []string) ([]zaqar.Message, error) {
	msgs, err := m.s.inner.Messages().GetMany(ctx, q, ids)
	return msgs, m.s.count("messages.get_many", err)
}

func (m *messageStore) Delete(ctx context.Context, q zaqar.QueueRef, id, claimID string) error {
	return m.s.count("messages.delete", m.s.inner.Messages().Delete(ctx, q, id, claimID))
}

func (m *messageStore) DeleteMany(ctx context.Context, q zaqar.QueueRef, ids, claimIDs []string) error {
	return m.s.count("messages.delete_many", m.s.inner.Messages().DeleteMany(ctx, q, ids, claimIDs))
}

func (m *messageStore) Pop(ctx context.Context, q zaqar.QueueRef, limit int) ([]zaqar.Message, error) {
	msgs, err := m.s.inner.Messages().Pop(ctx, q, limit)
	return msgs, m.s.count("messages.pop", err)
}

func (m *messageStore) Stats(ctx context.Context, q zaqar.QueueRef) (zaqar.Stats, error) {
	st, err := m.s.inner.Messages().Stats(ctx, q)
	return st, m.s.count("messages.stats", err)
}

type claimStore struct{ s *store }

func (c *claimStore) Create(ctx context.Context, q zaqar.QueueRef, opts storage.ClaimOptions) (zaqar.Claim, []zaqar.Message, error) {
	cl, msgs, err := c.s.inner.Claims().Create(ctx, q, opts)
	return cl, msgs, c.s.count("claims.create", err)
}

func (c *claimStore) Get(ctx context.Context, q zaqar.QueueRef, id string) (zaqar.Claim, []zaqar.Message, error) {
	cl, msgs, err := c.s.inner.Claims().Get(ctx, q, id)
	return cl, msgs, c.s.count("claims.get", err)
}

func (c *claimStore) Update(ctx context.Context, q zaqar.QueueRef, id string, ttl, grace time.Duration) error {
	return c.s.count("claims.update", c.s.inner.Claims().Update(ctx, q, id, ttl, grace))
}

func (c *claimStore) Delete(ctx context.Context, q zaqar.QueueRef, id string) error {
	return c.s.count("claims.delete", c.s.inner.Claims().Delete(ctx, q, id))
}

type subscriptionStore struct{ s *store }

func (u *subscriptionStore) Create(ctx context.Context, q zaqar.QueueRef, sub zaqar.Subscription) (zaqar.Subscription, bool, error) {
	s, created, err := u.s.inner.Subscriptions().Create(ctx, q, sub)
	return s, created, u.s.count("subscriptions.create", err)
}

func (u *subscriptionStore) Get(ctx context.Context, q zaqar.QueueRef, id string) (zaqar.Subscription, error) {
	s, err := u.s.inner.Subscriptions().Get(ctx, q, id)
	return s, u.s.count("subscriptions.get", err)
}

func (u *subscriptionStore) List(ctx context.Context, q zaqar.QueueRef, marker string, limit int) ([]zaqar.Subscription, error) {
	subs, err := u.s.inner.Subscriptions().List(ctx, q, marker, limit)
	return subs, u.s.count("subscriptions.list", err)
}

func (u *subscriptionStore) Update(ctx context.Context, q zaqar.QueueRef, id string, up storage.SubscriptionUpdate) error {
	return u.s.count("subscriptions.update", u.s.inner.Subscriptions().Update(ctx, q, id, up))
}

func (u *subscriptionStore) Confirm(ctx context.Context, q zaqar.QueueRef, id string, confirmed bool) error {
	return u.s.count("subscriptions.confirm", u.s.inner.Subscriptions().Confirm(ctx, q, id, confirmed))
}

func (u *subscriptionStore) Delete(ctx context.Context, q zaqar.QueueRef, id string) error {
	return u.s.count("subscriptions.delete", u.s.inner.Subscriptions().Delete(ctx, q, id))
}

var (
	_ storage.Store         = (*store)(nil)
	_ storage.VolumeCounter = (*countingStore)(nil)
)
