// Package watch runs hook waiters from a hooks.yml (Config): it claims hook
// events from a Zaqar queue with heatsink's listener, picks the first rule
// that matches each hook, runs the rule's waiter and clears the hook,
// fails the stack or leaves it paused as the waiter and the rule's policies
// say. For stacks without an event sink it also polls Heat and posts the
// hook events it finds to the same queue.
//
// Each hook event is acted on once, however many processes watch:
//   - the queue's claims give an event to one worker at a time; the worker
//     renews its claim while its waiter waits, so another process takes
//     over within a claim TTL if this one dies;
//   - a ledger queue records what was done with each event (cleared,
//     rejected, left...), and an event found there is dropped, so pollers
//     do not post a hook again that was decided and left paused;
//   - of several copies of one event in the queue (Heat's sink and a
//     poller), the one whose holder first creates the event's lock queue
//     is acted on and the others dropped (acquire);
//   - before waiting, and every Recheck while waiting, the hook must still
//     be pending in Heat (a person may clear it, the stack may fail);
//   - clearing is idempotent: Heat's "hook is not defined" after a clear
//     counts as cleared.
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/claims"

	"github.com/zaqar-go/suite/hooks"
	"github.com/zaqar-go/suite/hooks/wait"
	"github.com/zaqar-go/suite/internal/consume"
	"github.com/zaqar-go/suite/internal/match"
)

// Watcher runs a Config.
type Watcher struct {
	cfg       *Config
	heat      *hooks.Heat
	zaqar     *gophercloud.ServiceClient
	log       *slog.Logger
	rules     []rule
	listeners []*consume.Listener
	metrics   *Metrics
}

type rule struct {
	cfg    Rule
	match  match.Matcher[hooks.Hook]
	waiter wait.Waiter
}

// New builds a Watcher: heat for Heat's API, zaqar (messaging v2) for the
// queue, the ledger and the waiters' queues, all in one project; m (may be
// nil) counts what it does.
func New(cfg *Config, heat *hooks.Heat, zaqar *gophercloud.ServiceClient, log *slog.Logger, m *Metrics) (*Watcher, error) {
	w := &Watcher{cfg: cfg, heat: heat, zaqar: zaqar, log: log, metrics: m}
	hc := &http.Client{Timeout: 60 * time.Second}
	for _, rc := range cfg.Rules {
		m, err := compileMatch(rc.Match)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", rc.Name, err)
		}
		r := rule{cfg: rc, match: m}
		rlog := log.With("rule", rc.Name)
		switch {
		case rc.Approval != nil:
			r.waiter = &wait.Approval{Client: zaqar, Queue: rc.Approval.Queue, LongPoll: cfg.Claim.Wait, Interval: rc.Approval.Interval, Log: rlog}
		case rc.Webhook != nil:
			r.waiter = &wait.Webhook{Client: hc, URL: rc.Webhook.URL, Method: rc.Webhook.Method, Headers: rc.Webhook.Headers,
				Interval: rc.Webhook.Interval, Once: rc.Webhook.Once, Log: rlog}
		case rc.Command != nil:
			r.waiter = &wait.Command{Argv: rc.Command.Run, Env: rc.Command.Env, Interval: rc.Command.Interval, Once: rc.Command.Once, Log: rlog}
		case rc.Condition != nil:
			r.waiter = &wait.QueueCondition{Client: zaqar, Queue: rc.Condition.Queue, Empty: rc.Condition.Empty, Match: rc.Condition.Message,
				Consume: rc.Condition.Consume, LongPoll: cfg.Claim.Wait, Interval: rc.Condition.Interval, Log: rlog}
		case rc.Deadline != nil:
			r.waiter = &wait.Deadline{At: rc.Deadline.At, After: rc.Deadline.After}
		default:
			return nil, fmt.Errorf("rule %s: no waiter", rc.Name)
		}
		w.rules = append(w.rules, r)
	}
	// One listener per worker, one event per claim: a waiter holds its
	// worker, and the listeners start spread over the claim poll.
	for range cfg.Workers {
		lc := consume.Config{
			Claim:  consume.ClaimConfig{TTL: cfg.Claim.TTL, Grace: cfg.Claim.Grace, Limit: 1, Wait: cfg.Claim.Wait, Poll: cfg.Claim.Poll},
			Queues: []consume.Queue{{Name: cfg.Queue, Client: zaqar, Workers: 1}},
			// The waiter's own timeout applies; this only bounds a stuck
			// Heat or Zaqar call.
			Handlers: []consume.Handler{{Name: "hooks", Run: w.Handle, Timeout: 30 * 24 * time.Hour}},
		}
		if m != nil {
			lc.Metrics = m.Listen
		}
		l := consume.New(lc, log)
		w.listeners = append(w.listeners, l)
	}
	return w, nil
}

// Run claims and handles hook events, and polls Heat when configured,
// until ctx is done.
func (w *Watcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	step := w.cfg.Claim.Poll / time.Duration(len(w.listeners))
	for i, l := range w.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sleep(ctx, time.Duration(i)*step) == nil {
				l.Run(ctx)
			}
		}()
	}
	if w.cfg.Poll != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.pollLoop(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// Outcome is what became of a hook event; the ledger keeps it.
type Outcome struct {
	EventID string     `json:"event_id"`
	Hook    hooks.Hook `json:"hook"`
	Rule    string     `json:"rule,omitempty"`
	// Decision: approved, rejected, timeout, gone (not pending any more),
	// unmatched (no rule), unclearable (post-delete), rollback (paused by
	// the stack's rollback: on_rollback applies).
	Decision string `json:"decision"`
	// Action: cleared, already-cleared, failed, rolled-back, left.
	Action string    `json:"action"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Decisions and actions of an Outcome.
const (
	Approved    = "approved"
	Rejected    = "rejected"
	TimedOut    = "timeout"
	Gone        = "gone"
	Unmatched   = "unmatched"
	Unclearable = "unclearable"
	RollingBack = "rollback"

	Cleared        = "cleared"
	AlreadyCleared = "already-cleared"
	Failed         = "failed"
	RolledBack     = "rolled-back"
	Left           = "left"
)

var errGone = errors.New("hook no longer pending")

// Handle acts on one claimed event of the queue (the listener's action):
// events that are not hook events are dropped; of the copies of a hook
// event one is chosen (acquire), resolved, waited on and settled, and its
// outcome recorded. It returns an error only when the event should come
// back later (Heat or Zaqar failing, shutdown).
func (w *Watcher) Handle(ctx context.Context, d consume.Delivery) error {
	ev := d.Event
	if _, _, ok := hooks.ParsePaused(ev.Payload.ResourceStatusReason); !ok {
		return nil
	}
	log := w.log.With("event", ev.ID, "resource", ev.Payload.ResourceName, "stack_id", ev.Payload.StackID)
	if done, err := w.inLedger(ctx, ev.ID); err != nil {
		log.Warn("ledger not readable; going on", "err", err)
	} else if done {
		log.Info("hook event already handled (ledger)")
		return nil
	}
	locks, mine, err := w.acquire(ctx, d)
	if err != nil {
		return err
	}
	if !mine {
		log.Info("dropping a copy of a hook event: another copy is acted on", "message", d.MessageID)
		return nil
	}
	// Settled between the first look and the lock: its holder recorded
	// the outcome before releasing.
	if done, err := w.inLedger(ctx, ev.ID); err != nil {
		return fmt.Errorf("ledger: %w", err)
	} else if done {
		log.Info("hook event settled meanwhile (ledger)")
		w.release(ctx, locks)
		return nil
	}
	o, err := w.settle(ctx, d, log)
	if err != nil {
		return err // the lock stays with this copy, which comes back
	}
	if w.metrics != nil {
		w.metrics.Settled.WithLabelValues(o.Decision, o.Action).Inc()
	}
	if w.record(ctx, o) {
		w.release(ctx, locks)
	}
	return nil
}

// settle resolves the chosen copy's hook, runs the matching rule's waiter
// and carries out its decision.
func (w *Watcher) settle(ctx context.Context, d consume.Delivery, log *slog.Logger) (Outcome, error) {
	ev := d.Event
	h, err := w.heat.Resolve(ctx, ev)
	if errors.Is(err, hooks.ErrNotFound) {
		return Outcome{EventID: ev.ID, Hook: h, Decision: Gone, Action: Left, Reason: err.Error()}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	log = log.With("hook", h.Type, "stack", h.Root.Name, "path", h.Path)
	pending, err := w.heat.Pending(ctx, h)
	if err != nil {
		return Outcome{}, err
	}
	if !pending {
		log.Info("hook not pending any more")
		return Outcome{EventID: ev.ID, Hook: h, Decision: Gone, Action: Left}, nil
	}
	if !h.Clearable() {
		log.Error("post-delete hooks cannot be cleared through Heat's API; the stack stays DELETE_IN_PROGRESS until its timeout")
		return Outcome{EventID: ev.ID, Hook: h, Decision: Unclearable, Action: Left, Reason: hooks.ErrUnclearable.Error()}, nil
	}
	r := w.match(h)
	if r == nil {
		log.Info("no rule matches; hook left paused")
		return Outcome{EventID: ev.ID, Hook: h, Decision: Unmatched, Action: Left}, nil
	}
	if r.cfg.OnRollback != Wait {
		// A rollback (ours, after on_timeout or on_reject: rollback, or
		// Heat's after a failed update) updates resources back and pauses
		// again at their pre-update hooks; it cannot be cancelled, so
		// waiting for a decision only holds the stack.
		root, err := w.heat.GetStack(ctx, h.Root.String())
		if err != nil {
			return Outcome{}, err
		}
		if root.Status == "ROLLBACK_IN_PROGRESS" {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			o, err := w.apply(actx, Outcome{EventID: ev.ID, Hook: h, Rule: r.cfg.Name, Decision: RollingBack,
				Reason: "paused by the stack's rollback"}, r.cfg.OnRollback, wait.Result{})
			if err != nil {
				return Outcome{}, err
			}
			log.Info("hook settled", "rule", r.cfg.Name, "decision", o.Decision, "action", o.Action, "reason", o.Reason)
			return o, nil
		}
	}
	log.Info("waiting", "rule", r.cfg.Name, "timeout", r.cfg.Timeout)
	if w.metrics != nil {
		w.metrics.Pending.Inc()
		defer w.metrics.Pending.Dec()
	}
	o, err := w.wait(ctx, d, h, r, log)
	if err != nil {
		return Outcome{}, err
	}
	log.Info("hook settled", "rule", r.cfg.Name, "decision", o.Decision, "action", o.Action, "reason", o.Reason)
	return o, nil
}

func (w *Watcher) match(h hooks.Hook) *rule {
	for i := range w.rules {
		if w.rules[i].match.Match(h) {
			return &w.rules[i]
		}
	}
	return nil
}

// wait runs r's waiter for h and applies its decision.
func (w *Watcher) wait(ctx context.Context, d consume.Delivery, h hooks.Hook, r *rule, log *slog.Logger) (Outcome, error) {
	// The timeout counts from the pause, so a restart or a redelivery
	// does not extend it.
	deadline := time.Now().Add(r.cfg.Timeout)
	if !h.EventTime.IsZero() && h.EventTime.Before(time.Now()) {
		deadline = h.EventTime.Add(r.cfg.Timeout)
	}
	dctx, cancelDeadline := context.WithDeadline(ctx, deadline)
	defer cancelDeadline()
	wctx, cancel := context.WithCancelCause(dctx)
	defer cancel(nil)

	var bg sync.WaitGroup
	bgctx, stopBG := context.WithCancel(wctx)
	bg.Add(2)
	go func() { defer bg.Done(); w.keepClaim(bgctx, d, log) }()
	go func() { defer bg.Done(); w.recheck(bgctx, h, cancel, log) }()
	res, err := r.waiter.Wait(wctx, h)
	stopBG()
	bg.Wait()

	o := Outcome{EventID: h.EventID, Hook: h, Rule: r.cfg.Name}
	// A decision is carried out even when the process is stopping.
	actx, cancelApply := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancelApply()
	switch {
	case err == nil && res.Approved:
		o.Decision, o.Reason = Approved, res.Reason
		return w.apply(actx, o, Clear, res)
	case err == nil:
		o.Decision, o.Reason = Rejected, res.Reason
		return w.apply(actx, o, r.cfg.OnReject, res)
	case ctx.Err() != nil:
		return o, ctx.Err() // stopping: the event comes back after the claim
	case errors.Is(context.Cause(wctx), errGone):
		o.Decision, o.Action = Gone, Left
		return o, nil
	case errors.Is(err, context.DeadlineExceeded):
		o.Decision, o.Reason = TimedOut, fmt.Sprintf("no decision %s after the pause", r.cfg.Timeout)
		return w.apply(actx, o, r.cfg.OnTimeout, res)
	}
	return o, err
}

// apply carries out a policy; the waiter's result is acknowledged after,
// or given back when it could not be carried out.
func (w *Watcher) apply(ctx context.Context, o Outcome, p Policy, res wait.Result) (Outcome, error) {
	switch p {
	case Clear:
		c, err := w.clear(ctx, o.Hook)
		switch {
		case errors.Is(err, hooks.ErrNotFound):
			o.Decision, o.Action = Gone, Left
		case errors.Is(err, hooks.ErrUnclearable):
			o.Decision, o.Action = Unclearable, Left
		case err != nil:
			res.Undo(ctx)
			return o, err
		case c == hooks.NotPending:
			o.Action = AlreadyCleared
		default:
			o.Action = Cleared
		}
	case Fail, Rollback:
		err := w.heat.Fail(ctx, o.Hook, p == Rollback)
		switch {
		case errors.Is(err, hooks.ErrCannotFail):
			o.Action, o.Reason = Left, o.Reason+"; "+err.Error()
		case err != nil:
			res.Undo(ctx)
			return o, err
		case p == Rollback && o.Hook.Action == "UPDATE":
			o.Action = RolledBack
		default:
			o.Action = Failed
		}
	default:
		o.Action = Left
	}
	if err := res.Done(ctx); err != nil {
		w.log.Warn("could not acknowledge the waiter's message", "event", o.EventID, "err", err)
	}
	return o, nil
}

// clear clears h. Heat answers a signal 404 "resource not found" for a
// while during a rollback (seen with Heat 19: a pre-update hook of the
// rollback still pending, its resource not yet in the stack Heat loads
// for the signal), so a 404 while h is still pending is tried again.
func (w *Watcher) clear(ctx context.Context, h hooks.Hook) (hooks.Cleared, error) {
	for attempt := 1; ; attempt++ {
		c, err := w.heat.Clear(ctx, h)
		if !errors.Is(err, hooks.ErrNotFound) || attempt == 6 {
			return c, err
		}
		if pending, perr := w.heat.Pending(ctx, h); perr != nil || !pending {
			return c, err
		}
		w.log.Info("Heat does not find the paused resource yet; clearing again", "hook", h.String(), "attempt", attempt)
		if sleep(ctx, time.Duration(attempt)*time.Second) != nil {
			return c, err
		}
	}
}

// keepClaim renews the claim on the hook event while its waiter waits.
func (w *Watcher) keepClaim(ctx context.Context, d consume.Delivery, log *slog.Logger) {
	if d.ClaimID == "" {
		return
	}
	every := time.Duration(w.cfg.Claim.TTL) * time.Second / 3
	for sleep(ctx, every) == nil {
		err := claims.Update(ctx, w.zaqar, d.Queue, d.ClaimID, claims.UpdateOpts{TTL: w.cfg.Claim.TTL, Grace: w.cfg.Claim.Grace}).ExtractErr()
		if err != nil && ctx.Err() == nil {
			log.Warn("claim renewal failed", "claim", d.ClaimID, "err", err)
		}
		if err == nil && w.metrics != nil {
			w.metrics.Listen.ClaimRenewals.Inc()
		}
	}
}

// recheck stops the wait when the hook is no longer pending.
func (w *Watcher) recheck(ctx context.Context, h hooks.Hook, stop context.CancelCauseFunc, log *slog.Logger) {
	for sleep(ctx, w.cfg.Recheck) == nil {
		pending, err := w.heat.Pending(ctx, h)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				log.Warn("pending check failed", "err", err)
			}
		case !pending:
			log.Info("hook no longer pending; waiter stopped")
			stop(errGone)
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
