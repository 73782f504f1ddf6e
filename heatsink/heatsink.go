// Package heatsink holds what Heat's event sinks put into Zaqar: the event
// message (Event) that Heat's zaqar-queue sink posts for every stack and
// resource event, and the constants Heat uses for it.
//
// The subpackages do the work: env reads environment files as Heat does and
// catches what Heat would silently accept, prepare creates the sink queues,
// listen claims events and runs actions, emit copies a stack's events from
// Heat's events API into a queue for clouds whose Heat cannot reach Zaqar
// (internal/cloud builds the gophercloud clients). They talk to Zaqar and Heat over
// HTTP only (gophercloud messaging/v2 and orchestration/v1).
package heatsink

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	// SinkType is the only event sink type Heat ships (setup.cfg,
	// entry point group heat.event_sinks).
	SinkType = "zaqar-queue"
	// DefaultTTL is the message TTL in seconds of a sink without ttl
	// (ZaqarClientPlugin.DEFAULT_TTL).
	DefaultTTL = 3600
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
