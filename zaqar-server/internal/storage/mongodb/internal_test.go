package mongodb

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// openTest opens a store on a database of its own.
func openTest(t *testing.T, opts Options) (*Store, string) {
	t.Helper()
	url := os.Getenv("MONGODB_URI") // a real MongoDB, as in mongodb_test.go
	if url == "" {
		url = storagetest.RequireEnv(t, "ZAQAR_TEST_MONGODB_URL")
	}
	if opts.Database == "" {
		opts.Database = "zaqartest_" + rand.Text()[:8]
	}
	s, err := Open(t.Context(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.client.Database(opts.Database).Drop(context.Background())
		s.Close()
	})
	return s, url
}

func post(t *testing.T, s *Store, ref zaqar.QueueRef, ttl time.Duration, n int) []string {
	t.Helper()
	msgs := make([]zaqar.NewMessage, n)
	for i := range msgs {
		msgs[i] = zaqar.NewMessage{Body: json.RawMessage(`{"i":1}`), TTL: ttl}
	}
	ids, err := s.Messages().Post(t.Context(), ref, msgs)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// Open creates every index, a second Open finds them and changes nothing,
// and no query the driver runs on a hot path scans a collection. FerretDB
// v1 pushes no filter down to SQLite (every query but one on _id alone
// reads the collection), so there the plans are only logged.
func TestIndexes(t *testing.T) {
	s, url := openTest(t, Options{})
	ctx := t.Context()
	ref := zaqar.QueueRef{Project: "p-" + rand.Text(), Name: "q"}
	ids := post(t, s, ref, time.Hour, 3)
	c, err := s.messages(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, url, Options{Database: s.opts.Database})
	if err != nil {
		t.Fatal("a second Open on the same database: ", err)
	}
	defer s2.Close()
	if _, err := s2.messages(ctx, ref); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		c    *mongo.Collection
		want []index
	}{{c, messageIndexes}, {s.queues, queueIndexes}, {s.claims, claimIndexes}, {s.subs, subscriptionIndexes}} {
		have, err := indexNames(ctx, x.c)
		if err != nil {
			t.Fatal(err)
		}
		for _, ix := range x.want {
			if !have[ix.name] {
				t.Errorf("%s: index %s missing", x.c.Name(), ix.name)
			}
		}
		if len(have) != len(x.want)+1 { // and _id_
			t.Errorf("%s: indexes %v, want %d", x.c.Name(), have, len(x.want)+1)
		}
	}

	now := s.clock.now()
	in := bson.D{{Key: "$in", Value: ids}}
	pq := bson.D{{Key: "p", Value: ref.Project}, {Key: "q", Value: ref.Name}}
	for _, hq := range []struct {
		name   string
		c      *mongo.Collection
		filter bson.D
		sort   bson.D
	}{
		{"scan (list, claim, pop, stats)", c, scanFilter(ref, 0), scanSort},
		{"tail (post)", c, pq, bson.D{{Key: "k", Value: -1}, {Key: "v", Value: -1}}},
		{"later marker (remove)", c, append(slices.Clone(pq), bson.E{Key: "k", Value: bson.D{{Key: "$gt", Value: 1}}}), nil},
		{"batch ends (completeness)", c, append(slices.Clone(pq), bson.E{Key: "k", Value: bson.D{{Key: "$in", Value: []int64{3}}}}, bson.E{Key: "v", Value: bson.D{{Key: "$lte", Value: 0}}}), nil},
		{"messages by id (get, delete)", c, bson.D{{Key: "m", Value: in}}, nil},
		{"bodies by id (claim)", c, bson.D{{Key: "_id", Value: in}}, nil},
		{"claim's states", c, bson.D{{Key: "c", Value: "x"}}, nil},
		{"expired (reclamation)", c, bson.D{{Key: "x", Value: nil}, {Key: "e", Value: bson.D{{Key: "$lt", Value: now}}}}, nil},
		{"fences (reclamation)", c, bson.D{{Key: "x", Value: bson.D{{Key: "$lt", Value: now}}}}, nil},
		{"queue", s.queues, bson.D{{Key: "_id", Value: queueKey(ref)}}, nil},
		{"queue list", s.queues, bson.D{{Key: "p", Value: ref.Project}, {Key: "q", Value: bson.D{{Key: "$gt", Value: ""}}}}, bson.D{{Key: "q", Value: 1}}},
		{"claim", s.claims, bson.D{{Key: "_id", Value: "x"}}, nil},
		{"expired claims", s.claims, bson.D{{Key: "ce", Value: bson.D{{Key: "$lt", Value: now}}}}, nil},
		{"queue's claims (queue delete)", s.claims, pq, nil},
		{"subscription", s.subs, bson.D{{Key: "_id", Value: "x"}}, nil},
		{"subscriber", s.subs, append(slices.Clone(pq), bson.E{Key: "u", Value: "http://x"}), nil},
		{"subscription list", s.subs, append(slices.Clone(pq), bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: ""}}}), bson.D{{Key: "_id", Value: 1}}},
		{"expired subscriptions", s.subs, bson.D{{Key: "e", Value: bson.D{{Key: "$lt", Value: now}}}}, nil},
	} {
		cmd := bson.D{{Key: "find", Value: hq.c.Name()}, {Key: "filter", Value: hq.filter}}
		if hq.sort != nil {
			cmd = append(cmd, bson.E{Key: "sort", Value: hq.sort})
		}
		var plan bson.M
		err := hq.c.Database().RunCommand(ctx, bson.D{{Key: "explain", Value: cmd}, {Key: "verbosity", Value: "queryPlanner"}}).Decode(&plan)
		if err != nil {
			t.Fatalf("explain %s: %v", hq.name, err)
		}
		if s.ferret {
			t.Logf("FerretDB %s: %v", hq.name, plan["queryPlanner"])
			continue
		}
		if scans, ok := collScan(plan); !ok || scans {
			t.Errorf("%s scans %s: %v", hq.name, hq.c.Name(), plan["queryPlanner"])
		}
	}
}

// collScan reports whether the winning plan of an explain reply reads the
// whole collection; ok is false when the reply has no winning plan.
func collScan(plan bson.M) (scans, ok bool) {
	// Driver v2 decodes documents nested in a bson.M as bson.D.
	qp, _ := plan["queryPlanner"].(bson.D)
	for _, e := range qp {
		if e.Key == "winningPlan" {
			return hasStage(e.Value, "COLLSCAN"), true
		}
	}
	return false, false
}

// hasStage reports whether an explain plan tree has a stage named stage.
func hasStage(plan any, stage string) bool {
	switch p := plan.(type) {
	case bson.D:
		for _, e := range p {
			if e.Key == "stage" && e.Value == stage || hasStage(e.Value, stage) {
				return true
			}
		}
	case bson.A:
		for _, v := range p {
			if hasStage(v, stage) {
				return true
			}
		}
	}
	return false
}

// collScan reads explain replies as the driver decodes them (nested
// documents as bson.D since driver v2), so TestIndexes can fail on MongoDB.
func TestCollScan(t *testing.T) {
	stage := func(name string, more ...bson.E) bson.D { return append(bson.D{{Key: "stage", Value: name}}, more...) }
	ixscan := stage("FETCH", bson.E{Key: "inputStage", Value: stage("IXSCAN")})
	for _, tc := range []struct {
		name      string
		reply     bson.D
		scans, ok bool
	}{
		{"index", bson.D{{Key: "queryPlanner", Value: bson.D{{Key: "winningPlan", Value: ixscan}}}}, false, true},
		{"collection", bson.D{{Key: "queryPlanner", Value: bson.D{{Key: "winningPlan", Value: stage("COLLSCAN")}}}}, true, true},
		{"nested", bson.D{{Key: "queryPlanner", Value: bson.D{{Key: "winningPlan",
			Value: stage("SORT", bson.E{Key: "inputStage", Value: stage("COLLSCAN")})}}}}, true, true},
		{"in an array", bson.D{{Key: "queryPlanner", Value: bson.D{{Key: "winningPlan",
			Value: stage("OR", bson.E{Key: "inputStages", Value: bson.A{ixscan, stage("COLLSCAN")}})}}}}, true, true},
		{"rejected only", bson.D{{Key: "queryPlanner", Value: bson.D{{Key: "winningPlan", Value: ixscan},
			{Key: "rejectedPlans", Value: bson.A{stage("COLLSCAN")}}}}}, false, true},
		{"no plan", bson.D{{Key: "ok", Value: 1}}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := bson.Marshal(tc.reply)
			if err != nil {
				t.Fatal(err)
			}
			var plan bson.M
			if err := bson.Unmarshal(raw, &plan); err != nil {
				t.Fatal(err)
			}
			if scans, ok := collScan(plan); scans != tc.scans || ok != tc.ok {
				t.Errorf("collScan(%v) = %v, %v, want %v, %v", plan, scans, ok, tc.scans, tc.ok)
			}
		})
	}
}

// A reclamation pass removes expired messages, claims and subscriptions
// for good, keeps a fence on the queue's last marker until a newer message
// exists, and markers never go back.
func TestReclamation(t *testing.T) {
	s, _ := openTest(t, Options{GCInterval: time.Hour})
	ctx := t.Context()
	ref := zaqar.QueueRef{Project: "p-" + rand.Text(), Name: "q"}
	post(t, s, ref, time.Hour, 2)
	short := post(t, s, ref, time.Second, 3)
	claim, _, err := s.Claims().Create(ctx, ref, storage.ClaimOptions{TTL: time.Second, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	sub, _, err := s.Subscriptions().Create(ctx, ref, zaqar.Subscription{Subscriber: "http://example.com", TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.messages(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	count := func(c *mongo.Collection, filter bson.D) int64 {
		t.Helper()
		n, err := c.CountDocuments(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	pq := bson.D{{Key: "p", Value: ref.Project}, {Key: "q", Value: ref.Name}}
	// Poll until everything short-lived has expired for reads, then reclaim.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, errM := s.Messages().Get(ctx, ref, short[2])
		_, _, errC := s.Claims().Get(ctx, ref, claim.ID)
		_, errS := s.Subscriptions().Get(ctx, ref, sub.ID)
		if errors.Is(errM, storage.ErrMessageNotFound) && errors.Is(errC, storage.ErrClaimNotFound) && errors.Is(errS, storage.ErrSubscriptionNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("messages with a TTL of 1s did not expire within 10s")
		}
	}
	if err := s.collect(ctx); err != nil {
		t.Fatal(err)
	}
	// The 3 short messages are gone, their last marker (5) fenced.
	if n := count(c, append(slices.Clone(pq), bson.E{Key: "v", Value: 0})); n != 2 {
		t.Errorf("%d messages left, want the 2 long ones", n)
	}
	if n := count(c, append(slices.Clone(pq), bson.E{Key: "v", Value: -1})); n != 1 {
		t.Errorf("%d fences, want 1 (marker 5)", n)
	}
	if n := count(s.claims, pq); n != 0 {
		t.Errorf("%d claims left", n)
	}
	if n := count(s.subs, pq); n != 0 {
		t.Errorf("%d subscriptions left", n)
	}
	for _, id := range short {
		if _, err := s.Messages().Get(ctx, ref, id); !errors.Is(err, storage.ErrMessageNotFound) {
			t.Errorf("expired message %s: %v", id, err)
		}
	}

	// The fence stays while it holds the last marker...
	later := s.clock.now() + revisit.Milliseconds() + 1
	if err := s.reclaim(ctx, c, later); err != nil {
		t.Fatal(err)
	}
	if n := count(c, append(slices.Clone(pq), bson.E{Key: "v", Value: -1})); n != 1 {
		t.Errorf("%d fences after a pass, want 1", n)
	}
	// ...and the next post still gets marker 6.
	ids := post(t, s, ref, time.Hour, 1)
	m, err := s.Messages().Get(ctx, ref, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if m.Marker != "6" {
		t.Errorf("marker after reclamation: %s, want 6", m.Marker)
	}
	if err := s.reclaim(ctx, c, later+revisit.Milliseconds()+1); err != nil {
		t.Fatal(err)
	}
	if n := count(c, append(slices.Clone(pq), bson.E{Key: "v", Value: -1})); n != 0 {
		t.Errorf("%d fences once a newer message exists, want 0", n)
	}
}
