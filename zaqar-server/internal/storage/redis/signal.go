package redis

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var _ storage.Signaler = (*Store)(nil)

// Long-polling signals. post.lua and claim_delete.lua PUBLISH the number of
// messages they made available on the queue's channel, "<queue tag>:wake",
// inside the script, so a signal is never sent for a write that did not
// commit and costs no round trip. A Store subscribes to a queue's channel
// only while its node has requests waiting on the queue (and idleKeep
// after, so a consumer that waits again at once does not resubscribe):
// Redis answers a PUBLISH nobody listens to with a dictionary look-up.
// All of a Store's channels share one connection (one go-redis PubSub),
// which go-redis reconnects and resubscribes; a signal published while
// it is down is lost, which waiters cover by re-checking.

const idleKeep = 30 * time.Second

type signals struct {
	mu     sync.Mutex
	ps     *redis.PubSub // nil until the first Watch
	chans  map[string]*channel
	closed bool
}

type channel struct {
	wakes      map[*func(int)]struct{}
	confirmed  bool
	subscribed chan struct{} // closed when Redis confirms the subscription
	idle       *time.Timer   // pending unsubscribe
}

func wakeChannel(q zaqar.QueueRef) string { return queueTag(q) + ":wake" }

// Watch implements storage.Signaler.
func (s *Store) Watch(ctx context.Context, q zaqar.QueueRef, wake func(n int)) (func(), error) {
	sg := &s.sig
	name := wakeChannel(q)
	fn := &wake
	sg.mu.Lock()
	if sg.closed {
		sg.mu.Unlock()
		return nil, unavailable(redis.ErrClosed)
	}
	if sg.ps == nil {
		sg.chans = map[string]*channel{}
		sg.ps = s.rdb.Subscribe(context.WithoutCancel(ctx))
		go s.receive(sg.ps)
	}
	ch := sg.chans[name]
	if ch == nil {
		ch = &channel{wakes: map[*func(int)]struct{}{}, subscribed: make(chan struct{})}
		sg.chans[name] = ch
		// Sent under the lock, so a later unsubscribe of the same channel
		// cannot overtake it.
		if err := sg.ps.Subscribe(ctx, name); err != nil {
			delete(sg.chans, name)
			sg.mu.Unlock()
			return nil, unavailable(err)
		}
	}
	if ch.idle != nil {
		ch.idle.Stop()
		ch.idle = nil
	}
	ch.wakes[fn] = struct{}{}
	confirmed := ch.subscribed
	sg.mu.Unlock()

	unwatch := func() {
		sg.mu.Lock()
		defer sg.mu.Unlock()
		delete(ch.wakes, fn)
		if len(ch.wakes) > 0 || ch.idle != nil || sg.closed {
			return
		}
		ch.idle = time.AfterFunc(idleKeep, func() {
			sg.mu.Lock()
			defer sg.mu.Unlock()
			if len(ch.wakes) > 0 || sg.chans[name] != ch || sg.closed {
				return
			}
			delete(sg.chans, name)
			// A lost unsubscribe only leaves signals nobody hears.
			_ = sg.ps.Unsubscribe(context.Background(), name)
		})
	}
	select {
	case <-confirmed:
		return unwatch, nil
	case <-ctx.Done():
		unwatch()
		return nil, unavailable(ctx.Err())
	}
}

// receive hands signals to the watchers of their channel until the
// PubSub closes.
func (s *Store) receive(ps *redis.PubSub) {
	sg := &s.sig
	ctx := context.Background()
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			sg.mu.Lock()
			closed := sg.closed
			sg.mu.Unlock()
			if closed {
				return
			}
			time.Sleep(100 * time.Millisecond) // go-redis reconnects on the next Receive
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			sg.mu.Lock()
			if ch := sg.chans[m.Channel]; ch != nil && !ch.confirmed {
				ch.confirmed = true
				close(ch.subscribed)
			}
			sg.mu.Unlock()
		case *redis.Message:
			n, err := strconv.Atoi(m.Payload)
			if err != nil || n < 1 {
				n = 1
			}
			sg.mu.Lock()
			var wakes []func(int)
			if ch := sg.chans[m.Channel]; ch != nil {
				for fn := range ch.wakes {
					wakes = append(wakes, *fn)
				}
			}
			sg.mu.Unlock()
			for _, wake := range wakes {
				wake(n)
			}
		}
	}
}

// close ends the subscriptions; Watch fails afterwards.
func (sg *signals) close() error {
	sg.mu.Lock()
	defer sg.mu.Unlock()
	sg.closed = true
	for _, ch := range sg.chans {
		if ch.idle != nil {
			ch.idle.Stop()
		}
	}
	if sg.ps == nil {
		return nil
	}
	return sg.ps.Close()
}
