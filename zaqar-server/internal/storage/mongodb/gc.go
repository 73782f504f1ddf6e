package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// gcBatch bounds the documents one reclamation pass looks at per
// collection and step; a backlog shrinks by that much every interval.
const gcBatch = 500

// resync is how often the clock is set again from the server's.
const resync = 30 * time.Second

// background resynchronises the clock and reclaims expired and removed
// data every GCInterval until ctx ends. Every API node runs it; the passes
// are idempotent, so nodes that overlap only repeat each other's deletes.
func (s *Store) background(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pass, cancel := context.WithTimeout(ctx, max(s.opts.GCInterval, 10*time.Second))
		if s.clock.since() > resync {
			if _, err := s.hello(pass); err != nil {
				s.log.Warn("mongodb: clock sync failed", "err", err)
			}
		}
		if err := s.collect(pass); err != nil && ctx.Err() == nil {
			s.log.Warn("mongodb: reclamation pass failed", "err", err)
		}
		cancel()
	}
}

// collect runs one bounded reclamation pass over every collection.
func (s *Store) collect(ctx context.Context) error {
	now := s.clock.now()
	names, err := s.db.ListCollectionNames(ctx, bson.D{{Key: "name", Value: bson.D{{Key: "$regex", Value: "^" + partPrefix + "[0-9]+$"}}}})
	if err != nil {
		return unavailable(err)
	}
	for _, name := range names {
		c := s.db.Collection(name)
		if err := s.expire(ctx, c, now); err != nil {
			return err
		}
		if err := s.reclaim(ctx, c, now); err != nil {
			return err
		}
	}
	if _, err := s.claims.DeleteMany(ctx, bson.D{{Key: "ce", Value: bson.D{{Key: "$lt", Value: now}}}}); err != nil {
		return unavailable(err)
	}
	if _, err := s.subs.DeleteMany(ctx, bson.D{{Key: "e", Value: bson.D{{Key: "$lt", Value: now}}}}); err != nil {
		return unavailable(err)
	}
	return nil
}

// expire finds messages past their expiry and removes them as Delete does:
// by winning a final state (so it cannot race a claim that extends one), then
// marking their documents. Reads hid them from the moment they expired.
func (s *Store) expire(ctx context.Context, c *mongo.Collection, now int64) error {
	docs, err := find(ctx, c, bson.D{{Key: "x", Value: nil}, {Key: "e", Value: bson.D{{Key: "$lt", Value: now}}}},
		options.Find().SetLimit(gcBatch).SetProjection(bson.D{{Key: "m", Value: 1}, {Key: "p", Value: 1}, {Key: "q", Value: 1}}))
	if err != nil || len(docs) == 0 {
		return err
	}
	byQueue := map[zaqar.QueueRef][]string{}
	for _, d := range docs {
		ref := zaqar.QueueRef{Project: d.P, Name: d.Q}
		byQueue[ref] = append(byQueue[ref], d.M)
	}
	for ref, ids := range byQueue {
		all, err := s.messageDocs(ctx, c, ids, false)
		if err != nil {
			return err
		}
		var dead []*slot
		var next []*doc
		var gone []*slot
		for _, sl := range group(ref, all) {
			switch {
			case sl.state() == stDeleted:
				gone = append(gone, sl) // a removal cut short
			case sl.expires() <= now && sl.state() != stMoved:
				dead = append(dead, sl)
				next = append(next, sl.next(now, stDeleted))
			}
		}
		won, err := s.advance(ctx, c, dead, next)
		if err != nil {
			return err
		}
		for i, sl := range dead {
			if won[i] {
				gone = append(gone, sl)
			}
		}
		if _, err := s.remove(ctx, c, ref, gone, 0, now); err != nil {
			return err
		}
	}
	return nil
}

// revisit is how long reclamation leaves a fence (see Store.remove) before
// looking at it again.
const revisit = 2 * time.Minute

// reclaim deletes fences (see Store.remove) that are no longer needed: a
// newer message holds the queue's last marker, or the queue is gone (a queue
// created again starts its markers afresh, as Zaqar's do), and no message
// of the fence's batch is left to need it. Fences still needed are looked
// at again after revisit.
func (s *Store) reclaim(ctx context.Context, c *mongo.Collection, now int64) error {
	fences, err := find(ctx, c, bson.D{{Key: "x", Value: bson.D{{Key: "$lt", Value: now - revisit.Milliseconds()}}}},
		options.Find().SetLimit(gcBatch).SetProjection(bson.D{{Key: "p", Value: 1}, {Key: "q", Value: 1}, {Key: "k", Value: 1}, {Key: "bs", Value: 1}}))
	if err != nil {
		return err
	}
	tails := map[zaqar.QueueRef]int64{}
	var drop, keep []string
	for _, f := range fences {
		ref := zaqar.QueueRef{Project: f.P, Name: f.Q}
		tail, ok := tails[ref]
		if !ok {
			tail = -1
			n, err := s.queues.CountDocuments(ctx, bson.D{{Key: "_id", Value: queueKey(ref)}})
			if err != nil {
				return unavailable(err)
			}
			if n > 0 {
				if tail, err = s.tail(ctx, c, ref); err != nil {
					return err
				}
			}
			tails[ref] = tail
		}
		needed := f.K == tail
		if !needed && f.Bs > 0 && f.Bs < f.K {
			n, err := c.CountDocuments(ctx, bson.D{
				{Key: "p", Value: f.P}, {Key: "q", Value: f.Q},
				{Key: "k", Value: bson.D{{Key: "$gte", Value: f.Bs}, {Key: "$lt", Value: f.K}}}, {Key: "v", Value: 0},
			}, options.Count().SetLimit(1))
			if err != nil {
				return unavailable(err)
			}
			needed = n > 0
		}
		if needed {
			keep = append(keep, f.ID)
		} else {
			drop = append(drop, f.ID)
		}
	}
	if _, err := deleteIDs(ctx, c, drop); err != nil {
		return err
	}
	if len(keep) > 0 {
		if _, err := c.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keep}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "x", Value: now}}}}); err != nil {
			return unavailable(err)
		}
	}
	return nil
}
