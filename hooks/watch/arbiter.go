package watch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/queues"

	"github.com/zaqar-go/suite/internal/consume"
	"github.com/zaqar-go/suite/internal/zaqarapi"
)

// lockKey is the lock queue's metadata key naming the chosen copy.
const lockKey = "hook_message"

// lockLevels bounds how often one event is arbitrated again because its
// chosen copy vanished unsettled (its message expired with every watcher
// down, or its ledger write failed).
const lockLevels = 8

// errLocks: every level's chosen copy vanished; the event comes back later.
var errLocks = errors.New("every lock level names a vanished copy")

// lockQueue names the queue that arbitrates level of an event: short, in
// Zaqar's queue-name alphabet, and apart per ledger (one hooks deployment).
func (w *Watcher) lockQueue(eventID string, level int) string {
	sum := sha256.Sum256([]byte(w.cfg.Ledger + "\x00" + eventID))
	return fmt.Sprintf("hooklock-%s-%d", hex.EncodeToString(sum[:12]), level)
}

// acquire decides which copy of d's event is acted on. Heat's sink and a
// poller (or two pollers, or a sink posting twice) can each put a copy in
// the queue, and each copy may be claimed by a different worker; comparing
// what each holder sees of the queue cannot settle it, because a copy
// may be posted after one holder looked. Zaqar's queue creation is the
// atomic step: the first holder to create the event's lock queue stores
// its message id there (201), later ones find it (204). A holder acts
// when the lock names its own message (a copy redelivered after its
// worker died keeps its id, so takeover still works) and drops its copy
// while the named copy exists. A named copy that no longer exists was
// not settled (settling writes the ledger before deleting the copy, and
// the caller checks the ledger after winning), so the next level
// arbitrates again among the holders left.
//
// It returns the lock queues to delete once the outcome is recorded.
func (w *Watcher) acquire(ctx context.Context, d consume.Delivery) (locks []string, mine bool, err error) {
	for level := range lockLevels {
		name := w.lockQueue(d.Event.ID, level)
		locks = append(locks, name)
		created, err := zaqarapi.CreateQueue(ctx, w.zaqar, name, map[string]any{lockKey: d.MessageID}).Extract()
		if err != nil {
			return nil, false, fmt.Errorf("lock queue %s: %w", name, err)
		}
		if created {
			return locks, true, nil
		}
		var meta map[string]any
		err = queues.Get(ctx, w.zaqar, name).ExtractInto(&meta)
		if err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return nil, false, fmt.Errorf("lock queue %s: %w", name, err)
		}
		chosen, _ := meta[lockKey].(string)
		if chosen == d.MessageID {
			return locks, true, nil
		}
		if chosen != "" {
			err = messages.Get(ctx, w.zaqar, d.Queue, chosen).Err
			if err == nil {
				return nil, false, nil
			}
			if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
				return nil, false, fmt.Errorf("chosen copy %s: %w", chosen, err)
			}
		}
		// The chosen copy is gone, or the lock was released while we
		// looked (the event was settled: the ledger says so after winning
		// the next level).
	}
	return nil, false, errLocks
}

// release deletes an event's lock queues once its outcome is in the ledger.
func (w *Watcher) release(ctx context.Context, locks []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, name := range locks {
		if err := queues.Delete(ctx, w.zaqar, name).ExtractErr(); err != nil {
			w.log.Warn("lock queue not deleted", "queue", name, "err", err)
		}
	}
}
