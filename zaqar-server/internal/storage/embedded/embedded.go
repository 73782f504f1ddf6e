// Package embedded is the default storage driver: durable, in one bbolt file
// in the data directory, no server to run. It owns the file format, the
// group commit and the replay at start-up; queue semantics come from the
// memory engine, which serves every read from memory and hands each mutation
// to this package's journal.
//
// Durability and order: the engine appends each mutation to the journal
// inside the critical section that applies it, so the file receives changes
// in exactly the order memory applied them. One goroutine appends whatever
// is pending to a write-ahead log next to the file (zaqar.db-wal: one write,
// one fdatasync; see wal.go), and a call returns only after the batch
// holding its change is synced: once a write returns nil it survives
// kill -9, and concurrent writers share fsyncs. The logged batches reach
// the bbolt file in one transaction per MiB of log and at Close; Open
// replays the log into it first. Reads also
// wait for what they observed to be on disk, so a client is never shown
// state a crash could take back. Each queue's marker counter is stored with
// it, so markers keep growing across restarts; deleting a queue deletes its
// counter, as in Zaqar.
//
// Reclaiming: expired messages, claims and subscriptions are deleted from
// the file as the engine removes them (bounded sweeps on writes), and Open
// deletes whatever expired while the store was down. The whole data set is
// held in memory as well; the file is read only by Open.
package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var _ storage.Store = (*Store)(nil)

// FileName is the file Open uses when given a data directory.
const FileName = "zaqar.db"

// walSuffix names the write-ahead log next to the file (zaqar.db-wal):
// the two belong together.
const walSuffix = "-wal"

// Store is the embedded store; it is safe for concurrent use.
type Store struct {
	engine  *memory.Store
	db      *bbolt.DB
	journal *journal

	closeOnce sync.Once
	closeErr  error
}

// Option configures Open.
type Option func(*options)

type options struct {
	clock zaqar.Clock
}

// WithClock makes the store read time from c instead of the wall clock.
func WithClock(c zaqar.Clock) Option {
	return func(o *options) {
		if c != nil {
			o.clock = c
		}
	}
}

// Open opens or creates the store at path: a file, or a directory (existing,
// or named with a trailing separator) in which FileName is used. Missing
// directories are created. Only one process may hold the file; Open waits
// for it until ctx's deadline, or 10s.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{clock: zaqar.SystemClock{}}
	for _, opt := range opts {
		opt(&o)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	file := path
	if fi, err := os.Stat(path); (err == nil && fi.IsDir()) || strings.HasSuffix(path, string(os.PathSeparator)) {
		file = filepath.Join(path, FileName)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond) // 0 would wait forever
	}
	db, err := bbolt.Open(file, 0o600, &bbolt.Options{
		Timeout:      timeout,
		FreelistType: bbolt.FreelistMapType,
		// The freelist is rebuilt at open instead of written by every
		// commit: cheaper commits for a slower Open.
		NoFreelistSync: true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", file, err)
	}
	w, err := openWAL(file+walSuffix, db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: %w", err)
	}
	syncDir(filepath.Dir(file))
	j := newJournal(db, w)
	engine := memory.New(memory.WithClock(o.clock), memory.WithJournal(j))
	if err := load(db, engine, o.clock.Now().UnixNano()); err != nil {
		w.f.Close()
		db.Close()
		return nil, fmt.Errorf("embedded: load %s: %w", file, err)
	}
	go j.run()
	return &Store{engine: engine, db: db, journal: j}, nil
}

func (s *Store) Queues() storage.QueueStore               { return s.engine.Queues() }
func (s *Store) Messages() storage.MessageStore           { return s.engine.Messages() }
func (s *Store) Claims() storage.ClaimStore               { return s.engine.Claims() }
func (s *Store) Subscriptions() storage.SubscriptionStore { return s.engine.Subscriptions() }

// Volume counts the live messages from the in-process index, as the memory
// store does (/v2/health's message_volume, /metrics).
func (s *Store) Volume(ctx context.Context) (storage.Volume, error) { return s.engine.Volume(ctx) }

// Ping fails once a commit has failed or the store is closed.
func (s *Store) Ping(ctx context.Context) error { return s.journal.healthy() }

// Close commits what is pending and closes the file. Calls after Close fail
// with an Unavailable error once they need the file.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.journal.close()
		werr := s.journal.wal.f.Close()
		s.closeErr = errors.Join(s.db.Close(), werr)
	})
	return s.closeErr
}

// load replays the file into the engine and deletes what has expired, in one
// transaction.
func load(db *bbolt.DB, engine *memory.Store, now int64) error {
	return db.Update(func(tx *bbolt.Tx) error {
		info, err := tx.CreateBucketIfNotExists(bucketInfo)
		if err != nil {
			return err
		}
		switch v := info.Get(keyVersion); {
		case v == nil:
			if err := info.Put(keyVersion, []byte{formatVersion}); err != nil {
				return err
			}
		case !bytes.Equal(v, []byte{formatVersion}):
			return fmt.Errorf("unsupported file format %v", v)
		}
		queues, err := tx.CreateBucketIfNotExists(bucketQueues)
		if err != nil {
			return err
		}
		subs, err := tx.CreateBucketIfNotExists(bucketSubs)
		if err != nil {
			return err
		}

		var keys [][]byte
		if err := queues.ForEachBucket(func(k []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			st, err := loadQueue(queues.Bucket(k), now)
			if err != nil {
				return err
			}
			engine.Restore(st)
		}

		var dead [][]byte
		if err := subs.ForEach(func(k, v []byte) error {
			r, err := decodeSub(v)
			if err != nil {
				return fmt.Errorf("subscription %q: %w", k, err)
			}
			if r.Expired(now) {
				dead = append(dead, bytes.Clone(k))
				return nil
			}
			engine.RestoreSubscription(r)
			return nil
		}); err != nil {
			return err
		}
		return deleteKeys(subs, dead)
	})
}

func loadQueue(qb *bbolt.Bucket, now int64) (memory.QueueState, error) {
	ref, err := decodeRef(qb.Get(keyRef))
	if err != nil {
		return memory.QueueState{}, fmt.Errorf("queue without a name: %w", err)
	}
	st := memory.QueueState{Queue: ref, Counter: int64(min(qb.Sequence(), math.MaxInt64))}
	if b := qb.Get(keyMeta); b != nil {
		if st.Meta, err = zaqar.DecodeMetadata(b); err != nil {
			return st, fmt.Errorf("queue %q/%q metadata: %w", ref.Project, ref.Name, err)
		}
	}
	if mb := qb.Bucket(bucketMsgs); mb != nil {
		var dead [][]byte
		if err := mb.ForEach(func(k, v []byte) error {
			m, err := decodeMessage(k, v)
			if err != nil {
				return fmt.Errorf("queue %q/%q message %x: %w", ref.Project, ref.Name, k, err)
			}
			if m.Expired(now) {
				dead = append(dead, bytes.Clone(k))
			} else {
				st.Messages = append(st.Messages, m)
			}
			return nil
		}); err != nil {
			return st, err
		}
		if err := deleteKeys(mb, dead); err != nil {
			return st, err
		}
	}
	if cb := qb.Bucket(bucketClaims); cb != nil {
		var dead [][]byte
		if err := cb.ForEach(func(k, v []byte) error {
			c, err := decodeClaim(k, v)
			if err != nil {
				return fmt.Errorf("queue %q/%q claim %q: %w", ref.Project, ref.Name, k, err)
			}
			if c.Expired(now) {
				dead = append(dead, bytes.Clone(k))
			} else {
				st.Claims = append(st.Claims, c)
			}
			return nil
		}); err != nil {
			return st, err
		}
		if err := deleteKeys(cb, dead); err != nil {
			return st, err
		}
	}
	return st, nil
}

// syncDir makes a newly created file's directory entry durable, which bbolt
// does not do; without it a power cut (not a kill) could lose the whole
// file. Best effort: some filesystems refuse to sync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// deleteKeys runs after iteration: deleting under a bbolt cursor skips keys.
func deleteKeys(b *bbolt.Bucket, keys [][]byte) error {
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
