package watch

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stackevents"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stacks"

	"github.com/zaqar-go/suite/hooks"
	"github.com/zaqar-go/suite/internal/heatevent"
	"github.com/zaqar-go/suite/internal/match"
	"github.com/zaqar-go/suite/internal/zaqarapi"
)

func (w *Watcher) pollLoop(ctx context.Context) {
	for {
		n, err := w.PollOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			w.log.Warn("polling Heat failed", "err", err)
		case n > 0:
			w.log.Info("posted hook events found by polling", "count", n, "queue", w.cfg.Queue)
		}
		if sleep(ctx, w.cfg.Poll.Interval) != nil {
			return
		}
	}
}

// PollOnce looks for pending hooks in the configured stacks that are in
// progress, and posts each hook event that neither the queue nor the
// ledger has to the queue, in the event sink's format. It returns how
// many it posted.
func (w *Watcher) PollOnce(ctx context.Context) (int, error) {
	var res []*regexp.Regexp
	for _, p := range w.cfg.Poll.Stacks {
		re, err := match.Glob(p)
		if err != nil {
			return 0, err
		}
		res = append(res, re)
	}
	pages, err := stacks.List(w.heat.Client, nil).AllPages(ctx)
	if err != nil {
		return 0, fmt.Errorf("stacks: %w", err)
	}
	listed, err := stacks.ExtractStacks(pages)
	if err != nil {
		return 0, fmt.Errorf("stacks: %w", err)
	}
	var found []hooks.Hook
	for _, s := range listed {
		if !strings.HasSuffix(s.Status, "_IN_PROGRESS") || !anyMatch(res, s.Name) {
			continue
		}
		_, hs, err := w.heat.Poll(ctx, s.Name+"/"+s.ID)
		if err != nil {
			w.log.Warn("polling a stack failed", "stack", s.Name, "err", err)
			continue
		}
		found = append(found, hs...)
	}
	if len(found) == 0 {
		return 0, nil
	}
	queued, err := w.eventIDs(ctx, w.cfg.Queue, "id")
	if err != nil {
		return 0, fmt.Errorf("queue %s: %w", w.cfg.Queue, err)
	}
	done, err := w.eventIDs(ctx, w.cfg.Ledger, "event_id")
	if err != nil {
		return 0, fmt.Errorf("ledger %s: %w", w.cfg.Ledger, err)
	}
	posted := 0
	for _, h := range found {
		if queued[h.EventID] || done[h.EventID] {
			continue
		}
		ev, err := w.sinkEvent(ctx, h)
		if err != nil {
			return posted, err
		}
		if err := zaqarapi.PostMessages(ctx, w.zaqar, w.cfg.Queue, zaqarapi.NewMessage{TTL: w.cfg.Poll.TTL, Body: ev}).Err; err != nil {
			return posted, fmt.Errorf("post hook event %s: %w", h.EventID, err)
		}
		posted++
	}
	return posted, nil
}

// sinkEvent is the message Heat's sink would have posted for h's event
// (the events API gives the time to the second only).
func (w *Watcher) sinkEvent(ctx context.Context, h hooks.Hook) (heatevent.Event, error) {
	var detail struct {
		Event struct {
			ResourceType       string         `json:"resource_type"`
			ResourceProperties map[string]any `json:"resource_properties"`
			PhysicalResourceID *string        `json:"physical_resource_id"`
		} `json:"event"`
	}
	err := stackevents.Get(ctx, w.heat.Client, h.Stack.Name, h.Stack.ID, h.Resource, h.EventID).ExtractInto(&detail)
	if err != nil {
		return heatevent.Event{}, fmt.Errorf("event %s: %w", h.EventID, err)
	}
	action, status, ok := heatevent.SplitStatus(h.Status)
	if !ok {
		return heatevent.Event{}, fmt.Errorf("event %s: resource_status %q", h.EventID, h.Status)
	}
	props := detail.Event.ResourceProperties
	if props == nil {
		props = map[string]any{}
	}
	physical := detail.Event.PhysicalResourceID
	if physical != nil && *physical == "" {
		physical = nil
	}
	return heatevent.Event{
		ID: h.EventID, Timestamp: h.EventTime.UTC().Format(heatevent.TimestampFormat),
		Type: heatevent.EventType, Version: heatevent.EventVersion,
		Payload: heatevent.Payload{
			ResourceName: h.Resource, PhysicalResourceID: physical, StackID: h.Stack.ID,
			ResourceAction: action, ResourceStatus: status,
			ResourceStatusReason: fmt.Sprintf("%s paused until Hook %s is cleared", h.Action, h.Type),
			ResourceType:         detail.Event.ResourceType, ResourceProperties: props, Version: heatevent.EventVersion,
		},
	}, nil
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
