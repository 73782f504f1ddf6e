package redis

import (
	"context"

	"github.com/google/uuid"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type subscriptionStore Store

// subFields is the width of one subscription in a script reply.
const subFields = 6

func (r reply) subscriptions(i int, ref zaqar.QueueRef, now int64) ([]zaqar.Subscription, error) {
	out := []zaqar.Subscription{}
	for ; i+subFields <= len(r); i += subFields {
		opts, err := zaqar.DecodeOptions([]byte(r.str(i + 5)))
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, zaqar.Subscription{
			ID:         r.str(i),
			Source:     ref.Name,
			Subscriber: r.str(i + 1),
			TTL:        ms(r.int(i + 2)),
			Age:        storage.Age(now, r.int(i+3)),
			Confirmed:  r.int(i+4) == 1,
			Options:    opts,
		})
	}
	return out, nil
}

// Create ignores sub.ID: ids are always fresh random UUIDs. A TTL <= 0 never expires.
func (ss *subscriptionStore) Create(ctx context.Context, ref zaqar.QueueRef, sub zaqar.Subscription) (zaqar.Subscription, bool, error) {
	s := (*Store)(ss)
	opts, err := encodeDoc(sub.Options)
	if err != nil {
		return zaqar.Subscription{}, false, err
	}
	r, err := s.runList(ctx, subCreateScript, subKeys(ref), uuid.NewString(), sub.Subscriber, storage.Millis(sub.TTL), flag(sub.Confirmed), opts)
	if err != nil {
		return zaqar.Subscription{}, false, err
	}
	subs, err := r.subscriptions(2, ref, r.int(0))
	if err != nil || len(subs) == 0 {
		return zaqar.Subscription{}, false, err
	}
	return subs[0], r.int(1) == 1, nil
}

func (ss *subscriptionStore) Get(ctx context.Context, ref zaqar.QueueRef, id string) (zaqar.Subscription, error) {
	s := (*Store)(ss)
	r, err := s.runList(ctx, subGetScript, subKeys(ref), id)
	if err != nil {
		return zaqar.Subscription{}, err
	}
	subs, err := r.subscriptions(1, ref, r.int(0))
	if err != nil {
		return zaqar.Subscription{}, err
	}
	if len(subs) == 0 {
		return zaqar.Subscription{}, storage.ErrSubscriptionNotFound
	}
	return subs[0], nil
}

func (ss *subscriptionStore) List(ctx context.Context, ref zaqar.QueueRef, marker string, limit int) ([]zaqar.Subscription, error) {
	s := (*Store)(ss)
	r, err := s.runList(ctx, subListScript, subKeys(ref), marker, pageSize(limit))
	if err != nil {
		return nil, err
	}
	return r.subscriptions(1, ref, r.int(0))
}

func (ss *subscriptionStore) Update(ctx context.Context, ref zaqar.QueueRef, id string, u storage.SubscriptionUpdate) error {
	s := (*Store)(ss)
	var subscriber, opts string
	var ttl int64
	if u.Subscriber != nil {
		subscriber = *u.Subscriber
	}
	if u.TTL != nil {
		ttl = storage.Millis(*u.TTL)
	}
	if u.Options != nil {
		var err error
		if opts, err = encodeDoc(u.Options); err != nil {
			return err
		}
	}
	n, err := s.runInt(ctx, subUpdateScript, subKeys(ref), id,
		flag(u.Subscriber != nil), subscriber, flag(u.TTL != nil), ttl, flag(u.Options != nil), opts)
	if err != nil {
		return err
	}
	switch n {
	case 1:
		return storage.ErrSubscriptionNotFound
	case 2:
		return storage.ErrSubscriptionExists
	}
	return nil
}

func (ss *subscriptionStore) Confirm(ctx context.Context, ref zaqar.QueueRef, id string, confirmed bool) error {
	s := (*Store)(ss)
	n, err := s.runInt(ctx, subConfirmScript, subKeys(ref), id, flag(confirmed))
	if err != nil {
		return err
	}
	if n == 1 {
		return storage.ErrSubscriptionNotFound
	}
	return nil
}

func (ss *subscriptionStore) Delete(ctx context.Context, ref zaqar.QueueRef, id string) error {
	s := (*Store)(ss)
	_, err := s.runInt(ctx, subDeleteScript, subKeys(ref), id)
	return err
}
