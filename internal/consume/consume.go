// Package consume is the claim loop heatsink's listener and hooks' watcher
// share: it claims Heat events from Zaqar queues and gives each to the
// handlers that match it (heatsink listen: a webhook, a command, a re-post;
// hooks: its hook watcher), retrying a failed handler, renewing the claim
// while handlers run, and handing claimed events back at a stop. What a
// handler does, and where its configuration comes from, is its user's.
//
// Delivery is at least once. Messages are claimed, so several listener
// processes share a queue and a listener that dies loses nothing: its
// claim expires and the messages are claimed again. A message is deleted
// only after every matching handler succeeded; otherwise it stays
// claimed, comes back when the claim expires, and after the queue's
// _max_claim_count claims Zaqar moves it to the dead-letter queue
// (heatsink prepare sets both). Handlers should therefore be idempotent;
// the event id (Heat's event UUID) identifies a retry. Within one claim,
// once an event of a resource failed, later events of the same resource are
// left for the retry too, so that one worker sees a resource's events in
// order.
package consume

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/claims"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zaqar-go/suite/internal/heatevent"
)

// Delivery is one claimed event given to a handler.
type Delivery struct {
	Queue     string
	MessageID string
	TTL       int
	Body      []byte // the message body, Heat's event JSON
	Event     heatevent.Event

	// ClaimID is the claim holding the message, for an action that runs
	// longer than the claim TTL and renews it (claims.Update).
	ClaimID string
}

// Handler handles the events it matches.
type Handler struct {
	Name string
	// Kind names the action in the "event handled" log line (webhook,
	// command, queue); a handler without one logs what it did itself
	// (hooks: "hook settled").
	Kind string
	// Match selects the events handled; nil matches every event.
	Match func(heatevent.Payload) bool
	// Timeout bounds one run; it should be shorter than the claim TTL so
	// that no other listener gets the message meanwhile.
	Timeout time.Duration
	// Run handles d; the message is deleted once every matching handler
	// returned nil.
	Run func(ctx context.Context, d Delivery) error
}

// Queue is one queue to claim from.
type Queue struct {
	Name   string
	Client *gophercloud.ServiceClient
	// Workers is the number of claim loops on the queue; below 1 is 1.
	Workers int
}

// Config is what a Listener claims from and gives the events to.
type Config struct {
	// ShutdownGrace is how long handlers under way may finish after a
	// stop before they are cancelled and their events handed back.
	ShutdownGrace time.Duration
	Claim         ClaimConfig
	Retry         RetryConfig
	Queues        []Queue
	// Handlers run in order on each event they match.
	Handlers []Handler
	// Metrics, when set, counts what the listener does.
	Metrics *Metrics
}

// Listener runs a Config.
type Listener struct {
	claim    ClaimConfig
	retry    RetryConfig
	metrics  *Metrics
	grace    time.Duration
	handlers []Handler
	sources  []Queue
	log      *slog.Logger
}

// New builds a Listener.
func New(cfg Config, log *slog.Logger) *Listener {
	l := &Listener{claim: cfg.Claim, retry: cfg.Retry, metrics: cfg.Metrics, grace: cfg.ShutdownGrace,
		handlers: cfg.Handlers, log: log}
	if l.retry.Attempts < 1 {
		l.retry.Attempts = 1
	}
	for _, q := range cfg.Queues {
		q.Workers = max(q.Workers, 1)
		l.sources = append(l.sources, q)
	}
	return l
}

// ClaimConfig sets how messages are claimed. A message whose action fails
// stays claimed and is claimed again when the claim expires, TTL seconds
// later; the sink queue's _max_claim_count (heatsink prepare) sends it to
// the dead-letter queue after that many claims.
type ClaimConfig struct {
	TTL   int `yaml:"ttl"`   // seconds, default 60
	Grace int `yaml:"grace"` // seconds, default 60
	Limit int `yaml:"limit"` // messages per claim, default 10
	// Wait asks the server to hold a claim that finds nothing up to Wait
	// (long polling, a zaqar-server extension; see Poller); 0 does not.
	// Whole seconds, at most MaxWait.
	Wait time.Duration `yaml:"wait"`
	// Poll is the pause after an empty claim the server did not hold (all
	// of them without Wait, or from a Zaqar), default 2s.
	Poll time.Duration `yaml:"poll"`
	// ReleaseFailed releases the claim after a batch with failures, so
	// failed events come back at once (still counted by _max_claim_count)
	// instead of after the claim TTL.
	ReleaseFailed bool `yaml:"release_failed"`
}

// RetryConfig sets how a failed action is tried again within one claim:
// after Initial, then twice as long each time up to Max, each wait drawn
// at random between half and all of it (jitter, so that listeners do not
// retry in step), Attempts tries in all. After the last the event is left
// claimed and comes back with the next claim (release_failed: at once),
// until the queue's _max_claim_count sends it to the dead-letter queue:
// with the defaults and 5 claims, about 2.5 minutes of tries.
type RetryConfig struct {
	Attempts int           `yaml:"attempts"` // default 4 (in Go, 0 is 1: no retry)
	Initial  time.Duration `yaml:"initial"`  // default 1s
	Max      time.Duration `yaml:"max"`      // default 30s
}

// backoff is the wait after the attempt-th failure.
func (r RetryConfig) backoff(attempt int) time.Duration {
	d := r.Initial
	for i := 1; i < attempt && d < r.Max; i++ {
		d *= 2
	}
	d = min(d, r.Max)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// Run claims and handles events on every queue until ctx is done. Then it
// stops claiming, lets the actions under way finish for up to the
// config's ShutdownGrace (cancelling them after it), hands every claimed
// event not yet done back to the queue (the claim is deleted, so another
// listener takes it at once instead of after the claim TTL) and returns.
func (l *Listener) Run(ctx context.Context) error {
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	go func() {
		select {
		case <-ctx.Done():
		case <-work.Done():
			return
		}
		l.log.Info("stopping: no new claims; actions under way get the shutdown grace", "grace", l.grace)
		t := time.NewTimer(l.grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelWork()
		case <-work.Done():
		}
	}()
	if l.claim.Wait > 0 {
		l.log.Info("claiming with long polling: the server holds an empty claim; pausing after one it does not hold",
			"wait", l.claim.Wait, "poll", l.claim.Poll)
	} else {
		l.log.Info("claiming without long polling: pausing after an empty claim", "poll", l.claim.Poll)
	}
	var wg sync.WaitGroup
	for _, s := range l.sources {
		for range s.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l.loop(ctx, work, s)
			}()
		}
	}
	wg.Wait()
	return nil
}

func (l *Listener) loop(ctx, work context.Context, s Queue) {
	p := &Poller{Wait: l.claim.Wait, Poll: l.claim.Poll, Log: l.log}
	for ctx.Err() == nil {
		_, pause, err := l.once(ctx, work, s, p)
		if err != nil && ctx.Err() == nil {
			l.log.Warn("claim failed", "queue", s.Name, "err", err)
		}
		if pause > 0 {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
}

// Once makes one claim on queue, without long polling, and handles what
// it got; it returns the number of messages claimed.
func (l *Listener) Once(ctx context.Context, queue string) (int, error) {
	for _, s := range l.sources {
		if s.Name == queue {
			n, _, err := l.once(ctx, ctx, s, &Poller{Poll: l.claim.Poll})
			return n, err
		}
	}
	return 0, fmt.Errorf("not listening on %s", queue)
}

// once claims a batch from s with p and handles it; it returns the number
// of messages claimed and p's pause before the next claim. ctx ending
// means stop: no new claim, no new message, a waiting claim given up;
// work is what actions and the requests that finish a message run under
// (it outlives ctx by the shutdown grace).
func (l *Listener) once(ctx, work context.Context, s Queue, p *Poller) (int, time.Duration, error) {
	got, pause, err := p.Claim(ctx, s.Client, s.Name, claims.CreateOpts{TTL: l.claim.TTL, Grace: l.claim.Grace, Limit: l.claim.Limit})
	if err != nil && ctx.Err() != nil {
		return 0, pause, nil // a waiting claim given up at the stop: not a failure
	}
	l.metrics.claimAnswered(err)
	if err != nil {
		return 0, pause, err
	}
	if len(got.Messages) == 0 {
		return 0, pause, nil
	}
	l.metrics.seen(len(got.Messages))
	claimID := got.ID
	// Keep the claim while working through a long batch (and retries),
	// so that no other listener gets these messages meanwhile.
	renewed := time.Now()
	keep := func() {
		if time.Since(renewed) > time.Duration(l.claim.TTL)*time.Second/3 {
			if err := claims.Update(work, s.Client, s.Name, claimID, claims.UpdateOpts{TTL: l.claim.TTL, Grace: l.claim.Grace}).ExtractErr(); err != nil {
				l.log.Warn("claim renewal failed", "queue", s.Name, "claim", claimID, "err", err)
			} else {
				l.metrics.inc(func(m *Metrics) prometheus.Counter { return m.ClaimRenewals })
			}
			renewed = time.Now()
		}
	}
	failed := map[string]bool{} // stack_id/resource_name with a failed event in this claim
	for i, m := range got.Messages {
		if ctx.Err() != nil {
			l.handBack(work, s, claimID, len(got.Messages)-i)
			return i, pause, nil
		}
		keep()
		ev, err := heatevent.Decode(m.Body)
		if err != nil {
			// Left claimed: it ends in the dead-letter queue.
			l.log.Warn("not a Heat event; left for the dead-letter queue", "queue", s.Name, "message", m.ID, "err", err)
			l.metrics.inc(func(m *Metrics) prometheus.Counter { return m.Malformed })
			failed[""] = true
			continue
		}
		key := ev.Payload.StackID + "/" + ev.Payload.ResourceName
		if failed[key] {
			l.log.Info("left for retry after an earlier event of its resource failed", "queue", s.Name, "message", m.ID, "event", ev.ID)
			continue
		}
		d := Delivery{Queue: s.Name, MessageID: m.ID, ClaimID: claimID, TTL: m.TTL, Body: m.Body, Event: ev}
		switch l.handle(ctx, work, d, keep) {
		case stopped:
			l.handBack(work, s, claimID, len(got.Messages)-i)
			return i, pause, nil
		case failedAction:
			failed[key] = true
			continue
		}
		err = messages.Delete(work, s.Client, s.Name, m.ID, messages.DeleteOpts{ClaimID: claimID}).ExtractErr()
		if err != nil {
			// The claim probably expired: the message will be handled again.
			l.log.Warn("delete after success failed", "queue", s.Name, "message", m.ID, "event", ev.ID, "err", err)
		}
	}
	if len(failed) > 0 && l.claim.ReleaseFailed {
		if err := claims.Delete(work, s.Client, s.Name, claimID).ExtractErr(); err != nil {
			l.log.Warn("claim release failed", "queue", s.Name, "claim", claimID, "err", err)
		}
	}
	return len(got.Messages), pause, nil
}

// handBack deletes a claim when stopping, so that its messages not yet
// done go to another listener now, not at claim expiry.
func (l *Listener) handBack(work context.Context, s Queue, claimID string, left int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(work), 5*time.Second)
	defer cancel()
	if err := claims.Delete(ctx, s.Client, s.Name, claimID).ExtractErr(); err != nil {
		l.log.Warn("stopping: claim not handed back; its events come back at claim expiry", "queue", s.Name, "claim", claimID, "err", err)
		return
	}
	l.metrics.inc(func(m *Metrics) prometheus.Counter { return m.HandedBack })
	l.log.Info("stopping: claimed events handed back", "queue", s.Name, "claim", claimID, "events", left)
}

type outcome int

const (
	done outcome = iota
	failedAction
	stopped // an action ended by the stop: the event goes back, not counted as failed
)

// handle runs every matching handler in order, under work, and says
// whether all succeeded. A failed action is tried again after a backoff
// (Retry), keeping the claim; one that fails once ctx ended (the stop)
// stopped.
func (l *Listener) handle(ctx, work context.Context, d Delivery, keep func()) outcome {
	p := d.Event.Payload
	matched := false
	for _, r := range l.handlers {
		if r.Match != nil && !r.Match(p) {
			continue
		}
		matched = true
		for attempt := 1; ; attempt++ {
			actx, cancel := context.WithTimeout(work, r.Timeout)
			err := r.Run(actx, d)
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				l.log.Info("stopping: action interrupted; the event goes back to the queue", "rule", r.Name, "queue", d.Queue,
					"message", d.MessageID, "event", d.Event.ID, "err", err)
				return stopped
			}
			if attempt >= l.retry.Attempts {
				l.metrics.failed(r.Name)
				l.log.Warn("action failed; the event will be retried", "rule", r.Name, "queue", d.Queue,
					"message", d.MessageID, "event", d.Event.ID, "resource", p.ResourceName, "attempts", attempt, "err", err)
				return failedAction
			}
			wait := l.retry.backoff(attempt)
			l.log.Info("action failed; trying again", "rule", r.Name, "event", d.Event.ID, "attempt", attempt, "in", wait, "err", err)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return stopped
			case <-t.C:
			}
			keep()
		}
		l.metrics.acted(r.Name)
		if r.Kind != "" {
			l.log.Info("event handled", "rule", r.Name, "action", r.Kind, "outcome", "ok", "event", d.Event.ID,
				"stack_id", p.StackID, "resource", p.ResourceName, "state", p.ResourceAction+"_"+p.ResourceStatus)
		}
	}
	if !matched {
		l.log.Debug("no rule matches; event deleted", "event", d.Event.ID, "resource", p.ResourceName,
			"state", p.ResourceAction+"_"+p.ResourceStatus)
	}
	return done
}
