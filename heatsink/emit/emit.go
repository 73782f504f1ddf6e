// Package emit copies a stack's events from Heat's events API into a Zaqar
// queue in exactly the format Heat's zaqar-queue sink posts, for clouds
// whose Heat cannot reach Zaqar (no event_sinks, no catalog entry, another
// network). Listeners cannot tell the difference except in two places the
// events API does not carry: timestamps have whole seconds (Heat's sink
// has microseconds), and events are posted when polled, not as they happen.
//
// Like Heat's sink it posts one message per event with the sink's TTL, and
// leaves out the events Heat never dispatches to sinks ("Hook ... is
// cleared", SIGNAL events and "Cannot signal resource during ..."), unless
// All is set. Progress is kept in a state file (the last event posted), so
// a restarted emitter resumes after it; the event being posted is recorded
// first, and on restart it is looked up in the queue, so a crash between
// the post and the state update does not post it twice (unless a listener
// already deleted it in between).
package emit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stackevents"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stacks"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/zaqar-go/suite/heatsink"
	"github.com/zaqar-go/suite/internal/heatevent"
	"github.com/zaqar-go/suite/internal/zaqarapi"
)

// Emitter copies one stack's events to one queue.
type Emitter struct {
	Heat  *gophercloud.ServiceClient // orchestration v1
	Zaqar *gophercloud.ServiceClient // messaging v2
	// Stack is the stack's name, id or name/id. A deleted stack can only
	// be found by id or name/id.
	Stack string
	Queue string
	TTL   int // seconds; heatsink.DefaultTTL when 0
	// NestedDepth includes events of nested stacks down to that depth,
	// posted under their own stack_id as Heat does.
	NestedDepth int
	// StateFile keeps progress across restarts; empty keeps it in memory.
	StateFile string
	// All also posts the events Heat does not send to sinks.
	All bool
	Log *slog.Logger

	stackName, stackID string
	state              State
	loaded             bool
}

// State is what the state file holds.
type State struct {
	StackID string `json:"stack_id"`
	Queue   string `json:"queue"`
	// Last is the id of the last event handled (posted or skipped).
	Last string `json:"last_event_id,omitempty"`
	// Pending is the id of an event whose post may or may not have
	// happened.
	Pending string `json:"pending_event_id,omitempty"`
}

// listOpts adds nested_depth, which gophercloud's stackevents.ListOpts
// lacks.
type listOpts struct {
	stackevents.ListOpts
	NestedDepth int `q:"nested_depth"`
}

func (o listOpts) ToStackEventListQuery() (string, error) {
	q, err := gophercloud.BuildQueryString(o.ListOpts)
	if err != nil {
		return "", err
	}
	v := q.Query()
	if o.NestedDepth > 0 {
		v.Set("nested_depth", fmt.Sprint(o.NestedDepth))
	}
	return "?" + v.Encode(), nil
}

// apiEvent is an event of the events API (the single-event GET adds
// resource_type and resource_properties to the list's fields).
type apiEvent struct {
	ID                   string             `json:"id"`
	EventTime            string             `json:"event_time"`
	ResourceName         string             `json:"resource_name"`
	PhysicalResourceID   *string            `json:"physical_resource_id"`
	ResourceStatus       string             `json:"resource_status"`
	ResourceStatusReason string             `json:"resource_status_reason"`
	ResourceType         string             `json:"resource_type"`
	ResourceProperties   map[string]any     `json:"resource_properties"`
	Links                []gophercloud.Link `json:"links"`
}

func (e apiEvent) link(rel string) string {
	for _, l := range e.Links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

// Heat dispatches to sinks only from create/update/delete work; these
// events are stored by paths that do not (heat/engine/resource.py signal).
var (
	hookCleared  = regexp.MustCompile(`^Hook \S+ is cleared$`)
	cannotSignal = regexp.MustCompile(`^Cannot signal resource during `)
)

func sentByHeat(e apiEvent) bool {
	return !hookCleared.MatchString(e.ResourceStatusReason) &&
		!cannotSignal.MatchString(e.ResourceStatusReason) &&
		!strings.HasPrefix(e.ResourceStatus, "SIGNAL_")
}

// resolve finds the stack's name and id once.
func (em *Emitter) resolve(ctx context.Context) error {
	if em.stackID != "" {
		return nil
	}
	if name, id, ok := strings.Cut(em.Stack, "/"); ok {
		em.stackName, em.stackID = name, id
		return nil
	}
	s, err := stacks.Find(ctx, em.Heat, em.Stack).Extract()
	if err != nil {
		return fmt.Errorf("stack %s: %w", em.Stack, err)
	}
	em.stackName, em.stackID = s.Name, s.ID
	return nil
}

// StackID returns the resolved stack id (after the first Once).
func (em *Emitter) StackID() string { return em.stackID }

func (em *Emitter) load() error {
	if em.loaded {
		return nil
	}
	em.state = State{StackID: em.stackID, Queue: em.Queue}
	if em.StateFile != "" {
		data, err := os.ReadFile(em.StateFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return err
		default:
			var s State
			if err := json.Unmarshal(data, &s); err != nil {
				return fmt.Errorf("state file %s: %w", em.StateFile, err)
			}
			if s.StackID != em.stackID || s.Queue != em.Queue {
				return fmt.Errorf("state file %s is for stack %s and queue %s, not %s and %s", em.StateFile, s.StackID, s.Queue, em.stackID, em.Queue)
			}
			em.state = s
		}
	}
	em.loaded = true
	return nil
}

// save writes the state file atomically and durably.
func (em *Emitter) save() error {
	if em.StateFile == "" {
		return nil
	}
	data, err := json.Marshal(em.state)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(em.StateFile), ".heatsink-emit-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), em.StateFile)
}

// Once posts every event after the last one handled and returns how many
// it posted.
func (em *Emitter) Once(ctx context.Context) (int, error) {
	if err := em.resolve(ctx); err != nil {
		return 0, err
	}
	if err := em.load(); err != nil {
		return 0, err
	}
	if em.state.Pending != "" {
		if err := em.settlePending(ctx); err != nil {
			return 0, err
		}
	}
	opts := listOpts{ListOpts: stackevents.ListOpts{Marker: em.state.Last, Limit: 100, SortDir: stackevents.SortAsc}, NestedDepth: em.NestedDepth}
	posted := 0
	err := stackevents.List(em.Heat, em.stackName, em.stackID, opts).EachPage(ctx, func(ctx context.Context, p pagination.Page) (bool, error) {
		var page struct {
			Events []apiEvent `json:"events"`
		}
		if err := p.(stackevents.EventPage).ExtractInto(&page); err != nil {
			return false, err
		}
		for _, e := range page.Events {
			if em.All || sentByHeat(e) {
				if err := em.post(ctx, e); err != nil {
					return false, err
				}
				posted++
			} else {
				em.Log.Debug("not sent by Heat's sink either; skipped", "event", e.ID, "reason", e.ResourceStatusReason)
			}
			em.state.Last = e.ID
			if err := em.save(); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	return posted, err
}

// post fetches the event's details and posts it as Heat would.
func (em *Emitter) post(ctx context.Context, e apiEvent) error {
	self := e.link("self")
	if self == "" {
		return fmt.Errorf("event %s has no self link", e.ID)
	}
	var detail struct {
		Event apiEvent `json:"event"`
	}
	if _, err := em.Heat.Get(ctx, self, &detail, nil); err != nil {
		return fmt.Errorf("event %s: %w", e.ID, err)
	}
	ev, err := convert(detail.Event)
	if err != nil {
		return err
	}
	em.state.Pending = e.ID
	if err := em.save(); err != nil {
		return err
	}
	ttl := em.TTL
	if ttl == 0 {
		ttl = heatsink.DefaultTTL
	}
	if err := zaqarapi.PostMessages(ctx, em.Zaqar, em.Queue, zaqarapi.NewMessage{TTL: ttl, Body: ev}).Err; err != nil {
		return fmt.Errorf("post event %s to %s: %w", e.ID, em.Queue, err)
	}
	em.state.Pending = ""
	em.Log.Debug("posted", "event", e.ID, "resource", ev.Payload.ResourceName, "state", ev.Payload.ResourceAction+"_"+ev.Payload.ResourceStatus)
	return nil
}

// settlePending decides whether the event recorded as pending was posted
// before a crash, by looking for it in the queue; if not, the normal
// listing posts it again (Last is still the event before it).
func (em *Emitter) settlePending(ctx context.Context) error {
	found := false
	// Raw bodies: a message that is not an event (not even a JSON object)
	// is skipped, not an error.
	err := zaqarapi.ListMessages(em.Zaqar, em.Queue, messages.ListOpts{Echo: true, IncludeClaimed: true, Limit: 20}).EachPage(ctx,
		func(ctx context.Context, p pagination.Page) (bool, error) {
			ms, err := zaqarapi.ExtractMessages(p)
			if err != nil {
				return false, err
			}
			for _, m := range ms {
				var body struct {
					ID string `json:"id"`
				}
				if json.Unmarshal(m.Body, &body) == nil && body.ID == em.state.Pending {
					found = true
					return false, nil
				}
			}
			return true, nil
		})
	if err != nil {
		return fmt.Errorf("looking for event %s in %s: %w", em.state.Pending, em.Queue, err)
	}
	if found {
		em.Log.Info("event posted before a restart; not posting it again", "event", em.state.Pending)
		em.state.Last = em.state.Pending
	}
	em.state.Pending = ""
	return em.save()
}

// convert turns an event of the single-event GET into Heat's sink message.
func convert(e apiEvent) (heatevent.Event, error) {
	action, status, ok := heatevent.SplitStatus(e.ResourceStatus)
	if !ok {
		return heatevent.Event{}, fmt.Errorf("event %s: resource_status %q", e.ID, e.ResourceStatus)
	}
	t, err := time.Parse(time.RFC3339, e.EventTime)
	if err != nil {
		if t, err = time.Parse(gophercloud.RFC3339NoZ, e.EventTime); err != nil {
			return heatevent.Event{}, fmt.Errorf("event %s: event_time %q: %w", e.ID, e.EventTime, err)
		}
	}
	stackID, err := stackOf(e.link("stack"))
	if err != nil {
		return heatevent.Event{}, fmt.Errorf("event %s: %w", e.ID, err)
	}
	props := e.ResourceProperties
	if props == nil {
		props = map[string]any{}
	}
	physical := e.PhysicalResourceID
	if physical != nil && *physical == "" {
		physical = nil
	}
	return heatevent.Event{
		ID:        e.ID,
		Timestamp: t.UTC().Format(heatevent.TimestampFormat),
		Type:      heatevent.EventType,
		Version:   heatevent.EventVersion,
		Payload: heatevent.Payload{
			ResourceName:         e.ResourceName,
			PhysicalResourceID:   physical,
			StackID:              stackID,
			ResourceAction:       action,
			ResourceStatus:       status,
			ResourceStatusReason: e.ResourceStatusReason,
			ResourceType:         e.ResourceType,
			ResourceProperties:   props,
			Version:              heatevent.EventVersion,
		},
	}, nil
}

// stackOf reads the stack id from a stack link,
// .../v1/{project}/stacks/{name}/{id}.
func stackOf(href string) (string, error) {
	u, err := url.Parse(href)
	if err != nil || href == "" {
		return "", fmt.Errorf("stack link %q", href)
	}
	parts := strings.Split(strings.TrimSuffix(u.Path, "/"), "/")
	if len(parts) < 3 || parts[len(parts)-3] != "stacks" {
		return "", fmt.Errorf("stack link %q", href)
	}
	return parts[len(parts)-1], nil
}

// Run calls Once every poll until ctx is done, or, with untilDone, until
// the stack has left *_IN_PROGRESS and its last events are posted.
func (em *Emitter) Run(ctx context.Context, poll time.Duration, untilDone bool) error {
	// Heat may store a stack's last event just after its status changes:
	// stop only after a listing that began after a finished status was
	// seen, twice in a row.
	finished := 0
	for {
		done := false
		if untilDone && em.stackID != "" {
			s, err := stacks.Get(ctx, em.Heat, em.stackName, em.stackID).Extract()
			if err != nil {
				em.Log.Warn("stack status", "stack", em.Stack, "err", err)
			} else {
				done = !strings.HasSuffix(s.Status, "_IN_PROGRESS")
			}
		}
		n, err := em.Once(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// A stack that is not there (a typo, or deleted) will not
			// come back: retrying a 404 forever only hides the mistake.
			if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
				return fmt.Errorf("%w (Heat answered 404: no such stack, or it was deleted)", err)
			}
			em.Log.Warn("emit failed; retrying", "stack", em.Stack, "queue", em.Queue, "err", err)
		} else if n > 0 {
			em.Log.Info("posted events", "stack", em.Stack, "queue", em.Queue, "count", n)
		}
		if done && err == nil {
			finished++
		} else {
			finished = 0
		}
		if finished == 2 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}
