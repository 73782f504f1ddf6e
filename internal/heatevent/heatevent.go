// Package heatevent holds Heat's event message: the body (Event) that Heat's
// zaqar-queue event sink posts for every stack and resource event, the
// action and status names it carries, and the hook (breakpoint) names.
// heatsink reads these events and writes them (emit); hooks reads the hook
// events among them and writes them when it polls Heat.
package heatevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	// EventType is the type field of every event message.
	EventType = "os.heat.event"
	// EventVersion is the version of the message and of its payload.
	EventVersion = "0.1"
	// TimestampFormat is Python's isoformat() of Heat's naive UTC
	// created_at: no zone, microseconds (dropped when they are 0).
	TimestampFormat = "2006-01-02T15:04:05.999999"
)

// Actions are the resource_action values Heat's events carry
// (heat/engine/status.py ResourceStatus; stack events add RESTORE,
// heat/engine/stack.py).
var Actions = []string{"INIT", "CREATE", "DELETE", "UPDATE", "ROLLBACK", "SUSPEND", "RESUME", "ADOPT", "SNAPSHOT", "CHECK", "RESTORE"}

// Hooks are Heat's breakpoint names (resource_registry.resources.*.hooks).
var Hooks = []string{"pre-create", "pre-update", "pre-delete", "post-create", "post-update", "post-delete"}

// Event is the message body Heat posts for one event
// (heat/engine/event.py as_dict), byte for byte in meaning.
type Event struct {
	ID        string  `json:"id"`
	Timestamp string  `json:"timestamp"`
	Type      string  `json:"type"`
	Version   string  `json:"version"`
	Payload   Payload `json:"payload"`
}

// Payload describes the event. StackID is the stack the event belongs to:
// the nested stack's own id for events of nested stacks (there is no root
// stack id). Stack-level events have ResourceType OS::Heat::Stack and the
// stack's name as ResourceName.
type Payload struct {
	ResourceName string `json:"resource_name"`
	// PhysicalResourceID is null for a resource still in INIT (pre-create
	// hook events).
	PhysicalResourceID   *string        `json:"physical_resource_id"`
	StackID              string         `json:"stack_id"`
	ResourceAction       string         `json:"resource_action"`
	ResourceStatus       string         `json:"resource_status"`
	ResourceStatusReason string         `json:"resource_status_reason"`
	ResourceType         string         `json:"resource_type"`
	ResourceProperties   map[string]any `json:"resource_properties"`
	Version              string         `json:"version"`
}

// ErrNotEvent is returned by Decode for a message that is not a Heat event.
var ErrNotEvent = errors.New("not a Heat event message")

// Decode reads a message body as a Heat event.
func Decode(body []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrNotEvent, err)
	}
	if e.Type != EventType {
		return Event{}, fmt.Errorf("%w: type %q, want %q", ErrNotEvent, e.Type, EventType)
	}
	if e.ID == "" || e.Payload.ResourceAction == "" || e.Payload.ResourceStatus == "" {
		return Event{}, fmt.Errorf("%w: id, resource_action or resource_status missing", ErrNotEvent)
	}
	return e, nil
}

// Time parses Timestamp (naive UTC).
func (e Event) Time() (time.Time, error) {
	return time.Parse("2006-01-02T15:04:05.999999999", e.Timestamp)
}

// Statuses are the resource_status values, the suffixes of Heat's joined
// ACTION_STATUS strings.
var Statuses = []string{"IN_PROGRESS", "COMPLETE", "FAILED"}

// SplitStatus splits the events API's joined "CREATE_IN_PROGRESS" into
// the message's resource_action and resource_status.
func SplitStatus(s string) (action, status string, ok bool) {
	for _, st := range Statuses {
		if a, found := strings.CutSuffix(s, "_"+st); found && a != "" {
			return a, st, true
		}
	}
	return "", "", false
}
