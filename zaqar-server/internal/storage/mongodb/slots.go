package mongodb

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// doc is a document of a messages collection: a message as posted (v = 0)
// or one version of its state (v >= 1). Documents are inserted and deleted,
// never changed, except x (and the body, dropped with it) which only the
// winner of a message's final transition sets. See the package doc.
type doc struct {
	ID string `bson:"_id"`
	P  string `bson:"p"`
	Q  string `bson:"q"`
	K  int64  `bson:"k"`           // marker: the slot in the queue
	V  int64  `bson:"v"`           // version: 0 the message, 1.. its states
	M  string `bson:"m"`           // message id
	X  int64  `bson:"x,omitempty"` // removed (deleted, moved or expired) at, ms

	// The message (v = 0).
	B  []byte `bson:"b,omitempty"`  // body: the JSON bytes as posted
	T  int64  `bson:"t,omitempty"`  // TTL, ms; 0 never expires
	Cr int64  `bson:"cr,omitempty"` // created, ms
	E  int64  `bson:"e,omitempty"`  // expires, ms
	D  int64  `bson:"d,omitempty"`  // delayed until, ms
	U  string `bson:"u,omitempty"`  // client id of the producer
	Cs string `bson:"cs,omitempty"` // checksum
	Bs int64  `bson:"bs,omitempty"` // marker of the first message of its batch
	Be int64  `bson:"be,omitempty"` // marker of the last message of its batch
	Bi string `bson:"bi,omitempty"` // id of the first message of its batch
	N0 int64  `bson:"n0,omitempty"` // claim count it arrived with (dead letters)

	// A state (v >= 1).
	S  int32  `bson:"s,omitempty"`  // stFree, stClaimed, stMoved or stDeleted
	C  string `bson:"c,omitempty"`  // claim id, while claimed
	Ce int64  `bson:"ce,omitempty"` // claim expires, ms
	Ct int64  `bson:"ct,omitempty"` // claim TTL, ms
	Cg int64  `bson:"cg,omitempty"` // claim grace, ms
	N  int64  `bson:"n,omitempty"`  // claim count
	Xe int64  `bson:"xe,omitempty"` // expiry extended by a claim's grace, ms
	Xt int64  `bson:"xt,omitempty"` // TTL that goes with Xe, ms
	Dq string `bson:"dq,omitempty"` // dead-letter queue, while moving
	Dt int64  `bson:"dt,omitempty"` // TTL in the dead-letter queue, ms
	W  int64  `bson:"w,omitempty"`  // written at, ms
}

// States a message goes through. Free and claimed alternate; moved (on its
// way to a dead-letter queue) and deleted are final.
const (
	stFree    = 1
	stClaimed = 2
	stMoved   = 3
	stDeleted = 4
)

// noBody leaves bodies out of queries that do not return messages.
var noBody = bson.D{{Key: "b", Value: 0}}

// slot is one message: its document and its newest state, if any.
type slot struct {
	msg      *doc
	cur      *doc   // newest state, nil while the message has none
	versions []*doc // every state read, oldest first
	complete bool   // its batch was stored whole (set by the scans)
}

// group collects documents into slots by message id, keeping only those of
// ref, in marker order. States whose message document is gone (written by a
// call that lost a race with the message's removal) are dropped.
func group(ref zaqar.QueueRef, docs []*doc) []*slot {
	byID := map[string]*slot{}
	var out []*slot
	for _, d := range docs {
		if d.P != ref.Project || d.Q != ref.Name || d.V < 0 {
			continue // another queue's, or a fence
		}
		sl := byID[d.M]
		if sl == nil {
			sl = &slot{}
			byID[d.M] = sl
			out = append(out, sl)
		}
		if d.V == 0 {
			sl.msg = d
			continue
		}
		sl.versions = append(sl.versions, d)
		if sl.cur == nil || d.V > sl.cur.V {
			sl.cur = d
		}
	}
	out = slices.DeleteFunc(out, func(sl *slot) bool { return sl.msg == nil })
	slices.SortFunc(out, func(a, b *slot) int { return cmpInt(a.msg.K, b.msg.K) })
	for _, sl := range out {
		slices.SortFunc(sl.versions, func(a, b *doc) int { return cmpInt(a.V, b.V) })
	}
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// version is the newest version number (0 when only the message exists).
func (sl *slot) version() int64 {
	if sl.cur == nil {
		return 0
	}
	return sl.cur.V
}

func (sl *slot) state() int32 {
	if sl.cur == nil {
		return stFree
	}
	return sl.cur.S
}

func (sl *slot) count() int64 {
	if sl.cur == nil {
		return sl.msg.N0
	}
	return sl.cur.N
}

// extended returns the expiry and TTL a claim's grace gave the message (0, 0: none).
func (sl *slot) extended() (int64, int64) {
	if sl.cur == nil {
		return 0, 0
	}
	return sl.cur.Xe, sl.cur.Xt
}

// expires is when the message dies: its own expiry or a later one a claim gave it.
func (sl *slot) expires() int64 {
	xe, _ := sl.extended()
	return max(sl.msg.E, xe)
}

func (sl *slot) ttl() int64 {
	if xe, xt := sl.extended(); xe > sl.msg.E {
		return xt
	}
	return sl.msg.T
}

// live reports whether the message exists at now: not removed, not on its
// way to a dead-letter queue, not expired.
func (sl *slot) live(now int64) bool {
	s := sl.state()
	return sl.msg.X == 0 && (s == stFree || s == stClaimed) && sl.expires() > now
}

// holder is the live claim holding the message at now, or "".
func (sl *slot) holder(now int64) string {
	if sl.cur != nil && sl.cur.S == stClaimed && sl.cur.Ce > now {
		return sl.cur.C
	}
	return ""
}

func (sl *slot) delayed(now int64) bool { return sl.msg.D > now }

func (sl *slot) view(now int64) zaqar.Message {
	m := sl.msg
	return zaqar.Message{
		ID:         m.ID,
		Body:       m.B,
		TTL:        ms(sl.ttl()),
		Age:        storage.Age(now, m.Cr),
		Created:    time.UnixMilli(m.Cr),
		ClientID:   m.U,
		ClaimID:    sl.holder(now),
		ClaimCount: int(sl.count()),
		Checksum:   m.Cs,
		Marker:     strconv.FormatInt(m.K, 10),
	}
}

// next returns the state document that follows sl's newest one. Inserting
// it is the transition; the unique index lets only one writer make it.
func (sl *slot) next(now int64, s int32) *doc {
	v := sl.version() + 1
	xe, xt := sl.extended()
	return &doc{
		ID: sl.msg.ID + "." + strconv.FormatInt(v, 10),
		P:  sl.msg.P, Q: sl.msg.Q, K: sl.msg.K, V: v, M: sl.msg.ID,
		S: s, N: sl.count(), Xe: xe, Xt: xt, W: now,
	}
}

// claimed is the state of sl claimed by id until ce, with the message's life
// extended to ce+grace when it would end no later than ce (zaqar-semantics 4).
func (sl *slot) claimed(now int64, id string, ce, ttl, grace int64) *doc {
	d := sl.next(now, stClaimed)
	d.C, d.Ce, d.Ct, d.Cg, d.N = id, ce, ttl, grace, d.N+1
	if sl.expires() <= ce {
		d.Xe, d.Xt = ce+grace, ttl+grace
	}
	return d
}

// messageDocs reads every document of the messages ids (bodies when withBody).
func (s *Store) messageDocs(ctx context.Context, c *mongo.Collection, ids []string, withBody bool) ([]*doc, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	o := options.Find()
	if !withBody {
		o.SetProjection(noBody)
	}
	return find(ctx, c, bson.D{{Key: "m", Value: bson.D{{Key: "$in", Value: ids}}}}, o)
}

func find(ctx context.Context, c *mongo.Collection, filter any, o *options.FindOptionsBuilder) ([]*doc, error) {
	cur, err := c.Find(ctx, filter, o)
	if err != nil {
		return nil, unavailable(err)
	}
	var docs []*doc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, unavailable(err)
	}
	return docs, nil
}

// slots reads the messages ids of ref from c.
func (s *Store) slots(ctx context.Context, c *mongo.Collection, ref zaqar.QueueRef, ids []string, withBody bool) ([]*slot, error) {
	docs, err := s.messageDocs(ctx, c, ids, withBody)
	if err != nil {
		return nil, err
	}
	return group(ref, docs), nil
}

// tail returns the last marker used in ref's queue (0 for none). Removing
// the queue's newest message keeps its document (see remove), so a queue's
// markers never go back while it exists.
func (s *Store) tail(ctx context.Context, c *mongo.Collection, ref zaqar.QueueRef) (int64, error) {
	var d struct {
		K int64 `bson:"k"`
	}
	err := c.FindOne(ctx, bson.D{{Key: "p", Value: ref.Project}, {Key: "q", Value: ref.Name}},
		options.FindOne().SetSort(bson.D{{Key: "k", Value: -1}, {Key: "v", Value: -1}}).SetProjection(bson.D{{Key: "k", Value: 1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable(err)
	}
	return d.K, nil
}

// scanFilter selects the documents of ref's queue not yet removed, after marker.
func scanFilter(ref zaqar.QueueRef, after int64) bson.D {
	return bson.D{
		{Key: "p", Value: ref.Project}, {Key: "q", Value: ref.Name},
		{Key: "x", Value: nil}, {Key: "k", Value: bson.D{{Key: "$gt", Value: after}}},
	}
}

var scanSort = bson.D{{Key: "k", Value: 1}, {Key: "v", Value: 1}}

// scan reads the slots of ref's queue after marker in queue order, chunk
// documents at a time, marks the complete ones, and calls fn for each until
// fn returns false. c is the collection to read (see Store.listing). It
// returns the largest marker it read, which tells remove that the slots
// before it are not the queue's last.
func (s *Store) scan(ctx context.Context, c *mongo.Collection, ref zaqar.QueueRef, after int64, chunk int, withBody bool, fn func(*slot) bool) (int64, error) {
	chunk = max(chunk, 16)
	known := map[string]bool{} // batch id -> complete
	var seen int64
	for {
		o := options.Find().SetSort(scanSort).SetLimit(int64(chunk))
		if !withBody {
			o.SetProjection(noBody)
		}
		docs, err := find(ctx, c, scanFilter(ref, after), o)
		if err != nil {
			return seen, err
		}
		if len(docs) > 0 {
			seen = max(seen, docs[len(docs)-1].K)
		}
		full := len(docs) == chunk
		if full {
			// The last marker's documents may go on in the next chunk: read
			// them again from there, or all at once when they fill a chunk.
			last := docs[len(docs)-1].K
			cut := len(docs)
			for cut > 0 && docs[cut-1].K == last {
				cut--
			}
			if cut == 0 {
				chunk *= 2
				continue
			}
			docs = docs[:cut]
		}
		if err := s.dropOrphans(ctx, c, docs); err != nil {
			return seen, err
		}
		slots := group(ref, docs)
		if err := s.completeness(ctx, c, ref, slots, known); err != nil {
			return seen, err
		}
		for _, sl := range slots {
			if !fn(sl) {
				return seen, nil
			}
		}
		if !full {
			return seen, nil
		}
		after = docs[len(docs)-1].K
	}
}

// dropOrphans deletes the states among docs whose message document is not
// there: written by calls that lost to the message's removal, or left by a
// removal or a queue deletion that was cut short.
func (s *Store) dropOrphans(ctx context.Context, c *mongo.Collection, docs []*doc) error {
	msgs := map[string]bool{}
	for _, d := range docs {
		if d.V == 0 {
			msgs[d.M] = true
		}
	}
	var orphans []string
	for _, d := range docs {
		if d.V > 0 && !msgs[d.M] {
			orphans = append(orphans, d.ID)
		}
	}
	return s.dropIDs(ctx, c, orphans)
}

// deleteIDs deletes documents by _id, each with its own delete (a few at a
// time), and reports which it deleted: the count of each delete is how a
// removal knows it was the one (see remove).
func deleteIDs(ctx context.Context, c *mongo.Collection, ids []string) ([]bool, error) {
	gone := make([]bool, len(ids))
	err := each(len(ids), func(i int) error {
		r, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: ids[i]}})
		if err != nil {
			return unavailable(err)
		}
		gone[i] = r.DeletedCount == 1
		return nil
	})
	return gone, err
}

// dropIDs deletes documents by _id when nobody needs to know which were
// there: one deleteMany on MongoDB, deletes by _id alone on FerretDB, which
// reads the whole collection for any other filter.
func (s *Store) dropIDs(ctx context.Context, c *mongo.Collection, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if s.ferret {
		_, err := deleteIDs(ctx, c, ids)
		return err
	}
	if _, err := c.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}); err != nil {
		return unavailable(err)
	}
	return nil
}

// byIDs reads documents by _id: one $in query on MongoDB, one query per _id
// on FerretDB (see dropIDs). Missing ones are left out.
func (s *Store) byIDs(ctx context.Context, c *mongo.Collection, ids []string, proj bson.D) ([]*doc, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if !s.ferret {
		o := options.Find()
		if proj != nil {
			o.SetProjection(proj)
		}
		return find(ctx, c, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, o)
	}
	got := make([]*doc, len(ids))
	err := each(len(ids), func(i int) error {
		o := options.FindOne()
		if proj != nil {
			o.SetProjection(proj)
		}
		var d doc
		err := c.FindOne(ctx, bson.D{{Key: "_id", Value: ids[i]}}, o).Decode(&d)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
		case err != nil:
			return unavailable(err)
		default:
			got[i] = &d
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(got, func(d *doc) bool { return d == nil }), nil
}

// each runs f(0..n-1), four at a time, and joins their errors.
func each(n int, f func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = f(i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// completeness marks the slots whose batch was stored whole. A batch is
// posted by one ordered insert of consecutive markers; it is complete once
// the marker of its last message holds a message of the same batch. A post
// that failed half way, or lost its later markers to another poster, leaves
// a batch that never completes: its messages stay invisible until they
// expire, so a post is all or nothing.
func (s *Store) completeness(ctx context.Context, c *mongo.Collection, ref zaqar.QueueRef, slots []*slot, known map[string]bool) error {
	s.mu.Lock()
	for _, sl := range slots {
		if s.complete[sl.msg.Bi] {
			known[sl.msg.Bi] = true
		}
	}
	s.mu.Unlock()
	at := map[int64]*doc{}
	for _, sl := range slots {
		at[sl.msg.K] = sl.msg
	}
	var ask []int64
	for _, sl := range slots {
		m := sl.msg
		if m.Be <= m.K || m.Bi == "" {
			known[m.Bi] = true // a batch of one, or its last message
			continue
		}
		if _, ok := known[m.Bi]; ok {
			continue
		}
		if end, ok := at[m.Be]; ok {
			known[m.Bi] = end.Bi == m.Bi
			continue
		}
		ask = append(ask, m.Be)
	}
	if len(ask) > 0 {
		// The last message may be past this chunk, or removed, in which
		// case its fence stands in for it (see remove).
		ends, err := find(ctx, c, bson.D{
			{Key: "p", Value: ref.Project}, {Key: "q", Value: ref.Name},
			{Key: "k", Value: bson.D{{Key: "$in", Value: ask}}}, {Key: "v", Value: bson.D{{Key: "$lte", Value: 0}}},
		}, options.Find().SetProjection(bson.D{{Key: "k", Value: 1}, {Key: "bi", Value: 1}}))
		if err != nil {
			return err
		}
		for _, sl := range slots {
			m := sl.msg
			if _, ok := known[m.Bi]; ok || m.Be <= m.K {
				continue
			}
			known[m.Bi] = false
			for _, e := range ends {
				if e.K == m.Be && e.Bi == m.Bi {
					known[m.Bi] = true
				}
			}
		}
	}
	s.mu.Lock()
	for _, sl := range slots {
		m := sl.msg
		sl.complete = known[m.Bi]
		if sl.complete && m.Be > m.K && !s.complete[m.Bi] {
			if len(s.complete) >= completeCap {
				clear(s.complete)
			}
			s.complete[m.Bi] = true
		}
	}
	s.mu.Unlock()
	return nil
}

// completeCap bounds the store's memory of complete batches.
const completeCap = 1 << 14

// advance inserts next[i], the next state of slots[i], for every i at once
// and reports which it won; a won slot's cur becomes its new state. A lost
// one was changed by someone else since it was read (the unique index
// refused the version); the caller may read it again. After a win, states
// more than keptStates versions behind are deleted.
func (s *Store) advance(ctx context.Context, c *mongo.Collection, slots []*slot, next []*doc) ([]bool, error) {
	won := make([]bool, len(next))
	if len(next) == 0 {
		return won, nil
	}
	for i := range won {
		won[i] = true
	}
	_, err := c.InsertMany(ctx, next, options.InsertMany().SetOrdered(false))
	if err != nil {
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
			return nil, unavailable(err)
		}
		for _, we := range bwe.WriteErrors {
			if !dupCode(we.Code) {
				return nil, unavailable(err)
			}
			won[we.Index] = false
		}
	}
	var stale []string
	for i, sl := range slots {
		if !won[i] {
			continue
		}
		for _, v := range sl.versions {
			behind := next[i].V - v.V
			if behind > maxStates || behind > keptStates && v.W < next[i].W-keptFor.Milliseconds() {
				stale = append(stale, v.ID)
			}
		}
	}
	for i, sl := range slots {
		if won[i] {
			sl.versions = slices.DeleteFunc(sl.versions, func(v *doc) bool { return slices.Contains(stale, v.ID) })
			sl.versions = append(sl.versions, next[i])
			sl.cur = next[i]
		}
	}
	if err := s.dropIDs(ctx, c, stale); err != nil {
		return nil, err
	}
	return won, nil
}

// take moves up to need slots of pool, in order, to the states next gives
// them: it tries the first need, then replaces those lost to other callers
// by the next ones in pool, until it has need or pool runs out. It returns
// the slots won (their cur the new state) in pool order and whether any
// was lost, in which case a new scan may find more.
func (s *Store) take(ctx context.Context, c *mongo.Collection, pool []*slot, need int, next func(*slot) *doc) ([]*slot, bool, error) {
	var got []*slot
	lost := false
	for i := 0; len(got) < need && i < len(pool); {
		batch := pool[i:min(len(pool), i+need-len(got))]
		i += len(batch)
		docs := make([]*doc, len(batch))
		for j, sl := range batch {
			docs[j] = next(sl)
		}
		won, err := s.advance(ctx, c, batch, docs)
		if err != nil {
			return nil, false, err
		}
		for j, sl := range batch {
			if won[j] {
				got = append(got, sl)
			} else {
				lost = true
			}
		}
	}
	return got, lost, nil
}

// Superseded states are deleted once a message has keptStates newer ones
// and they are older than keptFor, or once it has maxStates newer ones (a
// message claimed and released over and over). A call that read a message
// and writes its next state after others changed it finds that version
// taken and loses, as it must, unless the version was deleted meanwhile:
// that needs the call to sleep through keptFor and more than keptStates
// transitions of the message, or more than maxStates of them. Within a
// store, claims and pops of a queue take turns, which leaves a claim's read
// at most a release behind.
const (
	keptStates = 2
	keptFor    = 10 * time.Second
	maxStates  = 16
)

// remove deletes messages after their final transition (to deleted) and
// reports which it removed. It deletes each message document on its own:
// the delete that finds it is the one removal, and one that does not is
// how a call learns that its transition was not really the last. That
// happens when the call read the message before another call's final
// transition and removal, whose deletion of the states freed the version
// the late call then won; the message document is deleted before the
// states, so it is gone by then. States such late calls write are deleted
// by the next scan that meets them (dropOrphans).
//
// Some messages leave a fence first, a document at their marker with
// v = -1 and x set, which reclamation deletes once it is no longer needed:
//
//   - The queue's newest message (when its marker is not below seen, a
//     marker the caller read, it checks), so that the queue's last marker
//     stays taken. Markers are never reused: a reader paging by marker
//     would skip the message that reused one.
//   - The last message of a batch of several, so that the batch's other
//     messages still prove their batch complete (see completeness).
func (s *Store) remove(ctx context.Context, c *mongo.Collection, ref zaqar.QueueRef, slots []*slot, seen, now int64) ([]bool, error) {
	var last int64 // the largest marker removed, unless one after it is known
	for _, sl := range slots {
		last = max(last, sl.msg.K)
	}
	if last < seen {
		last = 0
	} else {
		// Anything at a later marker (a message, its states, a fence)?
		n, err := c.CountDocuments(ctx, bson.D{
			{Key: "p", Value: ref.Project}, {Key: "q", Value: ref.Name}, {Key: "k", Value: bson.D{{Key: "$gt", Value: last}}},
		}, options.Count().SetLimit(1))
		if err != nil {
			return nil, unavailable(err)
		}
		if n > 0 {
			last = 0
		}
	}
	ids := make([]string, len(slots))
	var states []string
	for i, sl := range slots {
		m := sl.msg
		ids[i] = m.ID
		for _, v := range sl.versions {
			states = append(states, v.ID)
		}
		if m.K == last || m.Be == m.K && m.Bs < m.K {
			f := &doc{ID: m.ID + ".f", P: ref.Project, Q: ref.Name, K: m.K, V: -1, M: m.ID + ".f", X: now, Bs: m.Bs, Be: m.Be, Bi: m.Bi}
			if _, err := c.InsertOne(ctx, f); err != nil && !isDup(err) {
				return nil, unavailable(err)
			}
		}
	}
	gone, err := deleteIDs(ctx, c, ids)
	if err != nil {
		return nil, err
	}
	if err := s.dropIDs(ctx, c, states); err != nil {
		return nil, err
	}
	return gone, nil
}
