package main

// End-to-end tests of issue #20's defects against the real Heat, set up as
// TestHeatHooks (HOOKS_HEAT_ENV; scripts/test runs them in its "hooks
// against the real Heat" step, after the others).

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"

	"github.com/zaqar-go/suite/internal/testenv"
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

// on_timeout: rollback sees the rollback through: Heat's rollback pauses
// again at the pre-update hooks it updates back (twice here), and the
// runner clears those (on_rollback: clear, the default). Once it left
// them, and the stack stayed ROLLBACK_IN_PROGRESS until someone cleared
// them by hand. With on_rollback: leave, `hooks clear STACK PATH` without
// a hook name clears them (it named none for ROLLBACK_IN_PROGRESS).
func TestHeatHooksRollback(t *testing.T) {
	e := startE2E(t)
	sfx := uuid.NewString()[:6]
	queue, stack, byHand := "hooks-"+sfx, "rollback"+sfx, "byhand"+sfx
	env := sinkEnv(queue, "    app: {hooks: pre-update}\n")
	for _, name := range []string{stack, byHand} {
		e.sc.createOpts(name, appTemplate, env, nil, map[string]any{"disable_rollback": false})
	}
	t.Cleanup(func() { e.deleteStacks(t) })
	for _, name := range []string{stack, byHand} {
		e.sc.waitFor(name, "CREATE_COMPLETE")
	}

	config := writeConfig(t, queue, fmt.Sprintf(`  - name: by hand
    match: {stack: %s}
    approval: {queue: "approve-{stack}", interval: 500ms}
    timeout: 3s
    on_timeout: rollback
    on_rollback: leave
  - name: approval
    match: {hook: pre-update}
    approval: {queue: "approve-{stack}", interval: 500ms}
    timeout: 3s
    on_timeout: rollback
`, byHand))
	e.startRunner(t, config)
	updated := strings.Replace(appTemplate, `"value": "one"`, `"value": "two"`, 1)
	e.sc.update(stack, updated, env)
	e.sc.update(byHand, updated, env)
	e.sc.waitFor(stack, "ROLLBACK_COMPLETE")
	var summary []string
	for _, o := range e.outcomes(t, queue+"-ledger")[stack] {
		summary = append(summary, o.Decision+" "+o.Action)
	}
	if len(summary) < 2 || summary[0] != "timeout rolled-back" || slices.ContainsFunc(summary[1:], func(s string) bool { return s != "rollback cleared" }) {
		t.Errorf("ledger %v, want the timeout's rollback, then the rollback's pauses cleared", summary)
	}

	// Left: cleared by hand, as often as the rollback pauses.
	cleared := 0
	testenv.Eventually(t, "stack "+byHand+" ROLLBACK_COMPLETE", 2*time.Minute, 500*time.Millisecond, func() bool {
		status, _ := e.sc.status(byHand)
		if status != "ROLLBACK_IN_PROGRESS" {
			if status != "ROLLBACK_COMPLETE" && !strings.HasPrefix(status, "UPDATE_") {
				t.Fatalf("stack %s: %s", byHand, status)
			}
			return status == "ROLLBACK_COMPLETE"
		}
		o := e.outcomes(t, queue+"-ledger")[byHand]
		if len(o) == 0 || o[len(o)-1].Decision+" "+o[len(o)-1].Action != "rollback left" {
			return false
		}
		if out := hooksCmd(t, "poll", byHand); strings.Contains(out, "pre-update") {
			if out := hooksCmd(t, "clear", byHand, "app"); out != "app: pre-update cleared\n" {
				t.Errorf("hooks clear during the rollback: %q", out)
			}
			cleared++
		}
		return false
	})
	if cleared == 0 {
		t.Error("no hook cleared by hand, yet the rollback completed")
	}
}
