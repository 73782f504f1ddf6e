package wait

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/zaqar-go/suite/hooks"
	"github.com/zaqar-go/suite/internal/consume"
)

// Approval waits for a person or a system to post an approval or a
// rejection to a Zaqar queue. A message approves one pause of a hook, and
// must say which:
//
//	{"approve": true, "event_id": "<the hook event's id>"}
//	{"approve": true, "stack": "web", "resource": "child/db", "hook": "pre-update",
//	 "paused_at": "2026-11-24T21:14:56Z"}
//	{"approve": false, "reason": "change window closed", "event_id": "..."}
//
// or, naming no pause ({"approve": true}, possibly narrowed by "stack",
// "resource", "hook"), it must have been posted after the pause: Zaqar's
// message age says when, to the second, so such a message counts only
// when it is surely younger than the pause (by a second or more). An
// older one (a double click, a message left from an earlier run) is
// logged and left alone, never taken for a later pause. `hooks approve`
// looks the pause up in Heat and writes event_id and paused_at.
//
// Fields: "stack" is the root or the nested stack, by name or id;
// "resource" the resource's name or path; "paused_at" the pause's time
// (RFC 3339, compared to the second, as Heat's events API shows it). A
// message naming another hook is left for it; messages without a boolean
// "approve" are left alone. The message that decided is deleted once the
// decision took effect (Result.Ack).
type Approval struct {
	Client *gophercloud.ServiceClient // messaging v2
	// Queue is a queue name template (QueueName), e.g. "approve-{stack}".
	Queue string
	// LongPoll asks the server to hold a look that finds nothing up to it
	// (zaqar-server's long polling); 0 does not.
	LongPoll time.Duration
	// Interval between looks at the queue when the server does not hold
	// them (Zaqar, LongPoll 0) or the queue holds other messages; 1s when 0.
	Interval time.Duration
	Log      *slog.Logger
}

// ApprovalMessage is the body of an approval or a rejection.
type ApprovalMessage struct {
	Approve  *bool  `json:"approve"`
	Reason   string `json:"reason,omitempty"`
	Stack    string `json:"stack,omitempty"`
	Resource string `json:"resource,omitempty"`
	Hook     string `json:"hook,omitempty"`
	EventID  string `json:"event_id,omitempty"`
	// PausedAt names the pause by its time, with Stack, Resource and Hook.
	PausedAt string `json:"paused_at,omitempty"`
}

// errOther: the message names another hook or pause; not worth a log line.
var errOther = errors.New("meant for another hook")

// For says whether the message approves (or rejects) h's pause: nil when
// it does, errOther when it names another hook, or why it is refused (a
// stale or malformed message). postedAfter is an instant the message was
// surely posted after.
func (m ApprovalMessage) For(h hooks.Hook, postedAfter time.Time) error {
	if !(m.Stack == "" || m.Stack == h.Root.Name || m.Stack == h.Root.ID || m.Stack == h.Stack.Name || m.Stack == h.Stack.ID) ||
		!(m.Resource == "" || m.Resource == h.Resource || m.Resource == h.Path) ||
		!(m.Hook == "" || m.Hook == h.Type) ||
		!(m.EventID == "" || m.EventID == h.EventID) {
		return errOther
	}
	switch {
	case m.EventID != "":
		return nil
	case m.PausedAt != "":
		if m.Stack == "" || m.Resource == "" || m.Hook == "" {
			return errors.New(`"paused_at" names a pause only with "stack", "resource" and "hook"`)
		}
		at, err := time.Parse(time.RFC3339Nano, m.PausedAt)
		if err != nil {
			return fmt.Errorf(`"paused_at" %q is not an RFC 3339 time`, m.PausedAt)
		}
		// Heat's events API gives the pause to the second, its sink to
		// the microsecond.
		if !at.Truncate(time.Second).Equal(h.EventTime.Truncate(time.Second)) {
			return errOther
		}
		return nil
	}
	// Named by neither: it must be younger than the pause. A pause time
	// from the events API is truncated to the second, so the pause may
	// have been up to a second later.
	pause := h.EventTime
	if pause.Nanosecond() == 0 {
		pause = pause.Add(time.Second)
	}
	if postedAfter.Before(pause) {
		return fmt.Errorf("posted before the pause at %s and naming no pause (event_id, or paused_at): stale, left alone",
			h.EventTime.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// Wait implements Waiter.
func (a *Approval) Wait(ctx context.Context, h hooks.Hook) (Result, error) {
	queue := QueueName(a.Queue, h)
	interval := a.Interval
	if interval <= 0 {
		interval = time.Second
	}
	refused := map[string]bool{} // messages logged as refused, once each
	p := &consume.Poller{Wait: a.LongPoll, Poll: interval, Log: a.Log, Level: slog.LevelDebug}
	for {
		r, ok, pause, err := a.look(ctx, queue, h, refused, p)
		switch {
		case ok:
			return r, nil
		case err != nil && ctx.Err() == nil:
			a.Log.Warn("approval queue", "queue", queue, "hook", h.String(), "err", err)
		}
		if err := sleep(ctx, pause); err != nil {
			return Result{}, err
		}
	}
}

// look claims what the queue holds and returns the decision, if one of
// the messages is for h, or the pause before the next look.
func (a *Approval) look(ctx context.Context, queue string, h hooks.Hook, refused map[string]bool, p *consume.Poller) (Result, bool, time.Duration, error) {
	claimID, msgs, pause, err := claim(ctx, a.Client, queue, p)
	if err != nil || claimID == "" {
		return Result{}, false, pause, err
	}
	for _, m := range msgs {
		var am ApprovalMessage
		if json.Unmarshal(m.Body, &am) != nil || am.Approve == nil {
			continue
		}
		if err := am.For(h, m.PostedAfter); err != nil {
			if !errors.Is(err, errOther) && !refused[m.ID] {
				refused[m.ID] = true
				a.Log.Warn("approval message refused", "queue", queue, "message", m.ID, "hook", h.String(), "why", err)
			}
			continue
		}
		ack, rel := consumeMessage(a.Client, queue, claimID, m.ID)
		r := Result{Approved: *am.Approve, Reason: am.Reason, Ack: ack, Release: rel}
		if r.Reason == "" {
			r.Reason = fmt.Sprintf("message %s on queue %s", m.ID, queue)
		}
		return r, true, 0, nil
	}
	// Messages for others: a claim would find them again at once.
	release(ctx, a.Client, queue, claimID)
	return Result{}, false, p.Poll, nil
}
