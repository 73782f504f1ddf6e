package wait

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zaqar-go/suite/hooks"
)

// Webhook calls a URL with the hook (Document) and approves on a 2xx
// answer. Any other answer is asked again after Interval, unless Once is
// set: then the first answer decides and a non-2xx one is a rejection.
// Unreachable URLs are retried either way.
type Webhook struct {
	Client *http.Client
	// URL may hold placeholders (Expand), filled path-escaped.
	URL     string
	Method  string // POST when empty
	Headers map[string]string
	// Interval between calls; 10s when 0.
	Interval time.Duration
	Once     bool
	Log      *slog.Logger
}

// Wait implements Waiter.
func (w *Webhook) Wait(ctx context.Context, h hooks.Hook) (Result, error) {
	esc := h
	for _, f := range []*string{&esc.Root.Name, &esc.Root.ID, &esc.Stack.Name, &esc.Stack.ID, &esc.Resource, &esc.Path, &esc.EventID} {
		*f = url.PathEscape(*f)
	}
	target := Expand(w.URL, esc)
	interval := w.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	for {
		status, body, err := w.call(ctx, target, h)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				w.Log.Warn("webhook unreachable; trying again", "url", target, "hook", h.String(), "err", err)
			}
		case status >= 200 && status <= 299:
			return Result{Approved: true, Reason: fmt.Sprintf("%s answered %d", target, status)}, nil
		case w.Once:
			return Result{Reason: fmt.Sprintf("%s answered %d: %s", target, status, body)}, nil
		default:
			w.Log.Info("webhook not yet approving", "url", target, "hook", h.String(), "status", status)
		}
		if err := sleep(ctx, interval); err != nil {
			return Result{}, err
		}
	}
}

func (w *Webhook) call(ctx context.Context, target string, h hooks.Hook) (int, string, error) {
	method := w.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(Document(h)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Heat-Hook", h.Type)
	req.Header.Set("X-Heat-Event-ID", h.EventID)
	for k, v := range w.Headers {
		req.Header.Set(k, v)
	}
	resp, err := w.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}
