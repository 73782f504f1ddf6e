package hooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stackevents"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stackresources"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stacks"

	"github.com/zaqar-go/suite/hooks/heatapi"
	"github.com/zaqar-go/suite/internal/heatevent"
	"github.com/zaqar-go/suite/internal/match"
)

// DefaultNestedDepth is how deep Poll looks into nested stacks by default:
// Heat's own limit (max_nested_stack_depth).
const DefaultNestedDepth = 5

// Heat finds and clears hooks through Heat's orchestration API.
type Heat struct {
	Client *gophercloud.ServiceClient // orchestration v1
	// NestedDepth bounds Poll's look into nested stacks;
	// DefaultNestedDepth when 0, none when negative.
	NestedDepth int
}

var (
	// ErrNotFound: the stack or resource is gone.
	ErrNotFound = errors.New("not found")
	// ErrUnclearable: Heat refuses signals to a resource in DELETE, so a
	// post-delete hook cannot be cleared; the stack stays
	// DELETE_IN_PROGRESS until its timeout.
	ErrUnclearable = errors.New("Heat cannot clear this hook: signals during DELETE are not supported")
	// ErrCannotFail: Heat cancels only CREATE and UPDATE.
	ErrCannotFail = errors.New("Heat cancels only a stack's CREATE or UPDATE")
)

// StackInfo is what Heat says about a stack.
type StackInfo struct {
	Stack
	Status string // ACTION_STATUS, e.g. CREATE_IN_PROGRESS
	Parent string // parent stack id; empty for a top-level stack
}

// InProgress reports whether the stack's action is running.
func (s StackInfo) InProgress() bool { return strings.HasSuffix(s.Status, "_IN_PROGRESS") }

// GetStack looks a stack up by name, id or name/id. A nested stack can be
// found by its id (Heat redirects GET /stacks/{id} to /stacks/{name}/{id}).
func (h *Heat) GetStack(ctx context.Context, identity string) (StackInfo, error) {
	var got struct {
		Stack struct {
			ID     string  `json:"id"`
			Name   string  `json:"stack_name"`
			Status string  `json:"stack_status"`
			Parent *string `json:"parent"`
		} `json:"stack"`
	}
	if err := stacks.Find(ctx, h.Client, identity).ExtractInto(&got); err != nil {
		if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			return StackInfo{}, fmt.Errorf("stack %s: %w", identity, ErrNotFound)
		}
		return StackInfo{}, fmt.Errorf("stack %s: %w", identity, err)
	}
	s := got.Stack
	info := StackInfo{Stack: Stack{Name: s.Name, ID: s.ID}, Status: s.Status}
	if s.Parent != nil {
		info.Parent = *s.Parent
	}
	return info, nil
}

func (h *Heat) nestedDepth() int {
	switch {
	case h.NestedDepth < 0:
		return 0
	case h.NestedDepth > 0:
		return h.NestedDepth
	}
	return DefaultNestedDepth
}

// Poll returns the hooks pending in a stack (name, id or name/id) and its
// nested stacks, and the stack's state; nothing is pending in a stack that
// is not in progress.
func (h *Heat) Poll(ctx context.Context, stack string) (StackInfo, []Hook, error) {
	st, err := h.GetStack(ctx, stack)
	if err != nil || !st.InProgress() {
		return st, nil, err
	}
	opts := heatapi.EventListOpts{ListOpts: stackevents.ListOpts{SortDir: stackevents.SortAsc}, NestedDepth: h.nestedDepth()}
	pages, err := stackevents.List(h.Client, st.Name, st.ID, opts).AllPages(ctx)
	if err != nil {
		return st, nil, fmt.Errorf("events of %s: %w", st.Stack, err)
	}
	events, err := stackevents.ExtractEvents(pages)
	if err != nil {
		return st, nil, fmt.Errorf("events of %s: %w", st.Stack, err)
	}
	return st, PendingIn(st.Stack, events), nil
}

// Resolve turns a hook event from an event sink (or from Heat's events
// API in the sink's format) into a Hook: Heat's sink messages name the stack
// by id only, so Resolve asks Heat for the stack's name and walks up to the
// root stack for the path. It fails for events that are not hook events.
func (h *Heat) Resolve(ctx context.Context, ev heatevent.Event) (Hook, error) {
	p := ev.Payload
	action, typ, ok := ParsePaused(p.ResourceStatusReason)
	if !ok {
		return Hook{}, fmt.Errorf("event %s is not a hook event: %q", ev.ID, p.ResourceStatusReason)
	}
	t, err := ev.Time()
	if err != nil {
		t, err = time.Parse(time.RFC3339, ev.Timestamp)
	}
	if err != nil {
		return Hook{}, fmt.Errorf("event %s: timestamp %q", ev.ID, ev.Timestamp)
	}
	hk := Hook{Type: typ, Action: action, Resource: p.ResourceName, ResourceType: p.ResourceType,
		Status: p.ResourceAction + "_" + p.ResourceStatus, EventID: ev.ID, EventTime: t.UTC()}
	st, err := h.GetStack(ctx, p.StackID)
	if err != nil {
		return hk, err
	}
	hk.Stack = st.Stack
	path := []string{p.ResourceName}
	cur := st
	for depth := 0; cur.Parent != "" && depth < 64; depth++ {
		parent, err := h.GetStack(ctx, cur.Parent)
		if err != nil {
			return hk, err
		}
		name, err := h.ownerOf(ctx, parent.Stack, cur.ID)
		if err != nil {
			return hk, err
		}
		if name == "" {
			name = cur.Name
		}
		path = append([]string{name}, path...)
		cur = parent
	}
	hk.Root, hk.Path = cur.Stack, strings.Join(path, "/")
	return hk, nil
}

// ownerOf finds the resource of parent that is the nested stack id.
func (h *Heat) ownerOf(ctx context.Context, parent Stack, id string) (string, error) {
	pages, err := stackresources.List(h.Client, parent.Name, parent.ID, nil).AllPages(ctx)
	if err != nil {
		return "", fmt.Errorf("resources of %s: %w", parent, err)
	}
	rs, err := stackresources.ExtractResources(pages)
	if err != nil {
		return "", fmt.Errorf("resources of %s: %w", parent, err)
	}
	for _, r := range rs {
		if r.PhysicalID == id {
			return r.Name, nil
		}
	}
	return "", nil
}

// Heat stores these with the resource's events without a state change
// (heat/engine/resource.py signal).
var cannotSignal = regexp.MustCompile(`^Cannot signal resource during `)

// Pending reports whether hk still waits: its stack is in progress and its
// event is the resource's latest (a clear, a failed wait or the resumed
// action all add events after it). A stack or resource that is gone is not
// pending.
func (h *Heat) Pending(ctx context.Context, hk Hook) (bool, error) {
	st, err := h.GetStack(ctx, hk.Stack.String())
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !st.InProgress() {
		return false, nil
	}
	// The stack's list filtered by resource, not .../resources/{r}/events:
	// Heat answers that one 404 "No events found for resource" when a page
	// is empty, which is how marker paging ends.
	opts := stackevents.ListOpts{ResourceNames: []string{hk.Resource}, SortDir: stackevents.SortAsc}
	pages, err := stackevents.List(h.Client, hk.Stack.Name, hk.Stack.ID, opts).AllPages(ctx)
	if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("events of %s in %s: %w", hk.Resource, hk.Stack, err)
	}
	events, err := stackevents.ExtractEvents(pages)
	if err != nil {
		return false, err
	}
	found := false
	for _, e := range events {
		if e.ResourceName != hk.Resource {
			continue
		}
		switch {
		case e.ID == hk.EventID:
			found = true
		case found && !cannotSignal.MatchString(e.ResourceStatusReason):
			return false, nil
		}
	}
	return found, nil
}

// Cleared says what Clear did.
type Cleared int

const (
	// ClearedNow: Heat accepted the signal (200).
	ClearedNow Cleared = iota + 1
	// NotPending: Heat says the hook is not defined on the resource, which
	// is what it answers when the hook was already cleared (400
	// InvalidBreakPointHook). Clearing is idempotent: not an error.
	NotPending
)

func (c Cleared) String() string {
	switch c {
	case ClearedNow:
		return "cleared"
	case NotPending:
		return "not pending (already cleared)"
	}
	return "?"
}

// Clear signals the resource to clear the hook, on the resource's own
// (possibly nested) stack. An already cleared hook is NotPending, not an
// error; a post-delete hook gives ErrUnclearable, a vanished resource
// ErrNotFound.
func (h *Heat) Clear(ctx context.Context, hk Hook) (Cleared, error) {
	return h.ClearResource(ctx, hk.Stack, hk.Resource, hk.Type)
}

// ClearResource is Clear by stack, resource name and hook type.
func (h *Heat) ClearResource(ctx context.Context, st Stack, resource, hook string) (Cleared, error) {
	err := heatapi.Signal(ctx, h.Client, st.Name, st.ID, resource, heatapi.UnsetHookOpts{Hook: hook}).ExtractErr()
	if err == nil {
		return ClearedNow, nil
	}
	f, ok := heatapi.FaultOf(err)
	switch {
	case !ok:
		return 0, fmt.Errorf("clear %s on %s in %s: %w", hook, resource, st, err)
	case f.Type == heatapi.InvalidBreakPointHook && strings.Contains(f.Message, "is not defined"):
		return NotPending, nil
	case f.Type == heatapi.NotSupported:
		return 0, fmt.Errorf("clear %s on %s in %s: %w (Heat: %s)", hook, resource, st, ErrUnclearable, f.Message)
	case f.Status == http.StatusNotFound:
		return 0, fmt.Errorf("clear %s on %s in %s: %w (Heat: %s)", hook, resource, st, ErrNotFound, f)
	}
	return 0, fmt.Errorf("clear %s on %s in %s: Heat answered %d %s", hook, resource, st, f.Status, f)
}

// Fail cancels the action of hk's root stack so that it fails now instead
// of at its timeout: without rollback for CREATE or UPDATE (`openstack
// stack cancel --no-rollback`), or, with rollback and an UPDATE, rolled
// back. Heat marks the stack FAILED ("Stack CREATE cancelled") and stops
// its traversal; the paused resource is not created and its hook stays set
// until the stack is deleted or updated. A stack already done is left
// alone. DELETE cannot be cancelled: ErrCannotFail.
func (h *Heat) Fail(ctx context.Context, hk Hook, rollback bool) error {
	root, err := h.GetStack(ctx, hk.Root.String())
	if err != nil {
		return err
	}
	if !root.InProgress() {
		return nil
	}
	action := strings.TrimSuffix(root.Status, "_IN_PROGRESS")
	if action != "CREATE" && action != "UPDATE" {
		return fmt.Errorf("stack %s is %s: %w", root.Stack, root.Status, ErrCannotFail)
	}
	opts := heatapi.CancelOpts{Rollback: rollback && action == "UPDATE"}
	if err := heatapi.Cancel(ctx, h.Client, root.Name, root.ID, opts).ExtractErr(); err != nil {
		if f, ok := heatapi.FaultOf(err); ok {
			return fmt.Errorf("cancel %s: Heat answered %d %s", root.Stack, f.Status, f)
		}
		return fmt.Errorf("cancel %s: %w", root.Stack, err)
	}
	return nil
}

// Target is a resource a path names.
type Target struct {
	Stack    Stack
	Resource string
	Path     string
}

// Find resolves a resource path in stack as `openstack stack hook clear`
// does: it splits the path on "/", each leading part is a glob over the
// resource names of the current stack whose matching resources are nested
// stacks to descend into, and the last part is a glob over resource names.
// Globs are Python's fnmatch, as in Heat's hook registry.
func (h *Heat) Find(ctx context.Context, stack, path string) ([]Target, error) {
	st, err := h.GetStack(ctx, stack)
	if err != nil {
		return nil, err
	}
	return h.find(ctx, st.Stack, "", strings.Split(path, "/"))
}

func (h *Heat) find(ctx context.Context, st Stack, prefix string, parts []string) ([]Target, error) {
	re, err := match.Glob(parts[0])
	if err != nil {
		return nil, err
	}
	pages, err := stackresources.List(h.Client, st.Name, st.ID, nil).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("resources of %s: %w", st, err)
	}
	rs, err := stackresources.ExtractResources(pages)
	if err != nil {
		return nil, fmt.Errorf("resources of %s: %w", st, err)
	}
	var out []Target
	for _, r := range rs {
		if !re.MatchString(r.Name) {
			continue
		}
		if len(parts) == 1 {
			out = append(out, Target{Stack: st, Resource: r.Name, Path: prefix + r.Name})
			continue
		}
		if r.PhysicalID == "" {
			continue
		}
		nested, err := h.GetStack(ctx, r.PhysicalID)
		if errors.Is(err, ErrNotFound) {
			continue // not a nested stack
		}
		if err != nil {
			return nil, err
		}
		more, err := h.find(ctx, nested.Stack, prefix+r.Name+"/", parts[1:])
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}
