package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type claimStore Store

// claimDoc is a claim's record in the claims collection: what Get reports
// and what Delete checks a claim id against. Which messages a claim holds
// is in the messages' states.
type claimDoc struct {
	ID string `bson:"_id"`
	P  string `bson:"p"`
	Q  string `bson:"q"`
	T  int64  `bson:"t"`  // TTL, ms
	G  int64  `bson:"g"`  // grace, ms
	Ce int64  `bson:"ce"` // expires, ms
	Cr int64  `bson:"cr"` // created or last renewed, ms
}

func (d *claimDoc) view(now int64) zaqar.Claim {
	return zaqar.Claim{ID: d.ID, TTL: ms(d.T), Grace: ms(d.G), Age: storage.Age(now, d.Cr)}
}

// claimAttempts bounds how often Create scans again after losing messages
// to concurrent claimers, so a busy queue answers with what it could get.
const claimAttempts = 4

// Create picks up to limit of the oldest claimable messages and claims each
// by inserting its next state; the unique index lets only one claimer (on
// any API node) insert it, so no two claims share a message. Messages lost
// to another claimer are replaced by spares the scan read, then by a new
// scan, a few times at most.
func (cs *claimStore) Create(ctx context.Context, ref zaqar.QueueRef, opts storage.ClaimOptions) (zaqar.Claim, []zaqar.Message, error) {
	s := (*Store)(cs)
	c, err := s.messages(ctx, ref)
	if err != nil {
		return zaqar.Claim{}, nil, err
	}
	mu := turn(&s.taking, ref)
	mu.Lock()
	defer mu.Unlock()
	limit := pageSize(opts.Limit)
	dead := opts.MaxClaimCount > 0 && opts.DeadLetterQueue != ""
	ttl, grace := storage.Millis(opts.TTL), storage.Millis(opts.Grace)
	id := newID()
	now := s.clock.now()
	ce := now + ttl
	next := func(sl *slot) *doc {
		if dead && sl.count() >= int64(opts.MaxClaimCount) {
			d := sl.next(now, stMoved)
			d.Dq, d.Dt = opts.DeadLetterQueue, storage.Millis(opts.DeadLetterTTL)
			return d
		}
		return sl.claimed(now, id, ce, ttl, grace)
	}
	var claimed []*slot
	picked := 0 // claimed or moved: both count against the limit, as in Zaqar
	for range claimAttempts {
		need := limit - picked
		var pool, stuck []*slot
		seen, err := s.scan(ctx, c, ref, 0, listChunk(poolSize(need)), false, func(sl *slot) bool {
			switch {
			case sl.state() == stMoved:
				stuck = append(stuck, sl)
			case sl.complete && sl.live(now) && sl.holder(now) == "" && !sl.delayed(now):
				pool = append(pool, sl)
			}
			return len(pool) < poolSize(need)
		})
		if err != nil {
			return zaqar.Claim{}, nil, err
		}
		// Moves that another call began and did not finish.
		for _, sl := range stuck {
			if err := s.move(ctx, c, ref, sl, seen, now); err != nil {
				return zaqar.Claim{}, nil, err
			}
		}
		if len(pool) == 0 {
			break
		}
		taken, lost, err := s.take(ctx, c, pool, need, next)
		if err != nil {
			return zaqar.Claim{}, nil, err
		}
		picked += len(taken)
		for _, sl := range taken {
			if sl.cur.S != stMoved {
				claimed = append(claimed, sl)
				continue
			}
			if err := s.move(ctx, c, ref, sl, seen, now); err != nil {
				return zaqar.Claim{}, nil, err
			}
		}
		if !lost || picked == limit {
			break
		}
	}
	if len(claimed) == 0 {
		return zaqar.Claim{}, nil, nil
	}
	// Read the claimed messages back for their bodies, keeping those still
	// there: a claimer that read a message before another call deleted it
	// could win the version that deletion freed (see Store.remove).
	ids := make([]string, len(claimed))
	for i, sl := range claimed {
		ids[i] = sl.msg.ID
	}
	docs, err := s.byIDs(ctx, c, ids, nil)
	if err != nil {
		return zaqar.Claim{}, nil, err
	}
	bodies := make(map[string][]byte, len(docs))
	for _, d := range docs {
		bodies[d.ID] = d.B
	}
	var msgs []zaqar.Message
	for _, sl := range claimed {
		if b, ok := bodies[sl.msg.ID]; ok {
			sl.msg.B = b
			msgs = append(msgs, sl.view(now))
		}
	}
	if len(msgs) == 0 {
		return zaqar.Claim{}, nil, nil
	}
	// The claims are made; a failure from here is the client's 503 and the
	// messages come back when the claim expires, as in Zaqar.
	cd := &claimDoc{ID: id, P: ref.Project, Q: ref.Name, T: ttl, G: grace, Ce: ce, Cr: now}
	if _, err := s.claims.InsertOne(ctx, cd); err != nil {
		return zaqar.Claim{}, nil, unavailable(err)
	}
	return zaqar.Claim{ID: id, TTL: opts.TTL, Grace: opts.Grace}, msgs, nil
}

// move finishes the dead-lettering of sl, whose newest state is stMoved:
// it appends a copy to the dead-letter queue, creates that queue when
// absent, then deletes the original. Each step can be repeated: the copy's
// id derives from the original's, so a second attempt finds it instead of
// adding another. Whoever finds a message in this state (the claimer that
// moved it, or a later claim on the queue after a failure) finishes the move.
func (s *Store) move(ctx context.Context, c *mongo.Collection, ref zaqar.QueueRef, sl *slot, seen, now int64) error {
	st := sl.cur
	dref := zaqar.QueueRef{Project: ref.Project, Name: st.Dq}
	dc, err := s.messages(ctx, dref)
	if err != nil {
		return err
	}
	cid := copyID(sl.msg.ID)
	for attempt := 0; ; attempt++ {
		n, err := dc.CountDocuments(ctx, bson.D{{Key: "_id", Value: cid}})
		if err != nil {
			return unavailable(err)
		}
		if n > 0 {
			break
		}
		if sl.msg.B == nil {
			var d doc
			if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: sl.msg.ID}}).Decode(&d); err != nil {
				if errors.Is(err, mongo.ErrNoDocuments) {
					return nil // finished by another call
				}
				return unavailable(err)
			}
			sl.msg.B = d.B
		}
		tail, err := s.tail(ctx, dc, dref)
		if err != nil {
			return err
		}
		cp := &doc{
			ID: cid, P: dref.Project, Q: dref.Name, K: tail + 1, M: cid,
			B: sl.msg.B, T: sl.ttl(), Cr: sl.msg.Cr, E: sl.expires(),
			U: sl.msg.U, Cs: sl.msg.Cs, Bs: tail + 1, Be: tail + 1, Bi: cid, N0: st.N,
		}
		if st.Dt > 0 {
			cp.T, cp.E = st.Dt, now+st.Dt
		}
		_, err = dc.InsertOne(ctx, cp)
		if err == nil {
			break
		}
		if !isDup(err) {
			return unavailable(err)
		}
		if attempt+1 >= s.opts.MaxAttempts {
			return zaqar.Unavailablef(err, "The message could not be dead-lettered.")
		}
		if err := s.backoff(ctx, attempt); err != nil {
			return err
		}
	}
	if _, err := s.createQueue(ctx, dref, "{}"); err != nil {
		return err
	}
	won, err := s.advance(ctx, c, []*slot{sl}, []*doc{sl.next(now, stDeleted)})
	if err != nil {
		return err
	}
	if won[0] {
		_, err := s.remove(ctx, c, ref, []*slot{sl}, seen, now)
		return err
	}
	return nil // finished by another call
}

// claim reads the record of a live claim of ref; nil when there is none.
func (s *Store) claim(ctx context.Context, ref zaqar.QueueRef, id string, now int64) (*claimDoc, error) {
	var cd claimDoc
	err := s.claims.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&cd)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	if cd.P != ref.Project || cd.Q != ref.Name || cd.Ce <= now {
		return nil, nil
	}
	return &cd, nil
}

func (s *Store) claimLive(ctx context.Context, ref zaqar.QueueRef, id string, now int64) (bool, error) {
	cd, err := s.claim(ctx, ref, id, now)
	return cd != nil, err
}

// held returns the live messages of ref whose newest state is claim id's.
func (s *Store) held(ctx context.Context, c *mongo.Collection, ref zaqar.QueueRef, id string, withBody bool, now int64) ([]*slot, error) {
	states, err := find(ctx, c, bson.D{{Key: "c", Value: id}}, options.Find().SetProjection(bson.D{{Key: "m", Value: 1}, {Key: "p", Value: 1}, {Key: "q", Value: 1}}))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, d := range states {
		if d.P == ref.Project && d.Q == ref.Name && !seen[d.M] {
			seen[d.M] = true
			ids = append(ids, d.M)
		}
	}
	slots, err := s.slots(ctx, c, ref, ids, withBody)
	if err != nil {
		return nil, err
	}
	var out []*slot
	for _, sl := range slots {
		if sl.live(now) && sl.holder(now) == id {
			out = append(out, sl)
		}
	}
	return out, nil
}

func (cs *claimStore) Get(ctx context.Context, ref zaqar.QueueRef, id string) (zaqar.Claim, []zaqar.Message, error) {
	s := (*Store)(cs)
	now := s.clock.now()
	cd, err := s.claim(ctx, ref, id, now)
	if err != nil {
		return zaqar.Claim{}, nil, err
	}
	if cd == nil {
		return zaqar.Claim{}, nil, storage.ErrClaimNotFound
	}
	c, err := s.messages(ctx, ref)
	if err != nil {
		return zaqar.Claim{}, nil, err
	}
	slots, err := s.held(ctx, c, ref, id, true, now)
	if err != nil {
		return zaqar.Claim{}, nil, err
	}
	msgs := make([]zaqar.Message, len(slots))
	for i, sl := range slots {
		msgs[i] = sl.view(now)
	}
	return cd.view(now), msgs, nil
}

// Update renews the claim record, then each message it holds by a new state
// with the new expiry (and grace extension).
func (cs *claimStore) Update(ctx context.Context, ref zaqar.QueueRef, id string, ttl, grace time.Duration) error {
	s := (*Store)(cs)
	now := s.clock.now()
	cd, err := s.claim(ctx, ref, id, now)
	if err != nil {
		return err
	}
	if cd == nil {
		return storage.ErrClaimNotFound
	}
	t, g := storage.Millis(ttl), storage.Millis(grace)
	ce := now + t
	// Only the claim's holder renews it; a renewal racing a release of the
	// same claim may leave the record, which then holds no messages.
	if _, err := s.claims.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "t", Value: t}, {Key: "g", Value: g}, {Key: "ce", Value: ce}, {Key: "cr", Value: now}}}}); err != nil {
		return unavailable(err)
	}
	return s.restate(ctx, ref, id, now, func(sl *slot) *doc {
		if sl.cur.Ce == ce && sl.cur.Ct == t && sl.cur.Cg == g {
			return nil // renewed already
		}
		d := sl.claimed(now, id, ce, t, g)
		d.N = sl.count() // a renewal is not another claim
		return d
	})
}

// Delete releases the claim: its record goes, and each message it holds
// gets a free state, claimable at once.
func (cs *claimStore) Delete(ctx context.Context, ref zaqar.QueueRef, id string) error {
	s := (*Store)(cs)
	now := s.clock.now()
	var cd claimDoc
	err := s.claims.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&cd)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		// Released before, maybe half way: release what it still holds.
	case err != nil:
		return unavailable(err)
	case cd.P != ref.Project || cd.Q != ref.Name:
		return nil // another queue's claim
	default:
		// By _id alone, which FerretDB looks up without reading the collection.
		if _, err := s.claims.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
			return unavailable(err)
		}
	}
	return s.restate(ctx, ref, id, now, func(sl *slot) *doc { return sl.next(now, stFree) })
}

// restate gives every message claim id holds the state next returns (nil:
// leave it), reading again those that changed under it.
func (s *Store) restate(ctx context.Context, ref zaqar.QueueRef, id string, now int64, next func(*slot) *doc) error {
	c, err := s.messages(ctx, ref)
	if err != nil {
		return err
	}
	for range contention {
		slots, err := s.held(ctx, c, ref, id, false, now)
		if err != nil {
			return err
		}
		var todo []*slot
		var docs []*doc
		for _, sl := range slots {
			if d := next(sl); d != nil {
				todo = append(todo, sl)
				docs = append(docs, d)
			}
		}
		won, err := s.advance(ctx, c, todo, docs)
		if err != nil {
			return err
		}
		lost := false
		for _, w := range won {
			lost = lost || !w
		}
		if !lost {
			return nil
		}
	}
	return unavailable(fmt.Errorf("claim %s: its messages changed %d times while being updated", id, contention))
}
