package mongodb_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/mongodb"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
	"github.com/zaqar-go/suite/zaqar-server/internal/testserver"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
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

// A server restart loses nothing acknowledged, calls during the outage fail
// with Unavailable (a 503), and the same Store recovers by itself once the
// server is back.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.StartFerretDB(t, dir, 0)
	ctx := t.Context()
	s := open(t, srv.URL(), mongodb.Options{Database: "restart"})

	q := zaqar.QueueRef{Project: "restart-" + rand.Text(), Name: "q"}
	if _, err := s.Queues().Create(ctx, q, zaqar.Metadata{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	var posted []string
	for b := range 5 {
		var batch []zaqar.NewMessage
		for i := range 10 {
			batch = append(batch, zaqar.NewMessage{Body: json.RawMessage(fmt.Sprintf(`{"b":%d,"i":%d}`, b, i)), TTL: time.Hour})
		}
		ids, err := s.Messages().Post(ctx, q, batch)
		if err != nil {
			t.Fatal(err)
		}
		posted = append(posted, ids...)
	}
	claim, claimed, err := s.Claims().Create(ctx, q, storage.ClaimOptions{TTL: time.Hour, Grace: time.Minute, Limit: 5})
	if err != nil || len(claimed) != 5 {
		t.Fatalf("claim: %v, %d messages", err, len(claimed))
	}
	if err := s.Messages().Delete(ctx, q, posted[0], claim.ID); err != nil {
		t.Fatal(err)
	}
	posted = posted[1:]
	sub, _, err := s.Subscriptions().Create(ctx, q, zaqar.Subscription{Subscriber: "http://example.com/hook", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	outage := map[string]func(ctx context.Context) error{
		"ping": s.Ping,
		"post": func(ctx context.Context) error {
			_, err := s.Messages().Post(ctx, q, []zaqar.NewMessage{{Body: json.RawMessage(`1`), TTL: time.Hour}})
			return err
		},
		"list": func(ctx context.Context) error {
			_, err := s.Messages().List(ctx, q, storage.MessageListOptions{Limit: 10})
			return err
		},
		"get": func(ctx context.Context) error { _, err := s.Messages().Get(ctx, q, posted[0]); return err },
		"claim": func(ctx context.Context) error {
			_, _, err := s.Claims().Create(ctx, q, storage.ClaimOptions{TTL: time.Hour, Limit: 5})
			return err
		},
		"delete": func(ctx context.Context) error { return s.Messages().Delete(ctx, q, posted[9], "") },
		"stats":  func(ctx context.Context) error { _, err := s.Messages().Stats(ctx, q); return err },
		"queue":  func(ctx context.Context) error { _, err := s.Queues().Get(ctx, q); return err },
		"queues": func(ctx context.Context) error {
			_, err := s.Queues().List(ctx, q.Project, storage.QueueListOptions{Limit: 10})
			return err
		},
		"subscription": func(ctx context.Context) error { _, err := s.Subscriptions().Get(ctx, q, sub.ID); return err },
	}
	// All at once: each waits out the store's 5 s server selection timeout.
	var wg sync.WaitGroup
	for name, call := range outage {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			start := time.Now()
			err := call(cctx)
			var ze *zaqar.Error
			if !errors.As(err, &ze) || ze.Kind != zaqar.Unavailable {
				t.Errorf("%s while the server is down: got %v, want a zaqar.Unavailable error", name, err)
				return
			}
			if status, doc := transport.Describe(err); status != http.StatusServiceUnavailable || doc.Title != zaqar.TitleUnavailable {
				t.Errorf("%s while the server is down: described as %d %+v, want 503", name, status, doc)
			}
			t.Logf("%s failed after %v", name, time.Since(start).Round(time.Millisecond))
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	testserver.StartFerretDB(t, dir, srv.Port)
	deadline := time.Now().Add(20 * time.Second)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the store did not reconnect within 20s of the server coming back")
		}
		time.Sleep(20 * time.Millisecond)
	}

	var listed []string
	opts := storage.MessageListOptions{Limit: 20, Echo: true, IncludeClaimed: true}
	for {
		page, err := s.Messages().List(ctx, q, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			listed = append(listed, m.ID)
		}
		opts.Marker = page[len(page)-1].Marker
	}
	if fmt.Sprint(listed) != fmt.Sprint(posted) {
		t.Fatalf("after the restart the queue holds %d messages %v, want the %d posted %v", len(listed), listed, len(posted), posted)
	}
	_, held, err := s.Claims().Get(ctx, q, claim.ID)
	if err != nil || len(held) != 4 {
		t.Fatalf("claim after the restart: %v, %d messages", err, len(held))
	}
	meta, err := s.Queues().Get(ctx, q)
	if err != nil || meta["k"] != "v" {
		t.Fatalf("metadata after the restart: %v, %v", meta, err)
	}
	if _, err := s.Subscriptions().Get(ctx, q, sub.ID); err != nil {
		t.Fatalf("subscription after the restart: %v", err)
	}
	ids, err := s.Messages().Post(ctx, q, []zaqar.NewMessage{{Body: json.RawMessage(`"after"`), TTL: time.Hour}})
	if err != nil {
		t.Fatalf("post after the restart: %v", err)
	}
	if st, err := s.Messages().Stats(ctx, q); err != nil || st.Total != len(posted)+1 || st.Claimed != 4 || st.Newest.ID != ids[0] {
		t.Fatalf("stats after the restart: %+v, %v", st, err)
	}
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
