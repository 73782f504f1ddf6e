package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/zaqar-go/suite/hooks"
	"github.com/zaqar-go/suite/hooks/internal/hookstest"
)

func TestMain(m *testing.M) { hookstest.Main(m) }

// nestedDemo serves heat-hook-nested.json's stacks while inner_a waits.
func nestedDemo(t *testing.T) (*hookstest.Heat, *hooks.Heat) {
	c := hookstest.LoadCapture(t, "../../testdata", "heat-hook-nested.json")
	evs := c.RawEvents(t, "paused: events nested_depth=2")
	top := json.RawMessage(`{"resource_name": "top", "physical_resource_id": "705e9b0c-8275-4245-8455-c6587eb96b0b"}`)
	innerA := json.RawMessage(`{"resource_name": "inner_a", "physical_resource_id": ""}`)
	innerB := json.RawMessage(`{"resource_name": "inner_b", "physical_resource_id": "e90543ba-3c3e-41ef-ac5f-c50b66116fd4"}`)
	fake, client := hookstest.NewHeat(t,
		&hookstest.Stack{Name: "nested-demo", ID: "73c2895f-d426-455d-bf63-e692e1c030ac", Status: "CREATE_IN_PROGRESS", Events: evs,
			Resources: []json.RawMessage{c.Resource(t, "resource child"), top}},
		&hookstest.Stack{Name: "nested-demo-child-2e7ggwwe4rl4", ID: "1e678c0b-9826-4fbe-95b6-3670884ac0d1", Status: "CREATE_IN_PROGRESS",
			Parent: "73c2895f-d426-455d-bf63-e692e1c030ac", Events: evs, Resources: []json.RawMessage{innerA, innerB}})
	return fake, &hooks.Heat{Client: client}
}

func TestPoll(t *testing.T) {
	_, heat := nestedDemo(t)
	var out, errs bytes.Buffer
	if err := poll(t.Context(), heat, "nested-demo", false, &out, &errs); err != nil {
		t.Fatal(err)
	}
	want := `Resource Name  Path           Hook        ID                                    Resource Status  Event Time            Stack Name
inner_a        child/inner_a  pre-create  d52b1b48-8299-4f65-a0df-f7a8e862dd72  INIT_COMPLETE    2026-11-24T21:14:56Z  nested-demo-child-2e7ggwwe4rl4
`
	if out.String() != want {
		t.Errorf("poll printed\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	if err := poll(t.Context(), heat, "nested-demo", true, &out, &errs); err != nil {
		t.Fatal(err)
	}
	var h hooks.Hook
	if err := json.Unmarshal(out.Bytes(), &h); err != nil || h.Path != "child/inner_a" || h.Root.Name != "nested-demo" {
		t.Errorf("poll --json: %s, %v", out.String(), err)
	}
}

func TestClear(t *testing.T) {
	fake, heat := nestedDemo(t)
	var out bytes.Buffer
	// The hook type from the stack's status, as openstack stack hook clear.
	if err := clearCmd(t.Context(), heat, "nested-demo", "child/inner_*", "", &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "child/inner_a: pre-create cleared\nchild/inner_b: pre-create not pending (already cleared, or never set)\n" {
		t.Errorf("clear printed %q", got)
	}
	if sg := fake.Cleared(); len(sg) != 1 || sg[0].Stack != "nested-demo-child-2e7ggwwe4rl4" || sg[0].Resource != "inner_a" {
		t.Errorf("cleared %+v", sg)
	}
	for _, tc := range []struct{ path, hook, want string }{
		{"nosuch", "pre-create", "no resource of nested-demo matches nosuch"},
		{"top", "pre-bogus", `"pre-bogus" is not a hook type`},
	} {
		if err := clearCmd(t.Context(), heat, "nested-demo", tc.path, tc.hook, &out); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("clear %s %s: %v, want %q", tc.path, tc.hook, err, tc.want)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage:"},
		{[]string{"help"}, 0, "hooks poll STACK"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"poll"}, 2, "poll takes one STACK"},
		{[]string{"poll", "a", "--json", "b"}, 2, "poll takes one STACK"},
		{[]string{"clear", "a"}, 2, "clear takes STACK PATH [HOOK]"},
		{[]string{"validate", "--config", "/nonexistent/hooks.yml"}, 1, "no such file"},
	} {
		var out, errs bytes.Buffer
		code := run(t.Context(), tc.args, &out, &errs)
		if code != tc.code || !strings.Contains(out.String()+errs.String(), tc.want) {
			t.Errorf("hooks %v = %d, %q; want %d, %q", tc.args, code, out.String()+errs.String(), tc.code, tc.want)
		}
	}
}

// Each subcommand's -h says what it does, with an example, and exits 0.
func TestSubcommandHelp(t *testing.T) {
	for _, name := range []string{"run", "validate", "poll", "list", "clear", "approve"} {
		var out, errs bytes.Buffer
		code := run(t.Context(), []string{name, "-h"}, &out, &errs)
		text := errs.String()
		if code != 0 || !strings.Contains(text, "\nExample:\n  hooks ") || !strings.Contains(text, "Flags:") {
			t.Errorf("hooks %s -h = %d:\n%s", name, code, text)
		}
	}
	var out, errs bytes.Buffer
	if code := run(t.Context(), []string{"run", "--log-format", "xml"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "want text or json") {
		t.Errorf("--log-format xml = %d, %q", code, errs.String())
	}
}
