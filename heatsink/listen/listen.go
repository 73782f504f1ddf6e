// Package listen claims Heat events from sink queues (with internal/consume's
// claim loop) and runs the actions of the rules they match: call a webhook,
// run a command with the event on stdin, or re-post the event to another
// Zaqar queue. Delivery is at least once (see consume): actions should be
// idempotent; the event id (Heat's event UUID) identifies a retry.
package listen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"

	"github.com/zaqar-go/suite/heatsink"
	"github.com/zaqar-go/suite/internal/consume"
	"github.com/zaqar-go/suite/internal/tailbuf"
)

// Connect returns the Zaqar client for a queue: from a signed-URL file when
// signedURL is set, else with the process's credentials.
type Connect func(queue, signedURL string) (*gophercloud.ServiceClient, error)

// New builds the listener of a Config, connecting every queue and queue action.
func New(cfg *Config, connect Connect, log *slog.Logger) (*consume.Listener, error) {
	cc := consume.Config{ShutdownGrace: cfg.ShutdownGrace, Claim: cfg.Claim, Retry: cfg.Retry, Metrics: cfg.Metrics}
	for _, q := range cfg.Queues {
		c, err := connect(q.Name, q.SignedURL)
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", q.Name, err)
		}
		cc.Queues = append(cc.Queues, consume.Queue{Name: q.Name, Client: c, Workers: q.Workers})
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, r := range cfg.Rules {
		m, err := compileMatch(r.Match)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		h := consume.Handler{Name: r.Name, Match: m.Match, Timeout: r.Timeout}
		switch {
		case r.Webhook != nil:
			h.Run, h.Kind = webhook{client: hc, cfg: *r.Webhook}.run, "webhook"
		case r.Command != nil:
			h.Run, h.Kind = command{argv: r.Command, env: r.Env}.run, "command"
		case r.Queue != nil:
			c, err := connect(r.Queue.Name, r.Queue.SignedURL)
			if err != nil {
				return nil, fmt.Errorf("rule %s: queue %s: %w", r.Name, r.Queue.Name, err)
			}
			h.Run, h.Kind = repost{client: c, queue: r.Queue.Name, ttl: r.Queue.TTL}.run, "queue"
		default:
			return nil, fmt.Errorf("rule %s: no action", r.Name)
		}
		cc.Handlers = append(cc.Handlers, h)
	}
	return consume.New(cc, log), nil
}

type webhook struct {
	client *http.Client
	cfg    WebhookAction
}

func (w webhook) run(ctx context.Context, d consume.Delivery) error {
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
func (c command) run(ctx context.Context, d consume.Delivery) error {
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

func (r repost) run(ctx context.Context, d consume.Delivery) error {
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
