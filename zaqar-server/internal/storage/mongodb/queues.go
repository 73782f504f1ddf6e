package mongodb

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type queueStore Store

// queueDoc is a queue's record. Metadata is kept as the JSON document the
// client sent (numbers as written), not as BSON: MongoDB and FerretDB
// restrict field names ('.', '$'), and BSON would turn 9007199254740993
// into a double.
type queueDoc struct {
	ID string `bson:"_id"` // queueKey
	P  string `bson:"p"`
	Q  string `bson:"q"`
	M  string `bson:"m,omitempty"`
	Cr int64  `bson:"cr,omitempty"`
}

// createQueue inserts the record of ref unless one exists; the unique index
// makes exactly one of racing creators win.
func (s *Store) createQueue(ctx context.Context, ref zaqar.QueueRef, meta string) (bool, error) {
	_, err := s.queues.InsertOne(ctx, &queueDoc{ID: queueKey(ref), P: ref.Project, Q: ref.Name, M: meta, Cr: s.clock.now()})
	if isDup(err) {
		return false, nil
	}
	if err != nil {
		return false, unavailable(err)
	}
	return true, nil
}

// ensureQueue creates ref's record, empty, unless it exists; it reads
// before it writes, the cheaper case on a queue that is posted to often.
func (s *Store) ensureQueue(ctx context.Context, ref zaqar.QueueRef) (bool, error) {
	n, err := s.queues.CountDocuments(ctx, bson.D{{Key: "_id", Value: queueKey(ref)}})
	if err != nil {
		return false, unavailable(err)
	}
	if n > 0 {
		return false, nil
	}
	return s.createQueue(ctx, ref, "{}")
}

func (qs *queueStore) Create(ctx context.Context, ref zaqar.QueueRef, meta zaqar.Metadata) (bool, error) {
	s := (*Store)(qs)
	doc, err := encodeDoc(meta)
	if err != nil {
		return false, err
	}
	return s.createQueue(ctx, ref, doc)
}

func (qs *queueStore) Get(ctx context.Context, ref zaqar.QueueRef) (zaqar.Metadata, error) {
	s := (*Store)(qs)
	var d queueDoc
	err := s.queues.FindOne(ctx, bson.D{{Key: "_id", Value: queueKey(ref)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, storage.ErrQueueNotFound
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return decodeMeta(d.M)
}

// SetMetadata replaces the metadata. Racing replacements leave one of them
// whole; one racing a delete cannot bring the record back (the write goes
// to its _id, which is gone).
func (qs *queueStore) SetMetadata(ctx context.Context, ref zaqar.QueueRef, meta zaqar.Metadata) error {
	s := (*Store)(qs)
	doc, err := encodeDoc(meta)
	if err != nil {
		return err
	}
	r, err := s.queues.UpdateOne(ctx, bson.D{{Key: "_id", Value: queueKey(ref)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "m", Value: doc}}}})
	if err != nil {
		return unavailable(err)
	}
	if r.MatchedCount == 0 {
		return storage.ErrQueueNotFound
	}
	return nil
}

// Delete deletes the queue's messages, its record and its claims' records.
// A post racing the delete either lands before it (and goes with the
// queue) or finds the record gone, creates it again and, if the delete took
// its messages, posts them again (see Post).
func (qs *queueStore) Delete(ctx context.Context, ref zaqar.QueueRef) error {
	s := (*Store)(qs)
	c, err := s.messages(ctx, ref)
	if err != nil {
		return err
	}
	in := bson.D{{Key: "p", Value: ref.Project}, {Key: "q", Value: ref.Name}}
	if _, err := c.DeleteMany(ctx, in); err != nil {
		return unavailable(err)
	}
	if _, err := s.queues.DeleteOne(ctx, bson.D{{Key: "_id", Value: queueKey(ref)}}); err != nil {
		return unavailable(err)
	}
	if _, err := s.claims.DeleteMany(ctx, in); err != nil {
		return unavailable(err)
	}
	return nil
}

// List pages through the project's records by name; the name and metadata
// filters apply in the client (storage.MatchesFilter), like Zaqar's redis
// driver, since metadata is stored as JSON.
func (qs *queueStore) List(ctx context.Context, project string, opts storage.QueueListOptions) ([]zaqar.Queue, error) {
	s := (*Store)(qs)
	limit := pageSize(opts.Limit)
	withMeta := opts.Detailed || len(opts.Filter) > 0
	proj := bson.D{{Key: "q", Value: 1}}
	if withMeta {
		proj = append(proj, bson.E{Key: "m", Value: 1})
	}
	batch := limit
	if opts.Name != "" || len(opts.Filter) > 0 {
		batch = max(limit, 100)
	}
	out := []zaqar.Queue{}
	marker := opts.Marker
	for len(out) < limit {
		cur, err := s.queues.Find(ctx, bson.D{{Key: "p", Value: project}, {Key: "q", Value: bson.D{{Key: "$gt", Value: marker}}}},
			options.Find().SetSort(bson.D{{Key: "q", Value: 1}}).SetLimit(int64(batch)).SetProjection(proj))
		if err != nil {
			return nil, unavailable(err)
		}
		var docs []queueDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, unavailable(err)
		}
		for _, d := range docs {
			if len(out) == limit {
				break
			}
			if opts.Name != "" && !strings.Contains(d.Q, opts.Name) {
				continue
			}
			q := zaqar.Queue{Name: d.Q}
			if withMeta {
				meta, err := decodeMeta(d.M)
				if err != nil {
					return nil, err
				}
				if !storage.MatchesFilter(meta, opts.Filter) {
					continue
				}
				if opts.Detailed {
					q.Metadata = meta
				}
			}
			out = append(out, q)
		}
		if len(docs) < batch {
			break
		}
		marker = docs[len(docs)-1].Q
	}
	return out, nil
}

func (qs *queueStore) Count(ctx context.Context, project string) (int, error) {
	s := (*Store)(qs)
	n, err := s.queues.CountDocuments(ctx, bson.D{{Key: "p", Value: project}})
	if err != nil {
		return 0, unavailable(err)
	}
	return int(n), nil
}

// encodeDoc stores a metadata or options document as JSON; numbers are
// json.Number (zaqar.DecodeMetadata), so they keep every digit.
func encodeDoc(doc map[string]any) (string, error) {
	if len(doc) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", zaqar.BadBodyf("document cannot be stored: %v", err)
	}
	return string(b), nil
}

func decodeMeta(s string) (zaqar.Metadata, error) {
	m, err := zaqar.DecodeMetadata([]byte(s))
	if err != nil {
		return nil, unavailable(err)
	}
	return m, nil
}
