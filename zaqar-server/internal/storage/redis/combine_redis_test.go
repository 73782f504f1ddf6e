package redis

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Concurrent posts to one queue, and then concurrent deletes, share script
// calls against a real Redis, and every request still gets exactly its own
// outcome: each message stored once, each producer's in its order, each
// delete done.
func TestGroupedPostsAndDeletes(t *testing.T) {
	s, err := Open(t.Context(), storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q := zaqar.QueueRef{Project: "grouped-" + rand.Text(), Name: "q"}
	const producers, each = 32, 10

	start := make(chan struct{})
	ids := make([][]string, producers)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			<-start
			for i := range each {
				body := `{"p":` + strconv.Itoa(p) + `,"i":` + strconv.Itoa(i) + `}`
				got, err := s.Messages().Post(t.Context(), q, []zaqar.NewMessage{{Body: json.RawMessage(body), TTL: time.Hour}})
				if err != nil || len(got) != 1 {
					t.Errorf("producer %d post %d: %v %v", p, i, got, err)
					return
				}
				ids[p] = append(ids[p], got[0])
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	if calls := s.posts.calls.Load(); calls >= producers*each {
		t.Errorf("%d posts took %d script calls: none shared", producers*each, calls)
	} else {
		t.Logf("%d posts in %d script calls", producers*each, calls)
	}

	// The queue holds each message once, in an order that keeps each
	// producer's posts in sequence.
	var listed []zaqar.Message
	opts := storage.MessageListOptions{Echo: true, Limit: 20}
	for {
		page, err := s.Messages().List(t.Context(), q, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		listed = append(listed, page...)
		opts.Marker = page[len(page)-1].Marker
	}
	if len(listed) != producers*each {
		t.Fatalf("listed %d messages, want %d", len(listed), producers*each)
	}
	next := make([]int, producers)
	owner := map[string]int{}
	for p, list := range ids {
		for _, id := range list {
			owner[id] = p
		}
	}
	for _, m := range listed {
		p, ok := owner[m.ID]
		if !ok {
			t.Fatalf("listed %s, which no producer posted", m.ID)
		}
		if want := ids[p][next[p]]; m.ID != want {
			t.Fatalf("producer %d: listed %s where its post %d (%s) belongs", p, m.ID, next[p], want)
		}
		next[p]++
	}

	// Deletes, concurrently: each succeeds and the queue ends empty.
	before := s.deletes.calls.Load()
	start = make(chan struct{})
	for p := range producers {
		wg.Go(func() {
			<-start
			for _, id := range ids[p] {
				if err := s.Messages().Delete(t.Context(), q, id, ""); err != nil {
					t.Errorf("delete %s: %v", id, err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if calls := s.deletes.calls.Load() - before; calls >= producers*each {
		t.Errorf("%d deletes took %d script calls: none shared", producers*each, calls)
	}
	st, err := s.Messages().Stats(t.Context(), q)
	if err != nil || st.Total != 0 {
		t.Fatalf("after the deletes: %+v, %v", st, err)
	}
}

// With go-redis's retries on (max_retries), a group of posts sent twice
// (its reply lost, say) is applied once: the script finds its first id.
func TestPostRetryAppliedOnce(t *testing.T) {
	url := storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL")
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	s, err := Open(t.Context(), url+sep+"max_retries=1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q := zaqar.QueueRef{Project: "retry-" + rand.Text(), Name: "q"}
	defer s.Queues().Delete(context.WithoutCancel(t.Context()), q)
	part := postPart{q, []any{"6d2c6a4e-5b7e-4a53-9f1e-0c4f2f9f6a11", int64(60000), int64(0), "c", "", []byte(`1`)}}
	for range 2 {
		if _, err := s.postGroup(t.Context(), []postPart{part}); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := s.Messages().List(t.Context(), q, storage.MessageListOptions{Echo: true, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Marker != "1" {
		t.Fatalf("after the same post twice: %+v, want one message with marker 1", msgs)
	}
}
