package main

// End-to-end tests of issue #20's defects against the real Heat, set up as
// TestHeatHooks (HOOKS_HEAT_ENV; scripts/test runs them in its "hooks
// against the real Heat" step, after the others).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
)

// writeConfig writes a hooks.yml for queue with the given rules.
func writeConfig(t *testing.T, queue, rules string) string {
	t.Helper()
	config := filepath.Join(t.TempDir(), "hooks.yml")
	err := os.WriteFile(config, []byte(fmt.Sprintf("queue: %s\nworkers: 2\nclaim: {poll: 500ms}\nrecheck: 2s\nrules:\n%s", queue, rules)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	hooksCmd(t, "validate", "--config", config)
	return config
}

func sinkEnv(queue, hooks string) string {
	return fmt.Sprintf("resource_registry:\n  resources:\n%sevent_sinks:\n  - {type: zaqar-queue, target: %s}\n", hooks, queue)
}

// An approval posted before the pause and naming none (left from an earlier
// run, or a double click) does not approve it; `hooks approve --stack`
// names the pause and does. Once, the stale message cleared the hook
// seconds after the pause.
func TestHeatHooksStaleApproval(t *testing.T) {
	e := startE2E(t)
	sfx := uuid.NewString()[:6]
	queue, stack := "hooks-"+sfx, "stale"+sfx
	config := writeConfig(t, queue, "  - name: approval\n    approval: {queue: \"approve-{stack}\", interval: 500ms}\n    timeout: 10m\n")
	hooksCmd(t, "approve", "approve-"+stack, "--reason", "left from an earlier run")
	r := e.startRunner(t, config)
	e.sc.create(stack, appTemplate, sinkEnv(queue, "    app: {hooks: pre-create}\n"), nil)
	t.Cleanup(func() { e.deleteStacks(t) })

	// The runner refuses the stale message; until then nothing may
	// have settled the hook.
	r.waitLog(t, `msg="approval message refused".*why="posted before the pause`, func() string {
		if o := e.outcomes(t, queue+"-ledger")[stack]; len(o) > 0 {
			return fmt.Sprintf("the hook was settled: %+v", o)
		}
		return ""
	})
	if status, _ := e.sc.status(stack); status != "CREATE_IN_PROGRESS" {
		t.Fatalf("stack %s after a stale approval", status)
	}
	if out := hooksCmd(t, "poll", stack); !strings.Contains(out, "pre-create") {
		t.Fatalf("hook not pending after a stale approval:\n%s", out)
	}
	out := hooksCmd(t, "approve", "approve-"+stack, "--stack", stack, "--resource", "app")
	if !strings.Contains(out, `"event_id":"`) || !strings.Contains(out, `"paused_at":"`) {
		t.Errorf("hooks approve --stack does not name the pause: %s", out)
	}
	e.sc.waitFor(stack, "CREATE_COMPLETE")
	if o := e.outcomes(t, queue+"-ledger")[stack]; len(o) != 1 || o[0].Decision != "approved" || o[0].Action != "cleared" {
		t.Errorf("ledger: %+v, want one approved cleared", o)
	}
	if c := e.sc.cleared(stack); c["app"] != 1 {
		t.Errorf("hook cleared events %v, want app once", c)
	}
}

// A stopped `hooks run` hands its claimed hook events back at once: once
// it kept the claim, and the next runner waited for the claim TTL.
func TestHeatHooksHandOver(t *testing.T) {
	e := startE2E(t)
	sfx := uuid.NewString()[:6]
	queue, stack := "hooks-"+sfx, "handover"+sfx
	config := writeConfig(t, queue, "  - name: approval\n    approval: {queue: \"approve-{stack}\", interval: 500ms}\n    timeout: 10m\n")
	first := e.startRunner(t, config)
	e.sc.create(stack, appTemplate, sinkEnv(queue, "    app: {hooks: pre-create}\n"), nil)
	t.Cleanup(func() { e.deleteStacks(t) })
	first.waitLog(t, `msg=waiting event=`, nil)

	first.stop()
	<-first.exited
	if first.code != 0 {
		t.Errorf("hooks run stopped: exit %d", first.code)
	}
	if strings.Contains(first.log.String(), "action failed") {
		t.Errorf("a stop is logged as a failure:\n%s", first.log.String())
	}
	var stats struct {
		Messages struct {
			Free    int `json:"free"`
			Claimed int `json:"claimed"`
		} `json:"messages"`
	}
	_, err := e.zaqar.Get(t.Context(), e.zaqar.ServiceURL("v2", "queues", queue, "stats"), &stats, &gophercloud.RequestOpts{OkCodes: []int{200}})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages.Claimed != 0 || stats.Messages.Free == 0 {
		t.Errorf("after the stop the queue has %d claimed, %d free messages; want the hook event free", stats.Messages.Claimed, stats.Messages.Free)
	}

	second := e.startRunner(t, config)
	second.waitLog(t, `msg=waiting event=`, nil)
	hooksCmd(t, "approve", "approve-"+stack, "--stack", stack)
	e.sc.waitFor(stack, "CREATE_COMPLETE")
	if o := e.outcomes(t, queue+"-ledger")[stack]; len(o) != 1 || o[0].Action != "cleared" {
		t.Errorf("ledger: %+v, want one cleared", o)
	}
}
