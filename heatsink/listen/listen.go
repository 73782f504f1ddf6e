// Package listen claims Heat events from sink queues and runs the actions
// of the rules they match: call a webhook, run a command with the event on
// stdin, or re-post the event to another Zaqar queue.
//
// Delivery is at least once. Messages are claimed, so several listener
// processes share a queue and a listener that dies loses nothing: its
// claim expires and the messages are claimed again. A message is deleted
// only after every matching rule's action succeeded; otherwise it stays
// claimed, comes back when the claim expires, and after the queue's
// _max_claim_count claims Zaqar moves it to the dead-letter queue
// (heatsink prepare sets both). Actions should therefore be idempotent;
// the event id (Heat's event UUID) identifies a retry. Within one claim,
// once an event of a resource failed, later events of the same resource are
// left for the retry too, so that one worker sees a resource's events in
// order.
package listen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/claims"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zaqar-go/suite/heatsink"

	"github.com/zaqar-go/suite/internal/heatevent"
	"github.com/zaqar-go/suite/internal/tailbuf"
)

// Connect returns the Zaqar client for a queue: from a signed-URL file when
// signedURL is set, else with the process's credentials.
type Connect func(queue, signedURL string) (*gophercloud.ServiceClient, error)

// Delivery is one claimed event given to an action.
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

type action interface {
	run(ctx context.Context, d Delivery) error
}

// Func is an action written in Go (Rule.Func), for programs that build
// on the listener; the message is deleted when it returns nil.
type Func func(ctx context.Context, d Delivery) error

func (f Func) run(ctx context.Context, d Delivery) error { return f(ctx, d) }

type rule struct {
	name    string
	kind    string // webhook, command, queue, func: for the logs
	match   matcher
	timeout time.Duration
	act     action
}

type source struct {
	queue   string
	client  *gophercloud.ServiceClient
	workers int
}

// Listener runs a Config.
type Listener struct {
	claim   ClaimConfig
	retry   RetryConfig
	metrics *Metrics
	grace   time.Duration
	rules   []rule
	sources []source
	log     *slog.Logger
}

// New builds a Listener, connecting every queue and queue action.
func New(cfg *Config, connect Connect, log *slog.Logger) (*Listener, error) {
	l := &Listener{claim: cfg.Claim, retry: cfg.Retry, metrics: cfg.Metrics, grace: cfg.ShutdownGrace, log: log}
	if l.retry.Attempts < 1 {
		l.retry.Attempts = 1
	}
	for _, q := range cfg.Queues {
		c, err := connect(q.Name, q.SignedURL)
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", q.Name, err)
		}
		l.sources = append(l.sources, source{queue: q.Name, client: c, workers: q.Workers})
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, r := range cfg.Rules {
		m, err := compileMatch(r.Match)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		cr := rule{name: r.Name, match: m, timeout: r.Timeout}
		switch {
		case r.Func != nil:
			cr.act, cr.kind = r.Func, "func"
		case r.Webhook != nil:
			cr.act, cr.kind = webhook{client: hc, cfg: *r.Webhook}, "webhook"
		case r.Command != nil:
			cr.act, cr.kind = command{argv: r.Command, env: r.Env}, "command"
		case r.Queue != nil:
			cr.kind = "queue"
			c, err := connect(r.Queue.Name, r.Queue.SignedURL)
			if err != nil {
				return nil, fmt.Errorf("rule %s: queue %s: %w", r.Name, r.Queue.Name, err)
			}
			cr.act = repost{client: c, queue: r.Queue.Name, ttl: r.Queue.TTL}
		default:
			return nil, fmt.Errorf("rule %s: no action", r.Name)
		}
		l.rules = append(l.rules, cr)
	}
	return l, nil
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
	var wg sync.WaitGroup
	for _, s := range l.sources {
		for range s.workers {
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

func (l *Listener) loop(ctx, work context.Context, s source) {
	for ctx.Err() == nil {
		n, err := l.once(ctx, work, s)
		if err != nil && ctx.Err() == nil {
			l.log.Warn("claim failed", "queue", s.queue, "err", err)
		}
		if n == 0 || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(l.claim.Poll):
			}
		}
	}
}

// Once makes one claim on queue and handles what it got; it returns the
// number of messages claimed.
func (l *Listener) Once(ctx context.Context, queue string) (int, error) {
	for _, s := range l.sources {
		if s.queue == queue {
			return l.once(ctx, ctx, s)
		}
	}
	return 0, fmt.Errorf("not listening on %s", queue)
}

type claimed struct {
	ID   string          `json:"id"`
	Href string          `json:"href"`
	TTL  int             `json:"ttl"`
	Body json.RawMessage `json:"body"`
}

// once claims a batch from s and handles it. ctx ending means stop: no
// new claim, no new message; work is what actions and the requests that
// finish a message run under (it outlives ctx by the shutdown grace).
func (l *Listener) once(ctx, work context.Context, s source) (int, error) {
	var got struct {
		Messages []claimed `json:"messages"`
	}
	// The claim request outlives ctx: a claim Zaqar made whose answer was
	// dropped would hold its messages, unknown, for the claim TTL.
	cctx, cancel := context.WithTimeout(work, 30*time.Second)
	r := claims.Create(cctx, s.client, s.queue, claims.CreateOpts{TTL: l.claim.TTL, Grace: l.claim.Grace, Limit: l.claim.Limit})
	err := r.ExtractInto(&got)
	cancel()
	l.metrics.claimAnswered(err)
	if err != nil {
		return 0, err
	}
	if len(got.Messages) == 0 {
		return 0, nil
	}
	l.metrics.seen(len(got.Messages))
	claimID := claimOf(got.Messages[0].Href)
	// Keep the claim while working through a long batch (and retries),
	// so that no other listener gets these messages meanwhile.
	renewed := time.Now()
	keep := func() {
		if time.Since(renewed) > time.Duration(l.claim.TTL)*time.Second/3 {
			if err := claims.Update(work, s.client, s.queue, claimID, claims.UpdateOpts{TTL: l.claim.TTL, Grace: l.claim.Grace}).ExtractErr(); err != nil {
				l.log.Warn("claim renewal failed", "queue", s.queue, "claim", claimID, "err", err)
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
			return i, nil
		}
		keep()
		if m.ID == "" {
			m.ID = messageOf(m.Href)
		}
		ev, err := heatevent.Decode(m.Body)
		if err != nil {
			// Left claimed: it ends in the dead-letter queue.
			l.log.Warn("not a Heat event; left for the dead-letter queue", "queue", s.queue, "message", m.ID, "err", err)
			l.metrics.inc(func(m *Metrics) prometheus.Counter { return m.Malformed })
			failed[""] = true
			continue
		}
		key := ev.Payload.StackID + "/" + ev.Payload.ResourceName
		if failed[key] {
			l.log.Info("left for retry after an earlier event of its resource failed", "queue", s.queue, "message", m.ID, "event", ev.ID)
			continue
		}
		d := Delivery{Queue: s.queue, MessageID: m.ID, ClaimID: claimID, TTL: m.TTL, Body: m.Body, Event: ev}
		switch l.handle(ctx, work, d, keep) {
		case stopped:
			l.handBack(work, s, claimID, len(got.Messages)-i)
			return i, nil
		case failedAction:
			failed[key] = true
			continue
		}
		err = messages.Delete(work, s.client, s.queue, m.ID, messages.DeleteOpts{ClaimID: claimID}).ExtractErr()
		if err != nil {
			// The claim probably expired: the message will be handled again.
			l.log.Warn("delete after success failed", "queue", s.queue, "message", m.ID, "event", ev.ID, "err", err)
		}
	}
	if len(failed) > 0 && l.claim.ReleaseFailed {
		if err := claims.Delete(work, s.client, s.queue, claimID).ExtractErr(); err != nil {
			l.log.Warn("claim release failed", "queue", s.queue, "claim", claimID, "err", err)
		}
	}
	return len(got.Messages), nil
}

// handBack deletes a claim when stopping, so that its messages not yet
// done go to another listener now, not at claim expiry.
func (l *Listener) handBack(work context.Context, s source, claimID string, left int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(work), 5*time.Second)
	defer cancel()
	if err := claims.Delete(ctx, s.client, s.queue, claimID).ExtractErr(); err != nil {
		l.log.Warn("stopping: claim not handed back; its events come back at claim expiry", "queue", s.queue, "claim", claimID, "err", err)
		return
	}
	l.metrics.inc(func(m *Metrics) prometheus.Counter { return m.HandedBack })
	l.log.Info("stopping: claimed events handed back", "queue", s.queue, "claim", claimID, "events", left)
}

type outcome int

const (
	done outcome = iota
	failedAction
	stopped // an action ended by the stop: the event goes back, not counted as failed
)

// handle runs every matching rule's action in order, under work, and says
// whether all succeeded. A failed action is tried again after a backoff
// (Retry), keeping the claim; one that fails once ctx ended (the stop)
// stopped.
func (l *Listener) handle(ctx, work context.Context, d Delivery, keep func()) outcome {
	p := d.Event.Payload
	matched := false
	for _, r := range l.rules {
		if !r.match.Match(p) {
			continue
		}
		matched = true
		for attempt := 1; ; attempt++ {
			actx, cancel := context.WithTimeout(work, r.timeout)
			err := r.act.run(actx, d)
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				l.log.Info("stopping: action interrupted; the event goes back to the queue", "rule", r.name, "queue", d.Queue,
					"message", d.MessageID, "event", d.Event.ID, "err", err)
				return stopped
			}
			if attempt >= l.retry.Attempts {
				l.metrics.failed(r.name)
				l.log.Warn("action failed; the event will be retried", "rule", r.name, "queue", d.Queue,
					"message", d.MessageID, "event", d.Event.ID, "resource", p.ResourceName, "attempts", attempt, "err", err)
				return failedAction
			}
			wait := l.retry.backoff(attempt)
			l.log.Info("action failed; trying again", "rule", r.name, "event", d.Event.ID, "attempt", attempt, "in", wait, "err", err)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return stopped
			case <-t.C:
			}
			keep()
		}
		l.metrics.acted(r.name)
		if r.kind != "func" { // a Go action logs what it did itself (hooks: "hook settled")
			l.log.Info("event handled", "rule", r.name, "action", r.kind, "outcome", "ok", "event", d.Event.ID,
				"stack_id", p.StackID, "resource", p.ResourceName, "state", p.ResourceAction+"_"+p.ResourceStatus)
		}
	}
	if !matched {
		l.log.Debug("no rule matches; event deleted", "event", d.Event.ID, "resource", p.ResourceName,
			"state", p.ResourceAction+"_"+p.ResourceStatus)
	}
	return done
}

// claimOf and messageOf read a claimed message's href,
// /v2/queues/q/messages/ID?claim_id=CID.
func claimOf(href string) string {
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	return u.Query().Get("claim_id")
}

func messageOf(href string) string {
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	return path.Base(u.Path)
}

type webhook struct {
	client *http.Client
	cfg    WebhookAction
}

func (w webhook) run(ctx context.Context, d Delivery) error {
	req, err := http.NewRequestWithContext(ctx, w.cfg.Method, w.cfg.URL, bytes.NewReader(d.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Heat-Event-ID", d.Event.ID)
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s %s: %s: %s", w.cfg.Method, w.cfg.URL, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

type command struct {
	argv []string
	env  map[string]string
}

// run starts the command in its own process group, so that a timeout kills
// whatever it started too.
func (c command) run(ctx context.Context, d Delivery) error {
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Stdin = bytes.NewReader(d.Body)
	var out tailbuf.Tail // the last 1 KiB, for the error
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	p := d.Event.Payload
	physical := ""
	if p.PhysicalResourceID != nil {
		physical = *p.PhysicalResourceID
	}
	cmd.Env = append(os.Environ(),
		"HEAT_EVENT_ID="+d.Event.ID,
		"HEAT_STACK_ID="+p.StackID,
		"HEAT_RESOURCE_NAME="+p.ResourceName,
		"HEAT_RESOURCE_TYPE="+p.ResourceType,
		"HEAT_RESOURCE_ACTION="+p.ResourceAction,
		"HEAT_RESOURCE_STATUS="+p.ResourceStatus,
		"HEAT_PHYSICAL_RESOURCE_ID="+physical,
		"ZAQAR_QUEUE="+d.Queue,
		"ZAQAR_MESSAGE_ID="+d.MessageID,
	)
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		return fmt.Errorf("%s: %w: %s", c.argv[0], err, strings.TrimSpace(out.String()))
	}
	return nil
}

type repost struct {
	client *gophercloud.ServiceClient
	queue  string
	ttl    int
}

func (r repost) run(ctx context.Context, d Delivery) error {
	var body map[string]any
	if err := json.Unmarshal(d.Body, &body); err != nil {
		return err
	}
	ttl := r.ttl
	if ttl == 0 {
		ttl = d.TTL
	}
	if ttl == 0 {
		ttl = heatsink.DefaultTTL
	}
	err := messages.Create(ctx, r.client, r.queue, messages.BatchCreateOpts{{TTL: ttl, Body: body}}).Err
	if err != nil {
		return fmt.Errorf("post to queue %s: %w", r.queue, err)
	}
	return nil
}
