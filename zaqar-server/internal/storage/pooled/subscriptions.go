package pooled

import (
	"context"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Subscriptions live in their queue's pool; creating one places the name.
type subscriptionStore Store

func (ss *subscriptionStore) Create(ctx context.Context, q zaqar.QueueRef, sub zaqar.Subscription) (zaqar.Subscription, bool, error) {
	st, err := (*Store)(ss).place(ctx, q, "")
	if err != nil {
		return zaqar.Subscription{}, false, err
	}
	return st.Subscriptions().Create(ctx, q, sub)
}

func (ss *subscriptionStore) Get(ctx context.Context, q zaqar.QueueRef, id string) (zaqar.Subscription, error) {
	st, _, err := (*Store)(ss).route(ctx, q)
	if err != nil || st == nil {
		return zaqar.Subscription{}, orMissing(err, storage.ErrSubscriptionNotFound)
	}
	return st.Subscriptions().Get(ctx, q, id)
}

func (ss *subscriptionStore) List(ctx context.Context, q zaqar.QueueRef, marker string, limit int) ([]zaqar.Subscription, error) {
	st, _, err := (*Store)(ss).route(ctx, q)
	if err != nil || st == nil {
		return []zaqar.Subscription{}, err
	}
	return st.Subscriptions().List(ctx, q, marker, limit)
}

func (ss *subscriptionStore) Update(ctx context.Context, q zaqar.QueueRef, id string, u storage.SubscriptionUpdate) error {
	st, _, err := (*Store)(ss).route(ctx, q)
	if err != nil || st == nil {
		return orMissing(err, storage.ErrSubscriptionNotFound)
	}
	return st.Subscriptions().Update(ctx, q, id, u)
}

func (ss *subscriptionStore) Confirm(ctx context.Context, q zaqar.QueueRef, id string, confirmed bool) error {
	st, _, err := (*Store)(ss).route(ctx, q)
	if err != nil || st == nil {
		return orMissing(err, storage.ErrSubscriptionNotFound)
	}
	return st.Subscriptions().Confirm(ctx, q, id, confirmed)
}

// Delete drops the name's placement with its last subscription when the
// queue itself is gone.
func (ss *subscriptionStore) Delete(ctx context.Context, q zaqar.QueueRef, id string) error {
	s := (*Store)(ss)
	st, pool, err := s.route(ctx, q)
	if err != nil || st == nil {
		return err
	}
	if err := st.Subscriptions().Delete(ctx, q, id); err != nil {
		return err
	}
	if pool != "" {
		s.release(ctx, q, pool, st)
	}
	return nil
}
