package watch

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/zaqar-go/suite/internal/zaqarapi"
)

// each lists the messages of queue, claimed ones too, and calls fn for
// each until it returns false. Messages this client posted are included
// (echo). A queue that does not exist has none.
func (w *Watcher) each(ctx context.Context, queue string, fn func(zaqarapi.Message) bool) error {
	err := zaqarapi.ListMessages(w.zaqar, queue, messages.ListOpts{Echo: true, IncludeClaimed: true, Limit: 20}).EachPage(ctx,
		func(_ context.Context, p pagination.Page) (bool, error) {
			ms, err := zaqarapi.ExtractMessages(p)
			if err != nil {
				return false, err
			}
			for _, m := range ms {
				if !fn(m) {
					return false, nil
				}
			}
			return true, nil
		})
	if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// eventIDs returns the Heat event ids of queue's messages.
func (w *Watcher) eventIDs(ctx context.Context, queue, key string) (map[string]bool, error) {
	ids := map[string]bool{}
	err := w.each(ctx, queue, func(m zaqarapi.Message) bool {
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
	err := w.each(ctx, w.cfg.Ledger, func(m zaqarapi.Message) bool {
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
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := zaqarapi.PostMessages(ctx, w.zaqar, w.cfg.Ledger, zaqarapi.NewMessage{TTL: w.cfg.LedgerTTL, Body: o}).Err; err != nil {
		w.log.Warn("ledger write failed", "event", o.EventID, "ledger", w.cfg.Ledger, "err", err)
		return false
	}
	return true
}
