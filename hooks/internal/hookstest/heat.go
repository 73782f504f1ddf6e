package hookstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stackevents"
)

// Capture is one of hooks/testdata/heat-hook-*.json: traffic of a real
// Heat 19 (copied from ../shared/reference/heat-captures).
type Capture struct {
	Trace []struct {
		Step string `json:"step"`
		Call *struct {
			Method       string          `json:"method"`
			Path         string          `json:"path"`
			Status       int             `json:"status"`
			RequestBody  json.RawMessage `json:"request_body"`
			ResponseBody json.RawMessage `json:"response_body"`
		} `json:"call"`
		Events   []json.RawMessage `json:"events"`
		Resource json.RawMessage   `json:"resource"`
	} `json:"trace"`
	// SinkMessages (heat-hook-nested.json) and Messages
	// (heat-hook-messages.json) are what Heat's event sink posted.
	SinkMessages []struct {
		Body json.RawMessage `json:"body"`
	} `json:"sink_messages"`
	Messages []struct {
		Body json.RawMessage `json:"body"`
	} `json:"messages"`
}

// LoadCapture reads name from dir, the path from the test's package to
// hooks/testdata.
func LoadCapture(t testing.TB, dir, name string) Capture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	var c Capture
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// RawEvents returns the events list of a trace step.
func (c Capture) RawEvents(t testing.TB, step string) []json.RawMessage {
	t.Helper()
	for _, s := range c.Trace {
		if s.Step == step {
			return s.Events
		}
	}
	t.Fatalf("no step %q", step)
	return nil
}

// Events returns the events list of a trace step, decoded.
func (c Capture) Events(t testing.TB, step string) []stackevents.Event {
	t.Helper()
	var out []stackevents.Event
	for _, raw := range c.RawEvents(t, step) {
		var e stackevents.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// Response returns the status and response body of a trace step's call.
func (c Capture) Response(t testing.TB, step string) (int, json.RawMessage) {
	t.Helper()
	for _, s := range c.Trace {
		if s.Step == step && s.Call != nil {
			return s.Call.Status, s.Call.ResponseBody
		}
	}
	t.Fatalf("no call in step %q", step)
	return 0, nil
}

// Resource returns the resource of a trace step.
func (c Capture) Resource(t testing.TB, step string) json.RawMessage {
	t.Helper()
	for _, s := range c.Trace {
		if s.Step == step && s.Resource != nil {
			return s.Resource
		}
	}
	t.Fatalf("no resource in step %q", step)
	return nil
}

// Stack is a stack the fake Heat knows.
type Stack struct {
	Name, ID, Status, Parent string
	// Events are the events of the stack and its nested stacks, oldest
	// first, as GET .../events?sort_dir=asc&nested_depth=N lists them.
	Events    []json.RawMessage
	Resources []json.RawMessage
}

// Signal is a resource signal the fake Heat got, with its answer.
type Signal struct {
	Stack, Resource, Body string
	Status                int
}

// Heat serves the parts of Heat's orchestration API that hooks uses, from
// captured JSON: stack list and show (with the 302 Heat answers to a bare
// name or id), events, resource events, resources, resource signals and
// cancel actions. Only the JSON matters to hooks, so this is enough; the
// end-to-end test runs against a real Heat. Signals behave as Heat's do:
// a pending hook is cleared (200 null, a "Hook ... is cleared" event), any
// other hook is "not defined" (400 InvalidBreakPointHook), a resource of a
// stack in DELETE refuses signals (400 NotSupported). A cancel marks a
// CREATE or UPDATE in progress FAILED.
type Heat struct {
	t      testing.TB
	mu     sync.Mutex
	stacks []*Stack
	// Answer, when set, answers signals instead.
	Answer  func(s Signal) (int, string)
	signals []Signal
	actions []string
}

// Project is the project id of the fake Heat's URLs (and of the captures).
const Project = "8de275f7b3cc4282abcfede9650f5ae9"

// NewHeat serves stacks until the test ends and returns an orchestration
// client for it.
func NewHeat(t testing.TB, stacks ...*Stack) (*Heat, *gophercloud.ServiceClient) {
	h := &Heat{t: t, stacks: stacks}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, &gophercloud.ServiceClient{
		ProviderClient: &gophercloud.ProviderClient{TokenID: "tok"},
		Endpoint:       srv.URL + "/v1/" + Project + "/",
		Type:           "orchestration",
	}
}

func (h *Heat) find(nameOrID string) *Stack {
	for _, s := range h.stacks {
		if s.Name == nameOrID || s.ID == nameOrID {
			return s
		}
	}
	return nil
}

// SetStatus changes a stack's status.
func (h *Heat) SetStatus(name, status string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.find(name).Status = status
}

// Status returns a stack's status.
func (h *Heat) Status(name string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.find(name).Status
}

// Sent returns the signals and the stack actions received so far.
func (h *Heat) Sent() ([]Signal, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Signal(nil), h.signals...), append([]string(nil), h.actions...)
}

// Cleared returns the signals answered 200.
func (h *Heat) Cleared() []Signal {
	sg, _ := h.Sent()
	var out []Signal
	for _, s := range sg {
		if s.Status == http.StatusOK {
			out = append(out, s)
		}
	}
	return out
}

func heatError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": status, "title": http.StatusText(status), "explanation": "",
		"error": map[string]any{"type": typ, "message": msg, "traceback": nil}})
}

// event is the part of an event the fake reads.
type event struct {
	ID                   string             `json:"id"`
	ResourceName         string             `json:"resource_name"`
	ResourceStatus       string             `json:"resource_status"`
	ResourceStatusReason string             `json:"resource_status_reason"`
	PhysicalResourceID   *string            `json:"physical_resource_id"`
	EventTime            string             `json:"event_time"`
	Links                []gophercloud.Link `json:"links"`
}

func (e event) inStack(id string) bool {
	for _, l := range e.Links {
		if l.Rel == "stack" && strings.HasSuffix(l.Href, "/"+id) {
			return true
		}
	}
	return false
}

func (h *Heat) resourceEvents(s *Stack, resource string) []json.RawMessage {
	var out []json.RawMessage
	for _, raw := range s.Events {
		var e event
		json.Unmarshal(raw, &e)
		if e.ResourceName == resource && e.inStack(s.ID) {
			out = append(out, raw)
		}
	}
	return out
}

var paused = regexp.MustCompile(`^[A-Z]+ paused until Hook (\S+) is cleared$`)

// signal does what Heat does with {"unset_hook": hook}.
func (h *Heat) signal(s *Stack, resource, body string) (int, string) {
	var b struct {
		Hook string `json:"unset_hook"`
	}
	json.Unmarshal([]byte(body), &b)
	evs := h.resourceEvents(s, resource)
	if len(evs) == 0 {
		return 404, fmt.Sprintf(`{"code": 404, "error": {"message": "The Resource (%s) could not be found in Stack %s.", "traceback": null, "type": "ResourceNotFound"}, "explanation": "The resource could not be found.", "title": "Not Found"}`, resource, s.Name)
	}
	if strings.HasPrefix(s.Status, "DELETE") {
		return 400, `{"code": 400, "error": {"message": "Signal resource during DELETE is not supported.", "traceback": null, "type": "NotSupported"}, "explanation": "", "title": "Bad Request"}`
	}
	var last event
	json.Unmarshal(evs[len(evs)-1], &last)
	if m := paused.FindStringSubmatch(last.ResourceStatusReason); m == nil || m[1] != b.Hook {
		return 400, fmt.Sprintf(`{"code": 400, "error": {"message": "The \"%s\" hook is not defined on Resource \"%s\" Stack \"%s\" [%s]", "traceback": null, "type": "InvalidBreakPointHook"}, "explanation": "", "title": "Bad Request"}`, b.Hook, resource, s.Name, s.ID)
	}
	cleared := last
	cleared.ID = uuid.NewString()
	cleared.ResourceStatusReason = "Hook " + b.Hook + " is cleared"
	cleared.EventTime = time.Now().UTC().Format(time.RFC3339)
	raw, _ := json.Marshal(cleared)
	// Every stack holding these events (a parent lists its nested ones).
	for _, st := range h.stacks {
		for _, e := range st.Events {
			if string(e) == string(evs[len(evs)-1]) {
				st.Events = append(st.Events, raw)
				break
			}
		}
	}
	return 200, "null"
}

func (h *Heat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	prefix := "/v1/" + Project + "/stacks"
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), prefix)
	if !ok || r.Header.Get("X-Auth-Token") != "tok" {
		http.Error(w, "bad path or token", http.StatusBadRequest)
		return
	}
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	if rest == "" && r.Method == "GET" {
		var list []map[string]any
		for _, s := range h.stacks {
			if s.Parent == "" {
				list = append(list, map[string]any{"id": s.ID, "stack_name": s.Name, "stack_status": s.Status})
			}
		}
		reply(map[string]any{"stacks": list})
		return
	}
	var parts []string
	for _, p := range strings.Split(strings.TrimPrefix(rest, "/"), "/") {
		p, _ = url.PathUnescape(p)
		parts = append(parts, p)
	}
	s := h.find(parts[0])
	if s == nil {
		heatError(w, 404, "EntityNotFound", fmt.Sprintf("The Stack (%s) could not be found.", parts[0]))
		return
	}
	if len(parts) == 1 { // Heat redirects a bare name or id
		http.Redirect(w, r, prefix+"/"+s.Name+"/"+s.ID, http.StatusFound)
		return
	}
	if parts[0] != s.Name || parts[1] != s.ID {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	switch tail := strings.Join(parts[2:], "/"); {
	case r.Method == "GET" && tail == "":
		var parent any
		if s.Parent != "" {
			parent = s.Parent
		}
		reply(map[string]any{"stack": map[string]any{"id": s.ID, "stack_name": s.Name, "stack_status": s.Status, "parent": parent}})
	case r.Method == "GET" && tail == "events" && q.Get("resource_name") != "":
		evs := []json.RawMessage{}
		if q.Get("marker") == "" && q.Get("sort_dir") == "asc" && q.Get("nested_depth") == "" {
			evs = append(evs, h.resourceEvents(s, q.Get("resource_name"))...)
		}
		reply(map[string]any{"events": evs})
	case r.Method == "GET" && tail == "events":
		evs := s.Events
		if q.Get("marker") != "" || q.Get("sort_dir") != "asc" || q.Get("nested_depth") == "" {
			evs = []json.RawMessage{} // one page, oldest first, nested: all we serve
		}
		reply(map[string]any{"events": evs})
	case r.Method == "GET" && len(parts) == 5 && parts[2] == "resources" && parts[4] == "events":
		// Heat 19 answers an empty page of a resource's events with 404,
		// so gophercloud's marker paging of them always ends in an error.
		if q.Get("marker") != "" || q.Get("sort_dir") != "asc" || len(h.resourceEvents(s, parts[3])) == 0 {
			heatError(w, 404, "HTTPNotFound", "No events found for resource "+parts[3])
			return
		}
		reply(map[string]any{"events": h.resourceEvents(s, parts[3])})
	case r.Method == "GET" && len(parts) == 6 && parts[2] == "resources" && parts[4] == "events":
		for _, raw := range h.resourceEvents(s, parts[3]) {
			var e map[string]any
			json.Unmarshal(raw, &e)
			if e["id"] == parts[5] {
				e["resource_type"] = "OS::Heat::None"
				e["resource_properties"] = map[string]any{}
				reply(map[string]any{"event": e})
				return
			}
		}
		heatError(w, 404, "EntityNotFound", "no such event")
	case r.Method == "GET" && tail == "resources":
		reply(map[string]any{"resources": s.Resources})
	case r.Method == "POST" && len(parts) == 5 && parts[2] == "resources" && parts[4] == "signal":
		body, _ := io.ReadAll(r.Body)
		sg := Signal{Stack: s.Name, Resource: parts[3], Body: string(body)}
		var answer string
		if h.Answer != nil {
			sg.Status, answer = h.Answer(sg)
		} else {
			sg.Status, answer = h.signal(s, parts[3], string(body))
		}
		h.signals = append(h.signals, sg)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(sg.Status)
		io.WriteString(w, answer)
	case r.Method == "POST" && tail == "actions":
		body, _ := io.ReadAll(r.Body)
		h.actions = append(h.actions, s.Name+" "+string(body))
		action, ok := strings.CutSuffix(s.Status, "_IN_PROGRESS")
		if !ok || (action != "CREATE" && action != "UPDATE") {
			heatError(w, 400, "NotSupported", "Cancelling update when stack is "+s.Status+" is not supported.")
			return
		}
		s.Status = action + "_FAILED"
		for _, st := range h.stacks {
			if st.Parent == s.ID && strings.HasSuffix(st.Status, "_IN_PROGRESS") {
				st.Status = strings.TrimSuffix(st.Status, "_IN_PROGRESS") + "_FAILED"
			}
		}
	default:
		h.t.Errorf("fake Heat: unexpected %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}
