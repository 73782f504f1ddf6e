package embedded

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// counts opens the closed file at path and counts its records.
func counts(t *testing.T, path string) (msgs, claims, subs int) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		queues := tx.Bucket(bucketQueues)
		if err := queues.ForEachBucket(func(k []byte) error {
			qb := queues.Bucket(k)
			if b := qb.Bucket(bucketMsgs); b != nil {
				msgs += b.Stats().KeyN
			}
			if b := qb.Bucket(bucketClaims); b != nil {
				claims += b.Stats().KeyN
			}
			return nil
		}); err != nil {
			return err
		}
		subs = tx.Bucket(bucketSubs).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs, claims, subs
}

func post(t *testing.T, s *Store, q zaqar.QueueRef, n int, ttl time.Duration) {
	t.Helper()
	msgs := make([]zaqar.NewMessage, n)
	for i := range msgs {
		msgs[i] = zaqar.NewMessage{Body: json.RawMessage(`1`), TTL: ttl}
	}
	if _, err := s.Messages().Post(context.Background(), q, msgs); err != nil {
		t.Fatal(err)
	}
}

func TestReclaim(t *testing.T) {
	ctx := t.Context()
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	for _, tc := range []struct {
		name string
		// work runs after everything written so far has expired.
		work func(t *testing.T, s *Store)
	}{
		// Writes sweep expired records out of the file as they go.
		{"writes", func(t *testing.T, s *Store) {
			for range 20 {
				post(t, s, q, 10, time.Hour)
			}
			if _, _, err := s.Subscriptions().Create(ctx, q, zaqar.Subscription{Subscriber: "http://new", TTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
		}},
		// Open deletes whatever expired while the store was down.
		{"open", func(t *testing.T, s *Store) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			c := testenv.NewClock(time.Unix(1_700_000_000, 0))
			s, err := Open(ctx, path, WithClock(c))
			if err != nil {
				t.Fatal(err)
			}
			post(t, s, q, 200, time.Minute)
			if _, _, err := s.Claims().Create(ctx, q, storage.ClaimOptions{TTL: time.Minute, Limit: 5}); err != nil {
				t.Fatal(err)
			}
			for _, sub := range []string{"http://a", "http://b"} {
				if _, _, err := s.Subscriptions().Create(ctx, q, zaqar.Subscription{Subscriber: sub, TTL: time.Minute}); err != nil {
					t.Fatal(err)
				}
			}
			c.Advance(2 * time.Hour) // claim grace extended some messages to ttl+grace
			tc.work(t, s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.name == "open" {
				s, err := Open(ctx, path, WithClock(c))
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
			}
			msgs, claims, subs := counts(t, path)
			wantMsgs, wantSubs := 0, 0
			if tc.name == "writes" {
				wantMsgs, wantSubs = 200, 1
			}
			if msgs != wantMsgs || claims != 0 || subs != wantSubs {
				t.Errorf("file holds %d messages, %d claims, %d subscriptions; want %d, 0, %d", msgs, claims, subs, wantMsgs, wantSubs)
			}
		})
	}
}

// A failed commit stops the store: the engine has applied what the file
// lacks, so every later call that needs the file fails as Unavailable.
func TestCommitFailure(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	post(t, s, q, 1, time.Hour)
	// Writes now fail: the log's with os.ErrClosed, a checkpoint's with
	// bbolt.ErrDatabaseNotOpen.
	s.journal.wal.f.Close()
	s.db.Close()

	_, err = s.Messages().Post(ctx, q, []zaqar.NewMessage{{Body: json.RawMessage(`2`), TTL: time.Hour}})
	if zaqar.KindOf(err) != zaqar.Unavailable {
		t.Fatalf("Post after a failed commit = %v, want Unavailable", err)
	}
	if _, err := s.Messages().List(ctx, q, storage.MessageListOptions{Echo: true}); zaqar.KindOf(err) != zaqar.Unavailable {
		t.Errorf("List showing an unwritten message = %v, want Unavailable", err)
	}
	if err := s.Ping(ctx); zaqar.KindOf(err) != zaqar.Unavailable {
		t.Errorf("Ping = %v, want Unavailable", err)
	}
}
