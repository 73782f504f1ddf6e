package watch

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// listed is a message as Zaqar lists it.
type listed struct {
	ID   string          `json:"id"`
	Age  int             `json:"age"`
	Body json.RawMessage `json:"body"`
}

// each lists the messages of queue, claimed ones too, and calls fn for
// each until it returns false. Messages this client posted are included
// (echo). It reads the pages itself: gophercloud's message pages cannot hold
// bodies that are not JSON objects.
func (w *Watcher) each(ctx context.Context, queue string, fn func(listed) bool) error {
	next := w.zaqar.ServiceURL("v2", "queues", queue, "messages") + "?echo=true&include_claimed=true&limit=20"
	for next != "" {
		var page struct {
			Messages []listed           `json:"messages"`
			Links    []gophercloud.Link `json:"links"`
		}
		_, err := w.zaqar.Get(ctx, next, &page, &gophercloud.RequestOpts{OkCodes: []int{200, 204}})
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(page.Messages) == 0 {
			return nil
		}
		for _, m := range page.Messages {
			if !fn(m) {
				return nil
			}
		}
		next = ""
		for _, l := range page.Links {
			if l.Rel == "next" {
				next = w.resolve(l.Href)
			}
		}
	}
	return nil
}

// resolve makes Zaqar's relative next links (/v2/queues/...) absolute.
func (w *Watcher) resolve(href string) string {
	base, err := url.Parse(w.zaqar.Endpoint)
	if err != nil {
		return ""
	}
	ref, err := url.Parse(href)
	if err != nil {
		return ""
	}
	return base.ResolveReference(ref).String()
}

// eventIDs returns the Heat event ids of queue's messages.
func (w *Watcher) eventIDs(ctx context.Context, queue, key string) (map[string]bool, error) {
	ids := map[string]bool{}
	err := w.each(ctx, queue, func(m listed) bool {
		var b map[string]any
		if json.Unmarshal(m.Body, &b) == nil {
			if id, ok := b[key].(string); ok {
				ids[id] = true
			}
		}
		return true
	})
	return ids, err
}

func (w *Watcher) inLedger(ctx context.Context, eventID string) (bool, error) {
	found := false
	err := w.each(ctx, w.cfg.Ledger, func(m listed) bool {
		var o struct {
			EventID string `json:"event_id"`
		}
		found = json.Unmarshal(m.Body, &o) == nil && o.EventID == eventID
		return !found
	})
	return found, err
}

// record writes an outcome to the ledger and reports whether it did. A
// failure is logged, not fatal: the hook is settled, and a copy handled
// later finds it settled in Heat. Only the holder of the event's lock
// records (acquire), after finding the ledger without it.
func (w *Watcher) record(ctx context.Context, o Outcome) bool {
	o.At = time.Now().UTC()
	raw, _ := json.Marshal(o)
	var body map[string]any
	json.Unmarshal(raw, &body)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := w.zaqar.Post(ctx, w.zaqar.ServiceURL("v2", "queues", w.cfg.Ledger, "messages"),
		map[string]any{"messages": []map[string]any{{"ttl": w.cfg.LedgerTTL, "body": body}}}, nil,
		&gophercloud.RequestOpts{OkCodes: []int{201}})
	if err != nil {
		w.log.Warn("ledger write failed", "event", o.EventID, "ledger", w.cfg.Ledger, "err", err)
		return false
	}
	return true
}
