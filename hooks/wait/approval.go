package wait

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/zaqar-go/suite/hooks"
)

// Approval waits for a person or a system to post an approval or a
// rejection to a Zaqar queue:
//
//	{"approve": true}
//	{"approve": false, "reason": "change window closed"}
//
// A message may name what it is for with any of "stack" (the root or the
// nested stack, by name or id), "resource" (the name or the path),
// "hook" and "event_id"; a message naming another hook is left for it.
// Messages without a boolean "approve" are left alone. The message that
// decided is deleted once the decision took effect (Result.Ack).
type Approval struct {
	Client *gophercloud.ServiceClient // messaging v2
	// Queue is a queue name template (QueueName), e.g. "approve-{stack}".
	Queue string
	// Interval between looks at the queue; 1s when 0.
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
}

// For reports whether the message is meant for h.
func (m ApprovalMessage) For(h hooks.Hook) bool {
	return (m.Stack == "" || m.Stack == h.Root.Name || m.Stack == h.Root.ID || m.Stack == h.Stack.Name || m.Stack == h.Stack.ID) &&
		(m.Resource == "" || m.Resource == h.Resource || m.Resource == h.Path) &&
		(m.Hook == "" || m.Hook == h.Type) &&
		(m.EventID == "" || m.EventID == h.EventID)
}

// Wait implements Waiter.
func (a *Approval) Wait(ctx context.Context, h hooks.Hook) (Result, error) {
	queue := QueueName(a.Queue, h)
	interval := a.Interval
	if interval <= 0 {
		interval = time.Second
	}
	for {
		r, ok, err := a.look(ctx, queue, h)
		switch {
		case ok:
			return r, nil
		case err != nil && ctx.Err() == nil:
			a.Log.Warn("approval queue", "queue", queue, "hook", h.String(), "err", err)
		}
		if err := sleep(ctx, interval); err != nil {
			return Result{}, err
		}
	}
}

func (a *Approval) look(ctx context.Context, queue string, h hooks.Hook) (Result, bool, error) {
	claimID, msgs, err := claim(ctx, a.Client, queue)
	if err != nil || claimID == "" {
		return Result{}, false, err
	}
	for _, m := range msgs {
		var am ApprovalMessage
		if json.Unmarshal(m.Body, &am) != nil || am.Approve == nil || !am.For(h) {
			continue
		}
		ack, rel := consume(a.Client, queue, claimID, m.ID)
		r := Result{Approved: *am.Approve, Reason: am.Reason, Ack: ack, Release: rel}
		if r.Reason == "" {
			r.Reason = fmt.Sprintf("message %s on queue %s", m.ID, queue)
		}
		return r, true, nil
	}
	release(ctx, a.Client, queue, claimID)
	return Result{}, false, nil
}
