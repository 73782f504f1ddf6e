// Package hooks finds Heat resource hooks (breakpoints) that are pending
// and clears them. A hook declared in a stack's environment
//
//	resource_registry:
//	  resources:
//	    my_server: {hooks: [pre-create, pre-update]}
//
// pauses the stack's action at that resource; Heat records an event whose
// reason is "<ACTION> paused until Hook <hook> is cleared" (and sends it to
// the stack's event sinks) and goes on when the resource is signalled with
// {"unset_hook": "<hook>"}.
//
// Hook is what this package knows about one pending hook. Heat finds them:
// Poll reads a stack's events (nested stacks too) as `openstack stack hook
// poll` does, but also reports post-* hooks; Resolve turns a hook event from
// an event-sink queue (which names the stack by id only) into a Hook with
// stack names, root stack and path; Pending tells whether a hook still
// waits; Clear signals it, treating "already cleared" as done; Fail cancels
// the root stack's action.
//
// The subpackages: heatapi has the Heat calls gophercloud lacks, wait the
// waiters that decide when to clear, watch the configured process that
// claims hook events from a Zaqar queue (and polls Heat for stacks without
// a sink) and runs waiters; the hooks command is in cmd/hooks. Everything
// goes over HTTP (gophercloud orchestration/v1 and messaging/v2).
package hooks

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/zaqar-go/suite/internal/heatevent"
)

// Hook types, as Heat names them (heat/engine/environment.py HOOK_TYPES).
const (
	PreCreate  = "pre-create"
	PreUpdate  = "pre-update"
	PreDelete  = "pre-delete"
	PostCreate = "post-create"
	PostUpdate = "post-update"
	PostDelete = "post-delete"
)

// Valid reports whether t is one of Heat's six hook types.
func Valid(t string) bool { return slices.Contains(heatevent.Hooks, t) }

// Stack names a stack the way Heat's resource URLs need it: name and id.
type Stack struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

func (s Stack) String() string { return s.Name + "/" + s.ID }

// Hook is a resource paused at a hook.
type Hook struct {
	Type   string `json:"hook"`   // pre-create, ..., post-delete
	Action string `json:"action"` // the paused action: CREATE, UPDATE or DELETE
	// Stack is the stack the resource belongs to: a nested stack for a
	// resource of a nested stack, which is also where Heat wants the
	// signal.
	Stack Stack `json:"stack"`
	// Root is the top-level stack (Stack itself when not nested).
	Root Stack `json:"root_stack"`
	// Path is the resource's path from Root, nested stack resources
	// first: "child/inner_a" (the form `openstack stack hook clear` takes).
	Path         string `json:"path"`
	Resource     string `json:"resource"`
	ResourceType string `json:"resource_type,omitempty"`
	// Status is the resource's state when it paused, ACTION_STATUS as the
	// events API shows it: INIT_COMPLETE for pre-create.
	Status    string    `json:"resource_status"`
	EventID   string    `json:"event_id"`
	EventTime time.Time `json:"event_time"`
}

func (h Hook) String() string {
	return fmt.Sprintf("%s hook on %s/%s (stack %s)", h.Type, h.Root.Name, h.Path, h.Stack)
}

// Clearable reports whether Heat's API can clear the hook: Heat refuses
// every signal to a resource whose action is DELETE
// (heat/engine/resource.py signal: "Signal resource during DELETE is not
// supported"), and at post-delete the resource is DELETE_COMPLETE, so the
// stack stays DELETE_IN_PROGRESS until its timeout.
func (h Hook) Clearable() bool { return h.Type != PostDelete }

var (
	pausedReason  = regexp.MustCompile(`^([A-Z]+) paused until Hook (\S+) is cleared$`)
	clearedReason = regexp.MustCompile(`^Hook (\S+) is cleared$`)
	startedReason = regexp.MustCompile(`^Stack ([A-Z_]+) started$`)
)

// waitFailed is the reason of the event Heat adds when a wait for a hook is
// interrupted (cancel, timeout); the hook is gone then
// (heat/engine/resource.py _break_if_required).
const waitFailed = "Failure occurred while waiting."

// ParsePaused reads an event reason "<ACTION> paused until Hook <hook> is
// cleared".
func ParsePaused(reason string) (action, hook string, ok bool) {
	m := pausedReason.FindStringSubmatch(reason)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// ParseCleared reads an event reason "Hook <hook> is cleared".
func ParseCleared(reason string) (hook string, ok bool) {
	m := clearedReason.FindStringSubmatch(reason)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// HookFor is the pre-* hook `openstack stack hook poll/clear` assume for a
// stack status: CREATE_IN_PROGRESS -> pre-create, UPDATE -> pre-update,
// DELETE -> pre-delete; and ROLLBACK -> pre-update, which heatclient
// lacks: Heat's rollback updates resources back to the old template and
// stops at their pre-update hooks.
func HookFor(stackStatus string) (string, bool) {
	action, ok := strings.CutSuffix(stackStatus, "_IN_PROGRESS")
	if !ok {
		return "", false
	}
	switch action {
	case "CREATE":
		return PreCreate, true
	case "UPDATE", "ROLLBACK":
		return PreUpdate, true
	case "DELETE":
		return PreDelete, true
	}
	return "", false
}
