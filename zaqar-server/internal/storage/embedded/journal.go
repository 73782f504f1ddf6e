package embedded

import (
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"

	"go.etcd.io/bbolt"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var errClosed = errors.New("embedded store is closed")

// journal is the group commit: the engine appends changes in the order it
// applies them, one goroutine writes everything pending as one record of
// the write-ahead log (one fdatasync, wal.go), and writers wait for their
// sequence. While a write runs the next batch gathers, so concurrent
// writers share fsyncs. Batches are written strictly in append order, so
// the files never hold a change without every change appended before it.
// The logged batches reach bbolt in one transaction per checkpoint.
type journal struct {
	db  *bbolt.DB
	wal *wal
	// unapplied: logged batches not yet in bbolt, in order (only run
	// touches it). Whole batches, not their changes copied one by one.
	unapplied [][]memory.Change

	mu      sync.Mutex
	synced  sync.Cond // broadcast when durable or err moves
	pending []memory.Change
	last    uint64 // sequence of the last Append
	err     error  // sticky: the first failed commit, or errClosed
	closing bool

	durable atomic.Uint64 // every sequence up to this one is on disk
	wake    chan struct{}
	done    chan struct{}
}

var _ memory.Journal = (*journal)(nil)

func newJournal(db *bbolt.DB, w *wal) *journal {
	j := &journal{db: db, wal: w, wake: make(chan struct{}, 1), done: make(chan struct{})}
	j.synced.L = &j.mu
	return j
}

// Append queues changes; the engine calls it under its own locks.
func (j *journal) Append(changes ...memory.Change) uint64 {
	j.mu.Lock()
	if j.err == nil { // after a failure or Close nothing more is written
		j.pending = append(j.pending, changes...)
	}
	j.last++
	seq := j.last
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	return seq
}

// Sync waits until seq is on disk. After a failed commit nothing later can
// be made durable, since the engine has applied changes the file lacks: the
// store answers 503 until it is reopened, which rebuilds it from the file.
func (j *journal) Sync(seq uint64) error {
	if j.durable.Load() >= seq {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.durable.Load() < seq && j.err == nil {
		j.synced.Wait()
	}
	if j.durable.Load() >= seq {
		return nil
	}
	return unavailable(j.err)
}

// healthy reports the sticky error, if any.
func (j *journal) healthy() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return unavailable(j.err)
	}
	return nil
}

func unavailable(err error) error {
	return zaqar.Unavailablef(err, "The embedded store cannot write.")
}

// run commits batches until close; it is the only writer of the file.
func (j *journal) run() {
	defer close(j.done)
	for range j.wake {
		j.mu.Lock()
		batch, seq, closing, failed := j.pending, j.last, j.closing, j.err != nil
		j.pending = nil
		j.mu.Unlock()
		if len(batch) > 0 && !failed {
			err := j.wal.append(batch)
			j.mu.Lock()
			if err != nil {
				j.err = err
			} else {
				j.durable.Store(seq)
			}
			j.synced.Broadcast()
			j.mu.Unlock()
			if err == nil {
				j.unapplied = append(j.unapplied, batch)
			}
		}
		if len(j.unapplied) > 0 && (closing || j.wal.off >= walCheckpoint) {
			if err := j.checkpoint(); err != nil {
				j.mu.Lock()
				if j.err == nil {
					j.err = err
				}
				j.synced.Broadcast()
				j.mu.Unlock()
			}
		}
		if closing {
			return
		}
	}
}

// checkpoint applies the logged changes to bbolt in one transaction and
// then starts the log over. A crash between the two replays changes bbolt
// already has, which rewrites the same records: harmless.
func (j *journal) checkpoint() error {
	err := j.db.Update(func(tx *bbolt.Tx) error {
		for _, batch := range j.unapplied {
			for _, c := range batch {
				if err := apply(tx, c); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	clear(j.unapplied) // the records are the engine's: let them go
	j.unapplied = j.unapplied[:0]
	return j.wal.restart()
}

// close commits what is pending and stops the loop; later Syncs fail.
func (j *journal) close() {
	j.mu.Lock()
	j.closing = true
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	<-j.done
	j.mu.Lock()
	if j.err == nil {
		j.err = errClosed
	}
	j.synced.Broadcast()
	j.mu.Unlock()
}

// apply writes one change into tx.
func apply(tx *bbolt.Tx, c memory.Change) error {
	queues := tx.Bucket(bucketQueues)
	subs := tx.Bucket(bucketSubs)
	if queues == nil || subs == nil {
		return errors.New("embedded: file is missing its buckets")
	}
	switch c.Op {
	case memory.PutQueue:
		qb, err := queueBucket(queues, c.Queue)
		if err != nil {
			return err
		}
		meta, err := json.Marshal(c.Meta)
		if err != nil {
			return err
		}
		return qb.Put(keyMeta, meta)

	case memory.DeleteQueue:
		err := queues.DeleteBucket(queueKey(c.Queue))
		if errors.Is(err, bbolt.ErrBucketNotFound) {
			return nil
		}
		return err

	case memory.PutMessages:
		qb, err := queueBucket(queues, c.Queue)
		if err != nil {
			return err
		}
		if c.Counter > 0 && uint64(c.Counter) > qb.Sequence() {
			if err := qb.SetSequence(uint64(c.Counter)); err != nil {
				return err
			}
		}
		mb, err := qb.CreateBucketIfNotExists(bucketMsgs)
		if err != nil {
			return err
		}
		for _, m := range c.Messages {
			if err := mb.Put(markerKey(m.Marker), encodeMessage(m)); err != nil {
				return err
			}
		}
		return nil

	case memory.DeleteMessages:
		mb := nested(queues, c.Queue, bucketMsgs)
		if mb == nil {
			return nil
		}
		for _, m := range c.Markers {
			if err := mb.Delete(markerKey(m)); err != nil {
				return err
			}
		}
		return nil

	case memory.PutClaim:
		qb, err := queueBucket(queues, c.Queue)
		if err != nil {
			return err
		}
		cb, err := qb.CreateBucketIfNotExists(bucketClaims)
		if err != nil {
			return err
		}
		return cb.Put([]byte(c.Claim.ID), encodeClaim(c.Claim))

	case memory.DeleteClaim:
		if cb := nested(queues, c.Queue, bucketClaims); cb != nil {
			return cb.Delete([]byte(c.ID))
		}
		return nil

	case memory.PutSubscription:
		v, err := encodeSub(c.Subscription)
		if err != nil {
			return err
		}
		return subs.Put(subKey(c.Subscription.Queue, c.Subscription.ID), v)

	case memory.DeleteSubscription:
		return subs.Delete(subKey(c.Queue, c.ID))
	}
	return errors.New("embedded: unknown change")
}

// queueBucket returns the queue's bucket, creating it with its "ref" record.
// Messages for a missing bucket are written anyway: the engine orders a
// queue's creation before its messages, and losing an acknowledged message
// would be worse than keeping a queue.
func queueBucket(queues *bbolt.Bucket, ref zaqar.QueueRef) (*bbolt.Bucket, error) {
	key := queueKey(ref)
	if qb := queues.Bucket(key); qb != nil {
		return qb, nil
	}
	qb, err := queues.CreateBucket(key)
	if err != nil {
		return nil, err
	}
	return qb, qb.Put(keyRef, encodeRef(ref))
}

func nested(queues *bbolt.Bucket, ref zaqar.QueueRef, name []byte) *bbolt.Bucket {
	if qb := queues.Bucket(queueKey(ref)); qb != nil {
		return qb.Bucket(name)
	}
	return nil
}
