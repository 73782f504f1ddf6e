package consume

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/claims"

	"github.com/zaqar-go/suite/internal/zaqarapi"
)

// MaxWait is the longest Poller.Wait the tools accept: our HTTP clients
// give up on a request after 60 s, and a held claim must end well before.
const MaxWait = 30 * time.Second

// DefaultWait is the tools' claim wait when their configuration names
// none: zaqar-server's default [transport] max_wait.
const DefaultWait = 20 * time.Second

// CheckWait checks a configured wait: whole seconds, 0 (off) to MaxWait.
func CheckWait(d time.Duration) error {
	if d < 0 || d > MaxWait || d%time.Second != 0 {
		return fmt.Errorf("claim wait %s: must be whole seconds from 0s (off) to %s", d, MaxWait)
	}
	return nil
}

// claimTimeout bounds a claim request beyond the wait it asks for.
const claimTimeout = 30 * time.Second

// Poller claims messages for one loop. With Wait set it asks the server to
// hold a claim that finds nothing up to Wait (zaqar-server's long polling,
// docs/long-polling.md), so a message posted meanwhile is claimed at once;
// after an empty answer the server held, the loop claims again at once.
// An empty answer that comes clearly before the wait asked (Zaqar, which
// ignores wait; a zaqar-server with max_wait 0 or at its max_waiters) is
// followed by a pause of Poll, as without waiting: the loop never spins.
// Clearly before: in less than half the wait, and less than Poll.
// A Poller is not safe for concurrent use.
type Poller struct {
	Wait time.Duration // 0: never ask the server to wait
	Poll time.Duration // pause after an empty answer not held, or a failure
	Log  *slog.Logger
	// Level of the log line saying whether the server holds claims, once
	// per change (Info when zero).
	Level slog.Level

	held int8 // the last empty answer: 1 held by the server, -1 not, 0 none yet
}

// Claim claims messages of queue with opts and returns the claim (its ID
// empty when there was nothing to claim) and the pause before the next
// claim: 0 after messages or an empty answer the server held, Poll
// otherwise.
//
// A claim that does not wait outlives ctx: one the server made whose
// answer was dropped would hold its messages, unknown, for the claim TTL.
// A waiting claim ends with ctx, so that a stop is not held up by the
// wait. The server makes a claim only when it has messages for it; if it
// does just as the request goes, zaqar-server releases the claim at once
// (its client has gone), and only an answer already on its way is lost:
// its messages come back when the claim expires (at least once, as when a
// process dies).
func (p *Poller) Claim(ctx context.Context, c *gophercloud.ServiceClient, queue string, opts claims.CreateOpts) (zaqarapi.Claim, time.Duration, error) {
	wait := p.wait(c)
	var rctx context.Context
	var cancel context.CancelFunc
	if wait == 0 {
		rctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), claimTimeout)
	} else {
		rctx, cancel = context.WithTimeout(ctx, wait+claimTimeout)
	}
	defer cancel()
	start := time.Now()
	got, err := zaqarapi.CreateClaim(rctx, c, queue, zaqarapi.CreateClaimOpts{CreateOpts: opts, Wait: int(wait / time.Second)}).Extract()
	took := time.Since(start)
	switch {
	case err != nil:
		return got, p.Poll, err
	case len(got.Messages) > 0:
		return got, 0, nil
	case wait == 0:
		return got, p.Poll, nil
	case took >= heldAfter(wait, p.Poll):
		p.note(ctx, queue, 1, wait)
		return got, 0, nil
	default:
		p.note(ctx, queue, -1, wait)
		return got, p.Poll, nil
	}
}

// heldAfter is how long an empty answer must have taken to count as held:
// half the wait asked (a server whose max_wait is shorter still holds
// claims), or the poll pause when shorter (a claim that took that long
// already spaced the loop's requests as a pause would).
func heldAfter(wait, poll time.Duration) time.Duration {
	if poll > 0 && poll < wait/2 {
		return poll
	}
	return wait / 2
}

// wait is the wait to ask for: whole seconds, and at most half the HTTP
// client's timeout so that the client does not give up on a held request.
func (p *Poller) wait(c *gophercloud.ServiceClient) time.Duration {
	w := p.Wait
	if t := c.HTTPClient.Timeout; t > 0 {
		w = min(w, t/2)
	}
	return max(w.Truncate(time.Second), 0)
}

func (p *Poller) note(ctx context.Context, queue string, held int8, wait time.Duration) {
	if p.held == held || p.Log == nil {
		p.held = held
		return
	}
	p.held = held
	if held > 0 {
		p.Log.Log(ctx, p.Level, "long polling: the server holds empty claims", "queue", queue, "wait", wait)
		return
	}
	p.Log.Log(ctx, p.Level, "long polling: the server answered an empty claim at once (Zaqar ignores wait); pausing after empty claims",
		"queue", queue, "wait", wait, "poll", p.Poll)
}

// WaitFlag is a --wait flag (a duration): unset, the configuration file's
// claim.wait holds.
type WaitFlag struct{ d *time.Duration }

// Set parses the flag's value.
func (f *WaitFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	f.d = &d
	return nil
}

func (f *WaitFlag) String() string {
	if f == nil || f.d == nil {
		return ""
	}
	return f.d.String()
}

// Value is the wait given, nil when the flag was not set.
func (f *WaitFlag) Value() *time.Duration { return f.d }
