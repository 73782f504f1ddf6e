package mongodb

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type subscriptionStore Store

// subDoc is a subscription. Options are JSON, like queue metadata.
type subDoc struct {
	ID string `bson:"_id"`
	P  string `bson:"p"`
	Q  string `bson:"q"`
	U  string `bson:"u"`  // subscriber URI; unique per queue
	T  int64  `bson:"t"`  // TTL, ms; 0 never expires
	Cr int64  `bson:"cr"` // created or TTL restarted, ms
	E  int64  `bson:"e"`  // expires, ms
	O  string `bson:"o"`  // options
	C  bool   `bson:"c"`  // confirmed
}

func (d *subDoc) live(now int64) bool { return d.E > now }

func (d *subDoc) view(now int64) (zaqar.Subscription, error) {
	opts, err := zaqar.DecodeOptions([]byte(d.O))
	if err != nil {
		return zaqar.Subscription{}, unavailable(err)
	}
	return zaqar.Subscription{ID: d.ID, Source: d.Q, Subscriber: d.U, TTL: ms(d.T), Age: storage.Age(now, d.Cr), Options: opts, Confirmed: d.C}, nil
}

func (s *Store) subByID(ctx context.Context, ref zaqar.QueueRef, id string, now int64) (*subDoc, error) {
	var d subDoc
	err := s.subs.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	if d.P != ref.Project || d.Q != ref.Name || !d.live(now) {
		return nil, nil
	}
	return &d, nil
}

// bySubscriber returns the subscription of u on ref, expired or not; nil when none.
func (s *Store) bySubscriber(ctx context.Context, ref zaqar.QueueRef, u string) (*subDoc, error) {
	var d subDoc
	err := s.subs.FindOne(ctx, bson.D{{Key: "p", Value: ref.Project}, {Key: "q", Value: ref.Name}, {Key: "u", Value: u}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return &d, nil
}

// dropExpired deletes d, an expired subscription still holding its
// subscriber's unique key, so the subscriber can be used again.
func (s *Store) dropExpired(ctx context.Context, d *subDoc) error {
	if _, err := s.subs.DeleteOne(ctx, bson.D{{Key: "_id", Value: d.ID}}); err != nil {
		return unavailable(err)
	}
	return nil
}

// Create inserts the subscription; the unique index on (queue, subscriber)
// makes one of racing creators win and the others return its subscription.
func (ss *subscriptionStore) Create(ctx context.Context, ref zaqar.QueueRef, sub zaqar.Subscription) (zaqar.Subscription, bool, error) {
	s := (*Store)(ss)
	opts, err := encodeDoc(sub.Options)
	if err != nil {
		return zaqar.Subscription{}, false, err
	}
	for range contention {
		now := s.clock.now()
		t := storage.Millis(sub.TTL)
		d := &subDoc{ID: newID(), P: ref.Project, Q: ref.Name, U: sub.Subscriber, T: t, Cr: now, E: expiry(now, t), O: opts, C: sub.Confirmed}
		_, err := s.subs.InsertOne(ctx, d)
		if err == nil {
			v, err := d.view(now)
			return v, true, err
		}
		if !isDup(err) {
			return zaqar.Subscription{}, false, unavailable(err)
		}
		old, err := s.bySubscriber(ctx, ref, sub.Subscriber)
		if err != nil {
			return zaqar.Subscription{}, false, err
		}
		switch {
		case old == nil:
			// deleted in between: try again
		case old.live(now):
			v, err := old.view(now)
			return v, false, err
		default:
			if err := s.dropExpired(ctx, old); err != nil {
				return zaqar.Subscription{}, false, err
			}
		}
	}
	return zaqar.Subscription{}, false, unavailable(fmt.Errorf("subscriber %q changed %d times while subscribing", sub.Subscriber, contention))
}

func (ss *subscriptionStore) Get(ctx context.Context, ref zaqar.QueueRef, id string) (zaqar.Subscription, error) {
	s := (*Store)(ss)
	now := s.clock.now()
	d, err := s.subByID(ctx, ref, id, now)
	if err != nil {
		return zaqar.Subscription{}, err
	}
	if d == nil {
		return zaqar.Subscription{}, storage.ErrSubscriptionNotFound
	}
	return d.view(now)
}

func (ss *subscriptionStore) List(ctx context.Context, ref zaqar.QueueRef, marker string, limit int) ([]zaqar.Subscription, error) {
	s := (*Store)(ss)
	limit = pageSize(limit)
	now := s.clock.now()
	out := []zaqar.Subscription{}
	for len(out) < limit {
		cur, err := s.subs.Find(ctx,
			bson.D{{Key: "p", Value: ref.Project}, {Key: "q", Value: ref.Name}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: marker}}}},
			options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
		if err != nil {
			return nil, unavailable(err)
		}
		var docs []subDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, unavailable(err)
		}
		for i := range docs {
			if len(out) == limit {
				break
			}
			if !docs[i].live(now) {
				continue
			}
			v, err := docs[i].view(now)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if len(docs) < limit {
			break
		}
		marker = docs[len(docs)-1].ID
	}
	return out, nil
}

// Update writes the changed fields. Taking a subscriber another live
// subscription of the queue has is a conflict; an expired one gives it up.
func (ss *subscriptionStore) Update(ctx context.Context, ref zaqar.QueueRef, id string, u storage.SubscriptionUpdate) error {
	s := (*Store)(ss)
	now := s.clock.now()
	d, err := s.subByID(ctx, ref, id, now)
	if err != nil {
		return err
	}
	if d == nil {
		return storage.ErrSubscriptionNotFound
	}
	set := bson.D{}
	if u.Subscriber != nil && *u.Subscriber != d.U {
		other, err := s.bySubscriber(ctx, ref, *u.Subscriber)
		if err != nil {
			return err
		}
		if other != nil {
			if other.live(now) {
				return storage.ErrSubscriptionExists
			}
			if err := s.dropExpired(ctx, other); err != nil {
				return err
			}
		}
		set = append(set, bson.E{Key: "u", Value: *u.Subscriber})
	}
	if u.TTL != nil {
		t := storage.Millis(*u.TTL)
		set = append(set, bson.E{Key: "t", Value: t}, bson.E{Key: "cr", Value: now}, bson.E{Key: "e", Value: expiry(now, t)})
	}
	if u.Options != nil {
		o, err := encodeDoc(u.Options)
		if err != nil {
			return err
		}
		set = append(set, bson.E{Key: "o", Value: o})
	}
	if len(set) == 0 {
		return nil
	}
	_, err = s.subs.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: set}})
	if isDup(err) {
		return storage.ErrSubscriptionExists // taken in between
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

func (ss *subscriptionStore) Confirm(ctx context.Context, ref zaqar.QueueRef, id string, confirmed bool) error {
	s := (*Store)(ss)
	now := s.clock.now()
	d, err := s.subByID(ctx, ref, id, now)
	if err != nil {
		return err
	}
	if d == nil {
		return storage.ErrSubscriptionNotFound
	}
	if _, err := s.subs.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "c", Value: confirmed}}}}); err != nil {
		return unavailable(err)
	}
	return nil
}

func (ss *subscriptionStore) Delete(ctx context.Context, ref zaqar.QueueRef, id string) error {
	s := (*Store)(ss)
	if _, err := s.subs.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "p", Value: ref.Project}, {Key: "q", Value: ref.Name}}); err != nil {
		return unavailable(err)
	}
	return nil
}
