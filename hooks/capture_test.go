package hooks_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stackevents"
)

// capture is one of testdata/heat-hook-*.json: traffic of a real Heat 19
// (copied from ../shared/reference/heat-captures).
type capture struct {
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
	SinkMessages []struct {
		Body json.RawMessage `json:"body"`
	} `json:"sink_messages"`
	Messages []struct {
		Body json.RawMessage `json:"body"`
	} `json:"messages"`
}

func loadCapture(t *testing.T, name string) capture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var c capture
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// rawEvents returns the events list of the trace step.
func (c capture) rawEvents(t *testing.T, step string) []json.RawMessage {
	t.Helper()
	for _, s := range c.Trace {
		if s.Step == step {
			return s.Events
		}
	}
	t.Fatalf("no step %q", step)
	return nil
}

func (c capture) events(t *testing.T, step string) []stackevents.Event {
	t.Helper()
	var out []stackevents.Event
	for _, raw := range c.rawEvents(t, step) {
		var e stackevents.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// response returns the response body of the trace step's call.
func (c capture) response(t *testing.T, step string) (int, json.RawMessage) {
	t.Helper()
	for _, s := range c.Trace {
		if s.Step == step && s.Call != nil {
			return s.Call.Status, s.Call.ResponseBody
		}
	}
	t.Fatalf("no call in step %q", step)
	return 0, nil
}

// fakeStack is a stack the fake Heat knows.
type fakeStack struct {
	Name, ID, Status, Parent string
	Events                   []json.RawMessage // oldest first, nested ones too
	Resources                []json.RawMessage
}

type signal struct {
	Stack, Resource, Body string
}

// fakeHeat serves the parts of Heat's API the hooks package uses from
// captured JSON: stack show (with the 302 Heat answers for a bare name or
// id), events (with nested_depth: all events given), resource events,
// resources, resource signals and stack actions.
type fakeHeat struct {
	t      *testing.T
	mu     sync.Mutex
	stacks []*fakeStack
	// Signal answers a signal; nil answers 200 null.
	Signal  func(s signal) (int, string)
	signals []signal
	actions []string
}

const project = "8de275f7b3cc4282abcfede9650f5ae9"

func newFakeHeat(t *testing.T, stacks ...*fakeStack) (*fakeHeat, *gophercloud.ServiceClient) {
	f := &fakeHeat{t: t, stacks: stacks}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, &gophercloud.ServiceClient{
		ProviderClient: &gophercloud.ProviderClient{TokenID: "tok"},
		Endpoint:       srv.URL + "/v1/" + project + "/",
		Type:           "orchestration",
	}
}

func (f *fakeHeat) find(nameOrID string) *fakeStack {
	for _, s := range f.stacks {
		if s.Name == nameOrID || s.ID == nameOrID {
			return s
		}
	}
	return nil
}

func (f *fakeHeat) setStatus(name, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.find(name).Status = status
}

func heatError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": status, "title": http.StatusText(status), "explanation": "",
		"error": map[string]any{"type": typ, "message": msg, "traceback": nil}})
}

func (f *fakeHeat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	prefix := "/v1/" + project + "/stacks/"
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), prefix)
	if !ok || r.Header.Get("X-Auth-Token") != "tok" {
		http.Error(w, "bad path or token", http.StatusBadRequest)
		return
	}
	var parts []string
	for _, p := range strings.Split(rest, "/") {
		p, _ = url.PathUnescape(p)
		parts = append(parts, p)
	}
	s := f.find(parts[0])
	if s == nil {
		heatError(w, 404, "EntityNotFound", fmt.Sprintf("The Stack (%s) could not be found.", parts[0]))
		return
	}
	if len(parts) == 1 { // Heat redirects a bare name or id
		http.Redirect(w, r, prefix+s.Name+"/"+s.ID, http.StatusFound)
		return
	}
	if parts[0] != s.Name || parts[1] != s.ID {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	switch tail := strings.Join(parts[2:], "/"); {
	case r.Method == "GET" && tail == "":
		var parent any
		if s.Parent != "" {
			parent = s.Parent
		}
		reply(map[string]any{"stack": map[string]any{"id": s.ID, "stack_name": s.Name, "stack_status": s.Status, "parent": parent}})
	case r.Method == "GET" && tail == "events":
		evs := s.Events
		if q.Get("marker") != "" || q.Get("sort_dir") != "asc" || q.Get("nested_depth") == "" {
			evs = nil // one page, oldest first, nested: all we serve
		}
		reply(map[string]any{"events": evs})
	case r.Method == "GET" && len(parts) == 5 && parts[2] == "resources" && parts[4] == "events":
		var evs []json.RawMessage
		if q.Get("marker") == "" && q.Get("sort_dir") == "asc" {
			for _, raw := range s.Events {
				var e struct {
					ResourceName string             `json:"resource_name"`
					Links        []gophercloud.Link `json:"links"`
				}
				json.Unmarshal(raw, &e)
				if e.ResourceName == parts[3] && strings.Contains(linkOf(e.Links, "stack"), "/"+s.ID) {
					evs = append(evs, raw)
				}
			}
		}
		reply(map[string]any{"events": evs})
	case r.Method == "GET" && tail == "resources":
		reply(map[string]any{"resources": s.Resources})
	case r.Method == "POST" && len(parts) == 5 && parts[2] == "resources" && parts[4] == "signal":
		body, _ := io.ReadAll(r.Body)
		sg := signal{s.Name, parts[3], string(body)}
		f.signals = append(f.signals, sg)
		status, answer := 200, "null"
		if f.Signal != nil {
			status, answer = f.Signal(sg)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	case r.Method == "POST" && tail == "actions":
		body, _ := io.ReadAll(r.Body)
		f.actions = append(f.actions, s.Name+" "+string(body))
	default:
		f.t.Errorf("fake Heat: unexpected %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

func linkOf(links []gophercloud.Link, rel string) string {
	for _, l := range links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

func (f *fakeHeat) sent() ([]signal, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]signal(nil), f.signals...), append([]string(nil), f.actions...)
}
