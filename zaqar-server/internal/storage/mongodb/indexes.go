package mongodb

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// index is one index the driver needs: a name, its keys, and whether it is unique.
type index struct {
	name   string
	keys   bson.D
	unique bool
}

func asc(fields ...string) bson.D {
	d := make(bson.D, len(fields))
	for i, f := range fields {
		d[i] = bson.E{Key: f, Value: 1}
	}
	return d
}

// Indexes by collection; each serves the queries named beside it (the
// explain test runs them all). None has a TTL or a partial filter: FerretDB
// v1 implements neither.
var (
	messageIndexes = []index{
		// Slots: one message per (queue, marker) and one state per version;
		// the unique insert of a version is what makes a transition exclusive.
		// Also the tail lookup (last marker of a queue).
		{name: "slot", keys: asc("p", "q", "k", "v"), unique: true},
		// Listing, claiming, popping and counting a queue's live messages in order.
		{name: "scan", keys: asc("p", "q", "x", "k", "v")},
		// Every document of one message, by id: get, delete, claimed messages.
		{name: "message", keys: asc("m", "v")},
		// The states a claim wrote: claim get, renew and release.
		{name: "claim", keys: asc("c")},
		// Reclamation: expired messages (x unset, by e) and removed ones (by x).
		{name: "gc", keys: asc("x", "e")},
	}
	queueIndexes = []index{
		{name: "name", keys: asc("p", "q"), unique: true}, // one record per queue; listing by name
	}
	claimIndexes = []index{
		{name: "queue", keys: asc("p", "q")}, // queue delete
		{name: "expiry", keys: asc("ce")},    // reclamation
	}
	subscriptionIndexes = []index{
		{name: "subscriber", keys: asc("p", "q", "u"), unique: true}, // one per subscriber
		{name: "list", keys: asc("p", "q", "_id")},                   // listing by id
		{name: "expiry", keys: asc("e")},                             // reclamation
	}
)

// ensureIndexes creates the indexes that are missing, one createIndexes call
// per index: FerretDB v1.24 drops the connection (a panic in its handler)
// when one call names several indexes of which more than one exists.
// Creating an index that exists is a no-op on MongoDB, so API nodes that
// start together are harmless to each other.
// Message collections get theirs in Open, or on first use (Store.partition).
func (s *Store) ensureIndexes(ctx context.Context) error {
	for _, x := range []struct {
		c   *mongo.Collection
		idx []index
	}{{s.queues, queueIndexes}, {s.claims, claimIndexes}, {s.subs, subscriptionIndexes}} {
		if err := ensure(ctx, x.c, x.idx); err != nil {
			return err
		}
	}
	return nil
}

func ensure(ctx context.Context, c *mongo.Collection, want []index) error {
	have, err := indexNames(ctx, c)
	if err != nil {
		return err
	}
	for _, ix := range want {
		if have[ix.name] {
			continue
		}
		o := options.Index().SetName(ix.name)
		if ix.unique {
			o.SetUnique(true)
		}
		if _, err := c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.keys, Options: o}); err != nil {
			// Another node may have created it in between.
			if again, lerr := indexNames(ctx, c); lerr == nil && again[ix.name] {
				continue
			}
			return unavailable(err)
		}
	}
	return nil
}

func indexNames(ctx context.Context, c *mongo.Collection) (map[string]bool, error) {
	cur, err := c.Indexes().List(ctx)
	if err != nil {
		return nil, unavailable(err)
	}
	var specs []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(ctx, &specs); err != nil {
		return nil, unavailable(err)
	}
	have := map[string]bool{}
	for _, sp := range specs {
		have[sp.Name] = true
	}
	return have, nil
}
