package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Outage checks what an API node sees when the server behind its store goes
// away and comes back: every kind of call during the outage fails with
// Unavailable (a 503), the same Store recovers by itself, and nothing
// acknowledged before is lost (messages in order, a claim, metadata, a
// subscription). stop ends the server (gracefully or not, as the driver's
// test chooses); start brings it back on the same port and files.
// callTimeout bounds each call made during the outage; reconnect is how
// long the store may take to answer again.
func Outage(t *testing.T, s storage.Store, stop, start func(), callTimeout, reconnect time.Duration) {
	t.Helper()
	ctx := t.Context()
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

	stop()
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
	// All at once: a driver may wait out a server-selection timeout on each.
	var wg sync.WaitGroup
	for name, call := range outage {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
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

	start()
	deadline := time.Now().Add(reconnect)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the store did not reconnect within %v of the server coming back", reconnect)
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
