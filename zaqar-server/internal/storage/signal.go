package storage

import (
	"context"
	"errors"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Signaler is implemented by stores that API nodes share and that can tell
// every node, cheaply, when a queue may have gained claimable messages: a
// post, or a claim released. The service uses it to wake long-polling
// requests (wait=S) held on this node when another node wrote. Stores
// without it (memory and embedded: one node; mongodb: FerretDB has no
// change streams) are re-checked by the service instead.
type Signaler interface {
	// Watch subscribes this node to q's signals and returns once the
	// subscription is in place, so that any change committed after it
	// returns is signalled: wake(n) then runs with how many messages may
	// have become available (at least 1). It must not block. unwatch ends
	// the subscription; the store may keep it a while to spare the next
	// Watch a round trip. Signals may be lost (a reconnect): they are a
	// hint, and waiters re-check on their own too.
	Watch(ctx context.Context, q zaqar.QueueRef, wake func(n int)) (unwatch func(), err error)
}

// ErrNoSignals is Watch's answer for a queue whose store cannot signal (a
// pooled store's MongoDB pool): its waiters poll.
var ErrNoSignals = errors.New("the queue's store does not signal")

// SignalerOf returns st's Signaler, looking through wrappers that expose
// the store they wrap with Unwrap (metrics' error counter), or nil.
func SignalerOf(st Store) Signaler {
	for st != nil {
		if s, ok := st.(Signaler); ok {
			return s
		}
		u, ok := st.(interface{ Unwrap() Store })
		if !ok {
			return nil
		}
		st = u.Unwrap()
	}
	return nil
}
