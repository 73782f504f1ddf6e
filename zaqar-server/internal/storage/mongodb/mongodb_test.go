package mongodb_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/mongodb"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
	"github.com/zaqar-go/suite/zaqar-server/internal/testserver"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// testDatabase is this run's database: runs against one long-lived server
// start empty, which keeps FerretDB (which reads a whole collection for any
// query that is not by _id alone) as fast on the tenth run as on the first.
var testDatabase = "zaqartest_" + rand.Text()[:8]

// testOptions spread the suite's queues over many collections for the same
// reason, and reclaim often so reclamation runs during the suite.
func testOptions() mongodb.Options {
	return mongodb.Options{Database: testDatabase, Partitions: 4096, GCInterval: time.Minute}
}

func open(tb testing.TB, url string, opts mongodb.Options) *mongodb.Store {
	tb.Helper()
	s, err := mongodb.Open(context.Background(), url, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// mongoURL is the server the tests use: MONGODB_URI when it names a real
// MongoDB, else ZAQAR_TEST_MONGODB_URL (the FerretDB scripts/test starts).
func mongoURL(tb testing.TB) string {
	if u := os.Getenv("MONGODB_URI"); u != "" {
		return u
	}
	return storagetest.RequireEnv(tb, "ZAQAR_TEST_MONGODB_URL")
}

func TestConformance(t *testing.T) {
	url := mongoURL(t)
	storagetest.Run(t, func(t *testing.T) storage.Store {
		// A store per call: its own client and pool, as an API node has.
		return open(t, url, testOptions())
	})
}

func BenchmarkStore(b *testing.B) {
	url := mongoURL(b)
	storagetest.Bench(b, func(tb testing.TB) storage.Store { return open(tb, url, testOptions()) })
}

// A server restart loses nothing acknowledged (the server is killed, so
// SQLite's WAL must carry every acknowledged write), calls during the
// outage fail with Unavailable (a 503), and the same Store recovers by
// itself once the server is back. Each call may wait out the driver's 5 s
// server selection timeout.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.StartFerretDB(t, dir, 0)
	s := open(t, srv.URL(), mongodb.Options{Database: "restart"})
	storagetest.Outage(t, s, srv.Kill, func() { testserver.StartFerretDB(t, dir, srv.Port) }, 20*time.Second, 20*time.Second)
}

// Six stores, six API nodes, one consumer each (within a store claims of a
// queue take turns, so only the server's unique indexes stand between the
// nodes): every message is held by one claim at a time, a released message
// comes back, and each is deleted exactly once.
func TestNodesClaimExclusively(t *testing.T) {
	url := mongoURL(t)
	opts := testOptions()
	var nodes []*mongodb.Store
	for range 6 {
		nodes = append(nodes, open(t, url, opts))
	}
	ctx := t.Context()
	q := zaqar.QueueRef{Project: "nodes-" + rand.Text(), Name: "q"}
	var want []string
	for b := range 6 {
		var batch []zaqar.NewMessage
		for i := range 20 {
			batch = append(batch, zaqar.NewMessage{Body: json.RawMessage(fmt.Sprintf(`{"b":%d,"i":%d}`, b, i)), TTL: time.Hour})
		}
		ids, err := nodes[b].Messages().Post(ctx, q, batch)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ids...)
	}
	var (
		mu      sync.Mutex
		holder  = map[string]string{}
		deleted = map[string]int{}
	)
	deadline := time.Now().Add(60 * time.Second)
	var wg sync.WaitGroup
	for n, s := range nodes {
		wg.Go(func() {
			for round := 0; ; round++ {
				mu.Lock()
				done := len(deleted) == len(want)
				mu.Unlock()
				if done || time.Now().After(deadline) {
					return
				}
				c, msgs, err := s.Claims().Create(ctx, q, storage.ClaimOptions{TTL: time.Hour, Limit: 3})
				if err != nil {
					t.Errorf("node %d: claim: %v", n, err)
					return
				}
				mu.Lock()
				for _, m := range msgs {
					if h, ok := holder[m.ID]; ok {
						t.Errorf("node %d: message %s claimed by %s while %s holds it", n, m.ID, c.ID, h)
					}
					if deleted[m.ID] > 0 {
						t.Errorf("node %d: message %s claimed after it was deleted", n, m.ID)
					}
					holder[m.ID] = c.ID
				}
				release := round%2 == 0
				for _, m := range msgs {
					delete(holder, m.ID) // before the claim ends, as storagetest does
					if !release {
						deleted[m.ID]++
					}
				}
				mu.Unlock()
				if len(msgs) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				if release {
					if err := s.Claims().Delete(ctx, q, c.ID); err != nil {
						t.Errorf("node %d: release: %v", n, err)
						return
					}
					continue
				}
				for _, m := range msgs {
					if err := s.Messages().Delete(ctx, q, m.ID, c.ID); err != nil {
						t.Errorf("node %d: delete %s with claim %s: %v", n, m.ID, c.ID, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for _, id := range want {
		if deleted[id] != 1 {
			t.Errorf("message %s deleted %d times, want once", id, deleted[id])
		}
	}
	if st, err := nodes[0].Messages().Stats(ctx, q); err != nil || st.Total != 0 {
		t.Errorf("stats after consuming everything: %+v, %v", st, err)
	}
}
