package hooks

import (
	"net/url"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stackevents"
)

// PendingIn finds the hooks pending in top's events, listed oldest first
// with nested_depth (GET .../events?sort_dir=asc&nested_depth=N), the way
// python-heatclient's hook poll does (heatclient/common/event_utils.py
// get_hook_events): only events after the top stack's last "Stack <ACTION>
// started" count; "<ACTION> paused until Hook <hook> is cleared" adds a hook
// and "Hook <hook> is cleared" removes it. Unlike heatclient it keeps
// post-* hooks and drops the hooks of a resource whose wait failed ("Failure
// occurred while waiting.", a cancel or timeout), and it gives each hook its
// path from top. Whether the stack is still in progress is the caller's
// question.
func PendingIn(top Stack, events []stackevents.Event) []Hook {
	start := 0
	for i, e := range events {
		if s, ok := stackOf(e); ok && s.ID == top.ID && e.ResourceName == top.Name && startedReason.MatchString(e.ResourceStatusReason) {
			start = i
		}
	}
	type key struct{ stack, resource, hook string }
	pending := map[key]Hook{}
	var order []key
	for _, e := range events[start:] {
		s, ok := stackOf(e)
		if !ok {
			continue
		}
		if action, hook, ok := ParsePaused(e.ResourceStatusReason); ok {
			k := key{s.ID, e.ResourceName, hook}
			if _, dup := pending[k]; !dup {
				order = append(order, k)
			}
			pending[k] = Hook{Type: hook, Action: action, Stack: s, Root: top, Resource: e.ResourceName,
				Status: e.ResourceStatus, EventID: e.ID, EventTime: e.Time}
			continue
		}
		if hook, ok := ParseCleared(e.ResourceStatusReason); ok {
			delete(pending, key{s.ID, e.ResourceName, hook})
			continue
		}
		if e.ResourceStatusReason == waitFailed {
			for k := range pending {
				if k.stack == s.ID && k.resource == e.ResourceName {
					delete(pending, k)
				}
			}
		}
	}
	paths := nestedPaths(top, events)
	var out []Hook
	for _, k := range order {
		h, ok := pending[k]
		if !ok {
			continue
		}
		h.Path = h.Resource
		if p := paths[h.Stack.ID]; p != "" {
			h.Path = p + "/" + h.Resource
		}
		out = append(out, h)
		delete(pending, k) // a key added twice is reported once
	}
	return out
}

// nestedPaths maps each nested stack id seen in events to the path of the
// resource that is it, from top: the parent's resource events carry the
// nested stack's name (while creating) or id as physical_resource_id.
func nestedPaths(top Stack, events []stackevents.Event) map[string]string {
	type owner struct {
		stack    string // id of the stack holding the resource
		resource string
	}
	owners := map[string]owner{} // physical_resource_id -> resource
	stacks := map[string]Stack{} // id -> stack, for every nested stack
	for _, e := range events {
		s, ok := stackOf(e)
		if !ok {
			continue
		}
		if s.ID != top.ID {
			stacks[s.ID] = s
		}
		if e.PhysicalResourceID != "" && e.ResourceName != s.Name {
			owners[e.PhysicalResourceID] = owner{s.ID, e.ResourceName}
		}
	}
	paths := map[string]string{}
	var pathOf func(id string, depth int) string
	pathOf = func(id string, depth int) string {
		if id == top.ID || depth > 64 {
			return ""
		}
		if p, ok := paths[id]; ok {
			return p
		}
		s := stacks[id]
		o, ok := owners[id]
		if !ok {
			o, ok = owners[s.Name]
		}
		p := s.Name // parent unknown: the nested stack's name
		if ok {
			p = o.resource
			if pp := pathOf(o.stack, depth+1); pp != "" {
				p = pp + "/" + p
			}
		}
		paths[id] = p
		return p
	}
	for id := range stacks {
		pathOf(id, 0)
	}
	return paths
}

// stackOf reads an event's stack from its stack link,
// .../stacks/{name}/{id}: the events API has no stack name field.
func stackOf(e stackevents.Event) (Stack, bool) {
	for _, l := range e.Links {
		if l.Rel == "stack" {
			return stackOfURL(l.Href)
		}
	}
	return Stack{}, false
}

func stackOfURL(href string) (Stack, bool) {
	u, err := url.Parse(href)
	if err != nil {
		return Stack{}, false
	}
	parts := strings.Split(strings.TrimSuffix(u.Path, "/"), "/")
	n := len(parts)
	if n < 3 || parts[n-3] != "stacks" {
		return Stack{}, false
	}
	name, err := url.PathUnescape(parts[n-2])
	if err != nil {
		return Stack{}, false
	}
	return Stack{Name: name, ID: parts[n-1]}, true
}
