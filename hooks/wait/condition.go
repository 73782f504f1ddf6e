package wait

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/queues"

	"github.com/zaqar-go/suite/hooks"
	"github.com/zaqar-go/suite/internal/consume"
)

// QueueCondition approves when a condition on another Zaqar queue holds:
// with Empty, when the queue holds no messages (claimed or not: drained);
// otherwise when a message whose body contains Match arrives (every key of
// Match present with an equal value, nested objects compared the same
// way; an empty Match takes any message). With Consume the message is
// deleted once the hook is cleared; without, it stays for others.
type QueueCondition struct {
	Client *gophercloud.ServiceClient // messaging v2
	// Queue is a queue name template (QueueName).
	Queue   string
	Match   map[string]any
	Empty   bool
	Consume bool
	// LongPoll asks the server to hold a claim that finds nothing up to it
	// (zaqar-server's long polling; not for Empty, which reads the
	// queue's stats); 0 does not.
	LongPoll time.Duration
	// Interval between looks when the server does not hold them (Zaqar,
	// LongPoll 0, Empty) or the queue holds messages that do not match; 2s
	// when 0.
	Interval time.Duration
	Log      *slog.Logger
}

// Wait implements Waiter.
func (q *QueueCondition) Wait(ctx context.Context, h hooks.Hook) (Result, error) {
	queue := QueueName(q.Queue, h)
	interval := q.Interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	p := &consume.Poller{Wait: q.LongPoll, Poll: interval, Log: q.Log, Level: slog.LevelDebug}
	for {
		r, ok, pause, err := q.look(ctx, queue, h, p)
		switch {
		case ok:
			return r, nil
		case err != nil && ctx.Err() == nil:
			q.Log.Warn("condition queue", "queue", queue, "hook", h.String(), "err", err)
		}
		if err := sleep(ctx, pause); err != nil {
			return Result{}, err
		}
	}
}

// look checks the condition once and returns the decision when it holds,
// or the pause before the next look.
func (q *QueueCondition) look(ctx context.Context, queue string, h hooks.Hook, p *consume.Poller) (Result, bool, time.Duration, error) {
	if q.Empty {
		st, err := queues.GetStats(ctx, q.Client, queue).Extract()
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return Result{Approved: true, Reason: fmt.Sprintf("queue %s does not exist", queue)}, true, 0, nil
		}
		if err != nil {
			return Result{}, false, p.Poll, err
		}
		if st.Total == 0 {
			return Result{Approved: true, Reason: fmt.Sprintf("queue %s is empty", queue)}, true, 0, nil
		}
		return Result{}, false, p.Poll, nil
	}
	claimID, msgs, pause, err := claim(ctx, q.Client, queue, p)
	if err != nil || claimID == "" {
		return Result{}, false, pause, err
	}
	for _, m := range msgs {
		var body any
		if json.Unmarshal(m.Body, &body) != nil || !contains(body, q.Match) {
			continue
		}
		r := Result{Approved: true, Reason: fmt.Sprintf("message %s on queue %s", m.ID, queue)}
		if q.Consume {
			r.Ack, r.Release = consumeMessage(q.Client, queue, claimID, m.ID)
		} else {
			release(ctx, q.Client, queue, claimID)
		}
		return r, true, 0, nil
	}
	// Messages that do not match: a claim would find them again at once.
	release(ctx, q.Client, queue, claimID)
	return Result{}, false, p.Poll, nil
}

// contains reports whether body has every key of want with an equal value.
func contains(body any, want map[string]any) bool {
	obj, ok := body.(map[string]any)
	if !ok {
		return len(want) == 0
	}
	for k, w := range want {
		got, ok := obj[k]
		if !ok {
			return false
		}
		if wm, ok := w.(map[string]any); ok {
			if !contains(got, wm) {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(normalize(got), normalize(w)) {
			return false
		}
	}
	return true
}

// normalize makes YAML's and JSON's numbers comparable.
func normalize(v any) any {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case uint64:
		return float64(n)
	case []any:
		out := make([]any, len(n))
		for i, x := range n {
			out[i] = normalize(x)
		}
		return out
	}
	return v
}

// Deadline approves at a point in time: At, or After the hook paused.
type Deadline struct {
	At    time.Time
	After time.Duration
}

// Wait implements Waiter.
func (d *Deadline) Wait(ctx context.Context, h hooks.Hook) (Result, error) {
	at := d.At
	if at.IsZero() {
		start := h.EventTime
		if start.IsZero() {
			start = time.Now()
		}
		at = start.Add(d.After)
	}
	if err := sleep(ctx, time.Until(at)); err != nil {
		return Result{}, err
	}
	return Result{Approved: true, Reason: "deadline " + at.UTC().Format(time.RFC3339) + " reached"}, nil
}
