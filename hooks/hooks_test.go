package hooks_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/zaqar-go/suite/hooks"
	"github.com/zaqar-go/suite/hooks/internal/hookstest"
	"github.com/zaqar-go/suite/internal/heatevent"
)

func TestParseReasons(t *testing.T) {
	for _, tc := range []struct {
		reason       string
		action, hook string
		paused       bool
		cleared      string
	}{
		{"CREATE paused until Hook pre-create is cleared", "CREATE", "pre-create", true, ""},
		{"CREATE paused until Hook post-create is cleared", "CREATE", "post-create", true, ""},
		{"DELETE paused until Hook pre-delete is cleared", "DELETE", "pre-delete", true, ""},
		{"UPDATE paused until Hook post-update is cleared", "UPDATE", "post-update", true, ""},
		{"Hook pre-create is cleared", "", "", false, "pre-create"},
		{"state changed", "", "", false, ""},
		{"Stack CREATE started", "", "", false, ""},
		{"Failure occurred while waiting.", "", "", false, ""},
		{"CREATE paused until Hook pre-create is cleared!", "", "", false, ""},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			a, h, ok := hooks.ParsePaused(tc.reason)
			if a != tc.action || h != tc.hook || ok != tc.paused {
				t.Errorf("ParsePaused = %q, %q, %v; want %q, %q, %v", a, h, ok, tc.action, tc.hook, tc.paused)
			}
			c, ok := hooks.ParseCleared(tc.reason)
			if c != tc.cleared || ok != (tc.cleared != "") {
				t.Errorf("ParseCleared = %q, %v; want %q", c, ok, tc.cleared)
			}
		})
	}
}

func TestHookFor(t *testing.T) {
	for status, want := range map[string]string{
		"CREATE_IN_PROGRESS": "pre-create", "UPDATE_IN_PROGRESS": "pre-update", "DELETE_IN_PROGRESS": "pre-delete",
		"ROLLBACK_IN_PROGRESS": "pre-update", "CREATE_COMPLETE": "", "ROLLBACK_COMPLETE": "",
	} {
		if got, ok := hooks.HookFor(status); got != want || ok != (want != "") {
			t.Errorf("HookFor(%s) = %q, %v; want %q", status, got, ok, want)
		}
	}
	for _, h := range []string{"pre-create", "pre-update", "pre-delete", "post-create", "post-update", "post-delete"} {
		if !hooks.Valid(h) {
			t.Errorf("Valid(%s) = false", h)
		}
	}
	if hooks.Valid("pre-bogus") {
		t.Error("Valid(pre-bogus)")
	}
}

var (
	hookDemo   = hooks.Stack{Name: "hook-demo", ID: "a954ebc4-28fa-4f40-9438-c42f8d66b93d"}
	nestedDemo = hooks.Stack{Name: "nested-demo", ID: "73c2895f-d426-455d-bf63-e692e1c030ac"}
	childStack = hooks.Stack{Name: "nested-demo-child-2e7ggwwe4rl4", ID: "1e678c0b-9826-4fbe-95b6-3670884ac0d1"}
	extraDemo  = hooks.Stack{Name: "extra-demo", ID: "deb20983-99eb-48c9-a196-ff8e8dce1b69"}
)

// summary is what a test compares of a Hook.
func summary(hs []hooks.Hook) string {
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%s %s %s %s %s root=%s status=%s", h.Type, h.Action, h.Stack.Name, h.Resource, h.Path, h.Root.Name, h.Status))
	}
	return strings.Join(out, "\n")
}

func TestPendingIn(t *testing.T) {
	trace := hookstest.LoadCapture(t, "testdata", "heat-hook-trace.json")
	nested := hookstest.LoadCapture(t, "testdata", "heat-hook-nested.json")
	upd := hookstest.LoadCapture(t, "testdata", "heat-hook-update-delete.json")
	updEvents := upd.Events(t, "events")
	upTo := func(reason string, nth int) int {
		for i, e := range updEvents {
			if e.ResourceStatusReason == reason {
				if nth--; nth == 0 {
					return i + 1
				}
			}
		}
		t.Fatalf("no event %q", reason)
		return 0
	}
	for _, tc := range []struct {
		name string
		top  hooks.Stack
		got  []hooks.Hook
		want string
	}{
		{"three paused in create, post-create too", hookDemo, hooks.PendingIn(hookDemo, trace.Events(t, "paused: events")),
			"post-create CREATE hook-demo post_res post_res root=hook-demo status=CREATE_COMPLETE\n" +
				"pre-create CREATE hook-demo db_hooked db_hooked root=hook-demo status=INIT_COMPLETE\n" +
				"pre-create CREATE hook-demo app_hooked app_hooked root=hook-demo status=INIT_COMPLETE"},
		{"delete: only events after the last Stack ... started", hookDemo, hooks.PendingIn(hookDemo, trace.Events(t, "delete paused: events")),
			"pre-delete DELETE hook-demo post_res post_res root=hook-demo status=CREATE_COMPLETE"},
		{"nested", nestedDemo, hooks.PendingIn(nestedDemo, nested.Events(t, "paused: events nested_depth=2")),
			"pre-create CREATE nested-demo-child-2e7ggwwe4rl4 inner_a child/inner_a root=nested-demo status=INIT_COMPLETE"},
		{"nested, cleared", nestedDemo, hooks.PendingIn(nestedDemo, nested.Events(t, "final events nested_depth=2")), ""},
		{"pre-update", extraDemo, hooks.PendingIn(extraDemo, updEvents[:upTo("UPDATE paused until Hook pre-update is cleared", 1)]),
			"pre-update UPDATE extra-demo upd upd root=extra-demo status=CREATE_COMPLETE"},
		{"pre-update cleared", extraDemo, hooks.PendingIn(extraDemo, updEvents[:upTo("Hook pre-update is cleared", 1)]), ""},
		{"post-update", extraDemo, hooks.PendingIn(extraDemo, updEvents[:upTo("UPDATE paused until Hook post-update is cleared", 1)]),
			"post-update UPDATE extra-demo upd upd root=extra-demo status=UPDATE_COMPLETE"},
		{"post-delete, refused clear", extraDemo, hooks.PendingIn(extraDemo, updEvents[:upTo("Cannot signal resource during DELETE", 1)]),
			"post-delete DELETE extra-demo gone gone root=extra-demo status=DELETE_COMPLETE"},
		{"post-delete, wait failed at the timeout", extraDemo, hooks.PendingIn(extraDemo, updEvents), ""},
		{"no events", hookDemo, hooks.PendingIn(hookDemo, nil), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := summary(tc.got); got != tc.want {
				t.Errorf("PendingIn:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
	pd := hooks.PendingIn(extraDemo, updEvents[:upTo("Cannot signal resource during DELETE", 1)])
	if len(pd) != 1 || pd[0].Clearable() {
		t.Errorf("post-delete hook %+v: Clearable() should be false", pd)
	}
	nd := hooks.PendingIn(nestedDemo, nested.Events(t, "paused: events nested_depth=2"))
	if nd[0].Stack != childStack || nd[0].EventID != "d52b1b48-8299-4f65-a0df-f7a8e862dd72" || nd[0].EventTime.Format("15:04:05") != "21:14:56" {
		t.Errorf("nested hook %+v", nd[0])
	}
}

// hookDemoHeat is the fake Heat of heat-hook-trace.json while paused.
func hookDemoHeat(t *testing.T, step string) (*hookstest.Heat, *hooks.Heat) {
	t.Helper()
	c := hookstest.LoadCapture(t, "testdata", "heat-hook-trace.json")
	_, list := c.Response(t, "paused: resource list")
	var rs struct {
		Resources []json.RawMessage `json:"resources"`
	}
	if err := json.Unmarshal(list, &rs); err != nil {
		t.Fatal(err)
	}
	f, client := hookstest.NewHeat(t, &hookstest.Stack{Name: hookDemo.Name, ID: hookDemo.ID, Status: "CREATE_IN_PROGRESS",
		Events: c.RawEvents(t, step), Resources: rs.Resources})
	return f, &hooks.Heat{Client: client}
}

// nestedHeat is the fake Heat of heat-hook-nested.json while paused.
func nestedHeat(t *testing.T) (*hookstest.Heat, *hooks.Heat, hookstest.Capture) {
	t.Helper()
	c := hookstest.LoadCapture(t, "testdata", "heat-hook-nested.json")
	child := c.Resource(t, "resource child")
	evs := c.RawEvents(t, "paused: events nested_depth=2")
	top := json.RawMessage(`{"resource_name": "top", "physical_resource_id": "705e9b0c-8275-4245-8455-c6587eb96b0b", "resource_status": "CREATE_COMPLETE", "resource_type": "OS::Heat::None"}`)
	innerA := json.RawMessage(`{"resource_name": "inner_a", "physical_resource_id": "", "resource_status": "INIT_COMPLETE", "resource_type": "OS::Heat::None"}`)
	innerB := json.RawMessage(`{"resource_name": "inner_b", "physical_resource_id": "e90543ba-3c3e-41ef-ac5f-c50b66116fd4", "resource_status": "CREATE_COMPLETE", "resource_type": "OS::Heat::None"}`)
	f, client := hookstest.NewHeat(t,
		&hookstest.Stack{Name: nestedDemo.Name, ID: nestedDemo.ID, Status: "CREATE_IN_PROGRESS", Events: evs, Resources: []json.RawMessage{child, top}},
		&hookstest.Stack{Name: childStack.Name, ID: childStack.ID, Status: "CREATE_IN_PROGRESS", Parent: nestedDemo.ID, Events: evs,
			Resources: []json.RawMessage{innerA, innerB}})
	return f, &hooks.Heat{Client: client, NestedDepth: 2}, c
}

func TestPoll(t *testing.T) {
	f, heat := hookDemoHeat(t, "paused: events")
	for _, name := range []string{"hook-demo", hookDemo.ID, hookDemo.String()} {
		st, hs, err := heat.Poll(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Stack != hookDemo || st.Status != "CREATE_IN_PROGRESS" || len(hs) != 3 {
			t.Errorf("Poll(%s) = %+v, %d hooks", name, st, len(hs))
		}
	}
	f.SetStatus("hook-demo", "CREATE_COMPLETE")
	if _, hs, err := heat.Poll(t.Context(), "hook-demo"); err != nil || len(hs) != 0 {
		t.Errorf("Poll of a complete stack = %d hooks, %v", len(hs), err)
	}
	if _, _, err := heat.Poll(t.Context(), "nosuch"); !errors.Is(err, hooks.ErrNotFound) {
		t.Errorf("Poll(nosuch) = %v, want ErrNotFound", err)
	}
}

func TestPollNested(t *testing.T) {
	_, heat, _ := nestedHeat(t)
	_, hs, err := heat.Poll(t.Context(), "nested-demo")
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(hs); got != "pre-create CREATE nested-demo-child-2e7ggwwe4rl4 inner_a child/inner_a root=nested-demo status=INIT_COMPLETE" {
		t.Errorf("Poll nested: %s", got)
	}
}

// sinkEvent finds the sink message of a hook event.
func sinkEvent(t *testing.T, msgs []struct {
	Body json.RawMessage `json:"body"`
}, resource string) heatevent.Event {
	t.Helper()
	for _, m := range msgs {
		ev, err := heatevent.Decode(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok := hooks.ParsePaused(ev.Payload.ResourceStatusReason); ok && ev.Payload.ResourceName == resource {
			return ev
		}
	}
	t.Fatalf("no hook event of %s", resource)
	return heatevent.Event{}
}

func TestResolveNested(t *testing.T) {
	_, heat, c := nestedHeat(t)
	ev := sinkEvent(t, c.SinkMessages, "inner_a")
	h, err := heat.Resolve(t.Context(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary([]hooks.Hook{h}); got != "pre-create CREATE nested-demo-child-2e7ggwwe4rl4 inner_a child/inner_a root=nested-demo status=INIT_COMPLETE" {
		t.Errorf("Resolve: %s", got)
	}
	if h.Stack != childStack || h.Root != nestedDemo || h.ResourceType != "OS::Heat::None" || h.EventID != ev.ID ||
		h.EventTime.Format(heatevent.TimestampFormat) != ev.Timestamp {
		t.Errorf("Resolve: %+v", h)
	}
	pending, err := heat.Pending(t.Context(), h)
	if err != nil || !pending {
		t.Errorf("Pending = %v, %v; want true", pending, err)
	}
	// Not a hook event.
	other := ev
	other.Payload.ResourceStatusReason = "state changed"
	if _, err := heat.Resolve(t.Context(), other); err == nil {
		t.Error("Resolve of a non-hook event: no error")
	}
}

func TestResolveTopLevel(t *testing.T) {
	_, heat := hookDemoHeat(t, "paused: events")
	msgs := hookstest.LoadCapture(t, "testdata", "heat-hook-messages.json").Messages
	h, err := heat.Resolve(t.Context(), sinkEvent(t, msgs, "app_hooked"))
	if err != nil {
		t.Fatal(err)
	}
	if got := summary([]hooks.Hook{h}); got != "pre-create CREATE hook-demo app_hooked app_hooked root=hook-demo status=INIT_COMPLETE" {
		t.Errorf("Resolve: %s", got)
	}
}

func TestPending(t *testing.T) {
	msgs := hookstest.LoadCapture(t, "testdata", "heat-hook-messages.json").Messages
	for _, tc := range []struct {
		name, step, status, resource string
		want                         bool
	}{
		{"paused", "paused: events", "CREATE_IN_PROGRESS", "app_hooked", true},
		{"post-create paused", "paused: events", "CREATE_IN_PROGRESS", "post_res", true},
		{"cleared since", "delete paused: events", "CREATE_IN_PROGRESS", "app_hooked", false},
		{"stack done", "paused: events", "CREATE_FAILED", "app_hooked", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, heat := hookDemoHeat(t, tc.step)
			f.SetStatus("hook-demo", tc.status)
			h, err := heat.Resolve(t.Context(), sinkEvent(t, msgs, tc.resource))
			if err != nil {
				t.Fatal(err)
			}
			got, err := heat.Pending(t.Context(), h)
			if err != nil || got != tc.want {
				t.Errorf("Pending = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestClear(t *testing.T) {
	trace := hookstest.LoadCapture(t, "testdata", "heat-hook-trace.json")
	nested := hookstest.LoadCapture(t, "testdata", "heat-hook-nested.json")
	upd := hookstest.LoadCapture(t, "testdata", "heat-hook-update-delete.json")
	answer := func(c hookstest.Capture, step string) func(hookstest.Signal) (int, string) {
		status, body := c.Response(t, step)
		return func(hookstest.Signal) (int, string) { return status, string(body) }
	}
	for _, tc := range []struct {
		name    string
		answer  func(hookstest.Signal) (int, string)
		hook    string
		want    hooks.Cleared
		wantErr error
	}{
		{"cleared", answer(trace, "clear pre-create app_hooked"), "pre-create", hooks.ClearedNow, nil},
		{"already cleared", answer(trace, "clear pre-create app_hooked again (already cleared)"), "pre-create", hooks.NotPending, nil},
		{"wrong type", answer(trace, "clear wrong hook type on a paused resource"), "pre-update", hooks.NotPending, nil},
		{"post-delete", answer(upd, "clear post-delete (resource action is DELETE)"), "post-delete", 0, hooks.ErrUnclearable},
		{"resource not in that stack", answer(nested, "clear on the outer stack path (wrong stack)"), "pre-create", 0, hooks.ErrNotFound},
		{"invalid hook name", answer(trace, "clear invalid hook name"), "pre-bogus", 0, errors.New("any")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, heat := hookDemoHeat(t, "paused: events")
			f.Answer = tc.answer
			got, err := heat.Clear(t.Context(), hooks.Hook{Type: tc.hook, Stack: hookDemo, Resource: "app_hooked"})
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Clear: %v", err)
			case tc.wantErr != nil && err == nil:
				t.Fatalf("Clear = %v, want an error", got)
			case tc.wantErr != nil && tc.wantErr.Error() != "any" && !errors.Is(err, tc.wantErr):
				t.Fatalf("Clear: %v, want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Clear = %v, want %v", got, tc.want)
			}
			sg, _ := f.Sent()
			want := hookstest.Signal{Stack: "hook-demo", Resource: "app_hooked", Body: `{"unset_hook":"` + tc.hook + `"}`}
			if len(sg) != 1 || sg[0].Stack != want.Stack || sg[0].Resource != want.Resource || sg[0].Body != want.Body {
				t.Errorf("signals %+v, want %+v", sg, want)
			}
		})
	}
}

func TestClearNestedSignalsTheNestedStack(t *testing.T) {
	f, heat, c := nestedHeat(t)
	h, err := heat.Resolve(t.Context(), sinkEvent(t, c.SinkMessages, "inner_a"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := heat.Clear(t.Context(), h); err != nil || got != hooks.ClearedNow {
		t.Fatalf("Clear = %v, %v", got, err)
	}
	sg, _ := f.Sent()
	if want := (hookstest.Signal{Stack: childStack.Name, Resource: "inner_a", Body: `{"unset_hook":"pre-create"}`, Status: 200}); len(sg) != 1 || sg[0] != want {
		t.Errorf("signals %+v, want %+v", sg, want)
	}
}

func TestFail(t *testing.T) {
	for _, tc := range []struct {
		status   string
		rollback bool
		want     string
		wantErr  error
	}{
		{"CREATE_IN_PROGRESS", false, `hook-demo {"cancel_without_rollback":null}`, nil},
		{"CREATE_IN_PROGRESS", true, `hook-demo {"cancel_without_rollback":null}`, nil},
		{"UPDATE_IN_PROGRESS", false, `hook-demo {"cancel_without_rollback":null}`, nil},
		{"UPDATE_IN_PROGRESS", true, `hook-demo {"cancel_update":null}`, nil},
		{"DELETE_IN_PROGRESS", false, "", hooks.ErrCannotFail},
		{"CREATE_FAILED", false, "", nil},
	} {
		t.Run(fmt.Sprint(tc.status, tc.rollback), func(t *testing.T) {
			f, heat := hookDemoHeat(t, "paused: events")
			f.SetStatus("hook-demo", tc.status)
			err := heat.Fail(t.Context(), hooks.Hook{Type: "pre-create", Stack: hookDemo, Root: hookDemo, Resource: "app_hooked"}, tc.rollback)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Fail: %v, want %v", err, tc.wantErr)
			}
			_, acts := f.Sent()
			if got := strings.Join(acts, ";"); got != tc.want {
				t.Errorf("actions %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	_, heat, _ := nestedHeat(t)
	for _, tc := range []struct {
		path string
		want string
	}{
		{"child/inner_a", "nested-demo-child-2e7ggwwe4rl4 inner_a child/inner_a"},
		{"child/inner_*", "nested-demo-child-2e7ggwwe4rl4 inner_a child/inner_a;nested-demo-child-2e7ggwwe4rl4 inner_b child/inner_b"},
		{"*/inner_a", "nested-demo-child-2e7ggwwe4rl4 inner_a child/inner_a"},
		{"top", "nested-demo top top"},
		{"inner_a", ""},
		{"top/x", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ts, err := heat.Find(t.Context(), "nested-demo", tc.path)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range ts {
				got = append(got, x.Stack.Name+" "+x.Resource+" "+x.Path)
			}
			if strings.Join(got, ";") != tc.want {
				t.Errorf("Find(%s) = %q, want %q", tc.path, strings.Join(got, ";"), tc.want)
			}
		})
	}
}
