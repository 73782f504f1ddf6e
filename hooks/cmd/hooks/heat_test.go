package main

// End to end against a real Heat 19 and Keystone (scripts/heat,
// scripts/keystone) and our zaqar-server with auth_strategy = keystone,
// started by the test, through the hooks command itself:
//
//	scripts/keystone start /tmp/hk && scripts/heat start /tmp/hh /tmp/hk
//	HOOKS_HEAT_ENV=/tmp/hh/env go test -race -run Heat ./hooks/cmd/hooks/
//
// Two `hooks run` processes watch one queue that two stacks send their
// events to (event_sinks) and poll Heat for a third stack that has no sink;
// the test approves, rejects and clears through `hooks approve` and `hooks
// clear` and checks what Heat did. The test points the Keystone catalog's
// messaging endpoints at its server while it runs (Heat's sinks post to the
// catalog's endpoint), so that Keystone must not be shared with another
// test running at the same time. Without HOOKS_HEAT_ENV it skips, or fails
// when ZAQAR_TEST_REQUIRE_ALL=1.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stacks"

	"github.com/zaqar-go/suite/hooks"
	"github.com/zaqar-go/suite/hooks/heatapi"
	"github.com/zaqar-go/suite/hooks/internal/hookstest"
	"github.com/zaqar-go/suite/hooks/watch"
	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/heatevent"
	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/internal/zaqartest"
)

const (
	appTemplate = `{"heat_template_version": "2018-08-31", "resources": {
  "app": {"type": "OS::Heat::TestResource", "properties": {"value": "one"}},
  "rnd": {"type": "OS::Heat::RandomString", "properties": {"length": 6}},
  "nothing": {"type": "OS::Heat::None", "depends_on": "app"}}}`
	parentTemplate = `{"heat_template_version": "2018-08-31", "resources": {
  "top": {"type": "OS::Heat::None"},
  "child": {"type": "inner.yaml"}}}`
	innerTemplate = `{"heat_template_version": "2018-08-31", "resources": {
  "inner_a": {"type": "OS::Heat::None"},
  "inner_b": {"type": "OS::Heat::RandomString", "properties": {"length": 4}}}}`
)

// stackClient creates and watches stacks as demo.
type stackClient struct {
	t    *testing.T
	heat *gophercloud.ServiceClient
	ids  map[string]string
}

func (s *stackClient) create(name, template, environment string, files map[string]string) {
	s.t.Helper()
	s.createOpts(name, template, environment, files, nil)
}

// update updates a stack with a new template and environment, rollback
// enabled.
func (s *stackClient) update(name, template, environment string) {
	s.t.Helper()
	var tmpl map[string]any
	if err := json.Unmarshal([]byte(template), &tmpl); err != nil {
		s.t.Fatal(err)
	}
	body := map[string]any{"template": tmpl, "environment": environment, "timeout_mins": 10, "disable_rollback": false}
	_, err := s.heat.Put(s.t.Context(), s.heat.ServiceURL("stacks", name, s.ids[name]), body, nil, &gophercloud.RequestOpts{OkCodes: []int{202}})
	if err != nil {
		s.t.Fatalf("update %s: %v", name, err)
	}
}

// createOpts is create with more fields of the request body.
func (s *stackClient) createOpts(name, template, environment string, files map[string]string, more map[string]any) {
	s.t.Helper()
	var tmpl map[string]any
	if err := json.Unmarshal([]byte(template), &tmpl); err != nil {
		s.t.Fatal(err)
	}
	body := map[string]any{"stack_name": name, "template": tmpl, "environment": environment, "timeout_mins": 10}
	if files != nil {
		body["files"] = files
	}
	for k, v := range more {
		body[k] = v
	}
	var created struct {
		Stack struct {
			ID string `json:"id"`
		} `json:"stack"`
	}
	_, err := s.heat.Post(s.t.Context(), s.heat.ServiceURL("stacks"), body, &created, &gophercloud.RequestOpts{OkCodes: []int{201}})
	if err != nil {
		s.t.Fatalf("create %s: %v", name, err)
	}
	s.ids[name] = created.Stack.ID
}

func (s *stackClient) status(name string) (string, string) {
	s.t.Helper()
	st, err := stacks.Get(context.Background(), s.heat, name, s.ids[name]).Extract()
	if err != nil {
		s.t.Fatal(err)
	}
	return st.Status, st.StatusReason
}

// waitFor waits until the stack leaves *_IN_PROGRESS and wants want.
func (s *stackClient) waitFor(name, want string) time.Duration {
	s.t.Helper()
	start := time.Now()
	testenv.Eventually(s.t, "stack "+name+" "+want, 3*time.Minute, 250*time.Millisecond, func() bool {
		status, reason := s.status(name)
		if status != want && !strings.HasSuffix(status, "_IN_PROGRESS") {
			s.t.Fatalf("stack %s: %s (%s), want %s", name, status, reason, want)
		}
		return status == want
	})
	return time.Since(start)
}

// cleared counts the "Hook <h> is cleared" events of a stack and its
// nested stacks, per resource.
func (s *stackClient) cleared(name string) map[string]int {
	s.t.Helper()
	pages, err := stackevents.List(s.heat, name, s.ids[name], heatapi.EventListOpts{ListOpts: stackevents.ListOpts{SortDir: stackevents.SortAsc}, NestedDepth: 3}).AllPages(s.t.Context())
	if err != nil {
		s.t.Fatal(err)
	}
	evs, err := stackevents.ExtractEvents(pages)
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range evs {
		if _, ok := hooks.ParseCleared(e.ResourceStatusReason); ok {
			out[e.ResourceName]++
		}
	}
	return out
}

// hooksCmd runs the hooks command once and returns its output.
func hooksCmd(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if code := run(t.Context(), args, &out, &out); code != 0 {
		t.Fatalf("hooks %s: exit %d\n%s", strings.Join(args, " "), code, out.String())
	}
	return out.String()
}

// e2e is what an end-to-end test against the real Heat works with: our
// server (the catalog's messaging endpoint while the test runs) and demo's
// clients; OS_* point the hooks command at them as demo.
type e2e struct {
	url        string
	zaqar      *gophercloud.ServiceClient
	heatClient *gophercloud.ServiceClient
	heat       *hooks.Heat
	sc         *stackClient
}

func startE2E(t *testing.T) *e2e {
	ks := hookstest.HeatEnv(t)
	url := hookstest.StartZaqar(t, hookstest.KeystoneZaqarConf(ks))
	zaqartest.PointMessagingAt(t, hookstest.Provider(t, ks, "ADMIN"), url)
	for k, v := range map[string]string{
		"OS_AUTH_URL": ks["KEYSTONE_URL"], "OS_USERNAME": ks["KEYSTONE_DEMO_USERNAME"], "OS_PASSWORD": ks["KEYSTONE_DEMO_PASSWORD"],
		"OS_PROJECT_NAME": ks["KEYSTONE_DEMO_PROJECT"], "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
		"OS_REGION_NAME": "RegionOne", "OS_INTERFACE": "public",
		"OS_CLOUD": "", "OS_USERID": "", "OS_PROJECT_ID": "", "OS_TENANT_ID": "", "OS_TENANT_NAME": "", "OS_DOMAIN_ID": "", "OS_DOMAIN_NAME": "",
		"OS_USER_DOMAIN_ID": "", "OS_PROJECT_DOMAIN_ID": "", "OS_APPLICATION_CREDENTIAL_ID": "", "OS_APPLICATION_CREDENTIAL_NAME": "",
		"OS_APPLICATION_CREDENTIAL_SECRET": "", "OS_SYSTEM_SCOPE": "", "OS_TOKEN": "", "OS_CACERT": "",
	} {
		t.Setenv(k, v)
	}
	// Authenticate after the move: the token's catalog is what Heat uses.
	demo := hookstest.Provider(t, ks, "DEMO")
	eo := gophercloud.EndpointOpts{Region: "RegionOne"}
	zaqar, err := cloud.Messaging(demo, eo)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSuffix(zaqar.Endpoint, "/") != url {
		t.Fatalf("catalog messaging endpoint %s, want %s", zaqar.Endpoint, url)
	}
	heatClient, err := cloud.Orchestration(demo, eo)
	if err != nil {
		t.Fatal(err)
	}
	return &e2e{url: url, zaqar: zaqar, heatClient: heatClient, heat: &hooks.Heat{Client: heatClient},
		sc: &stackClient{t: t, heat: heatClient, ids: map[string]string{}}}
}

// runner is a `hooks run` of a test.
type runner struct {
	log    *testenv.SyncBuffer
	stop   context.CancelFunc // as SIGTERM does (main's signal.NotifyContext)
	exited chan struct{}
	code   int // once exited
}

func (e *e2e) startRunner(t *testing.T, config string) *runner {
	ctx, stop := context.WithCancel(context.Background())
	r := &runner{log: &testenv.SyncBuffer{}, stop: stop, exited: make(chan struct{})}
	go func() {
		defer close(r.exited)
		r.code = run(ctx, []string{"run", "--config", config}, r.log, r.log)
	}()
	t.Cleanup(func() {
		r.stop()
		<-r.exited
		if t.Failed() {
			t.Logf("hooks run:\n%s", r.log.String())
		}
	})
	return r
}

// waitLog waits until a runner's log matches re, failing when give says
// something went wrong first.
func (r *runner) waitLog(t *testing.T, re string, give func() string) {
	t.Helper()
	want := regexp.MustCompile(re)
	testenv.Eventually(t, fmt.Sprintf("hooks run to log %q", re), 2*time.Minute, 100*time.Millisecond, func() bool {
		if want.MatchString(r.log.String()) {
			return true
		}
		if give != nil {
			if why := give(); why != "" {
				t.Fatalf("before hooks run logged %q: %s", re, why)
			}
		}
		return false
	})
}

// outcomes lists a ledger by root stack name.
func (e *e2e) outcomes(t *testing.T, ledger string) map[string][]watch.Outcome {
	t.Helper()
	var page struct {
		Messages []struct {
			Body watch.Outcome `json:"body"`
		} `json:"messages"`
	}
	_, err := e.zaqar.Get(t.Context(), e.zaqar.ServiceURL("v2", "queues", ledger, "messages")+"?limit=20&echo=true", &page,
		&gophercloud.RequestOpts{OkCodes: []int{200, 204}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]watch.Outcome{}
	for _, m := range page.Messages {
		out[m.Body.Hook.Root.Name] = append(out[m.Body.Hook.Root.Name], m.Body)
	}
	return out
}

// deleteStacks deletes the test's stacks and waits for them to go.
func (e *e2e) deleteStacks(t *testing.T) {
	for name, id := range e.sc.ids {
		stacks.Delete(context.Background(), e.heatClient, name, id)
	}
	for name := range e.sc.ids {
		e.sc.waitFor(name, "DELETE_COMPLETE")
	}
}

func TestHeatHooks(t *testing.T) {
	e := startE2E(t)
	ctx := t.Context()
	zaqar, heatClient, heat, sc := e.zaqar, e.heatClient, e.heat, e.sc

	sfx := uuid.NewString()[:6]
	queue, observe := "hooks-"+sfx, "hooks-"+sfx+"-observe"
	sinkStack, pollStack := "e2e"+sfx+"-sink", "e2e"+sfx+"-poll"
	failStack, leaveStack := "e2e"+sfx+"-reject-fail", "e2e"+sfx+"-reject-leave"

	// Two watcher processes with the same configuration.
	dir := t.TempDir()
	config := filepath.Join(dir, "hooks.yml")
	os.WriteFile(config, []byte(fmt.Sprintf(`queue: %s
workers: 4
claim: {poll: 1s}
recheck: 2s
poll: {stacks: ["e2e%s-poll*"], interval: 2s}
rules:
  - name: leave on reject
    match: {stack: "%s"}
    approval: {queue: "approve-{stack}", interval: 500ms}
    on_reject: leave
  - name: approval
    approval: {queue: "approve-{stack}", interval: 500ms}
    timeout: 10m
    on_reject: fail
`, queue, sfx, leaveStack)), 0o600)
	hooksCmd(t, "validate", "--config", config)
	var logs [2]*testenv.SyncBuffer
	wctx, stopWatchers := context.WithCancel(context.Background())
	var watching sync.WaitGroup
	for i := range logs {
		logs[i] = &testenv.SyncBuffer{}
		watching.Add(1)
		go func() {
			defer watching.Done()
			if code := run(wctx, []string{"run", "--config", config}, logs[i], logs[i]); code != 0 {
				t.Errorf("hooks run %d: exit %d", i, code)
			}
		}()
	}
	defer func() {
		stopWatchers()
		watching.Wait()
		if t.Failed() {
			for i, l := range logs {
				t.Logf("hooks run %d:\n%s", i, l.String())
			}
		}
	}()

	// The stacks: two send their events to the watchers' queue (and to a
	// queue this test reads), one has no sink and a hook in a nested stack.
	sinkEnv := fmt.Sprintf(`resource_registry:
  resources:
    app: {hooks: pre-create}
event_sinks:
  - {type: zaqar-queue, target: %s}
  - {type: zaqar-queue, target: %s}
`, queue, observe)
	t0 := time.Now()
	sc.create(sinkStack, appTemplate, sinkEnv, nil)
	sc.create(pollStack, parentTemplate, "resource_registry:\n  resources:\n    child:\n      inner_a: {hooks: pre-create}\n",
		map[string]string{"inner.yaml": innerTemplate})
	sc.create(failStack, appTemplate, sinkEnv, nil)
	sc.create(leaveStack, appTemplate, sinkEnv, nil)
	t.Logf("4 stacks created (API) in %s", time.Since(t0).Round(time.Millisecond))

	// Detected from the event sink: Heat's hook event arrives in the
	// queue; resolved, it is the hook `hooks poll` finds in Heat's events.
	var sinkHook hooks.Hook
	testenv.Eventually(t, "a hook event of the sink stack in the observed queue", 2*time.Minute, 200*time.Millisecond, func() bool {
		var page struct {
			Messages []struct {
				Body json.RawMessage `json:"body"`
			} `json:"messages"`
		}
		_, err := zaqar.Get(ctx, zaqar.ServiceURL("v2", "queues", observe, "messages")+"?limit=20&echo=true", &page,
			&gophercloud.RequestOpts{OkCodes: []int{200, 204}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			ev, err := heatevent.Decode(m.Body)
			if err != nil || ev.Payload.StackID != sc.ids[sinkStack] {
				continue
			}
			if _, _, ok := hooks.ParsePaused(ev.Payload.ResourceStatusReason); ok {
				if sinkHook, err = heat.Resolve(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
		}
		return sinkHook.EventID != ""
	})
	if sinkHook.Type != "pre-create" || sinkHook.Path != "app" || sinkHook.Root.Name != sinkStack || sinkHook.ResourceType != "OS::Heat::TestResource" {
		t.Errorf("sink hook %+v", sinkHook)
	}
	// Detected from Heat's events API.
	if out := hooksCmd(t, "poll", sinkStack, "--json"); !strings.Contains(out, `"event_id":"`+sinkHook.EventID+`"`) {
		t.Errorf("hooks poll %s:\n%s\nwant event %s", sinkStack, out, sinkHook.EventID)
	}
	var nested hooks.Hook
	testenv.Eventually(t, "a pending hook in the nested stack", 2*time.Minute, 500*time.Millisecond, func() bool {
		if out := hooksCmd(t, "poll", pollStack, "--json"); out != "" {
			if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &nested); err != nil {
				t.Fatal(err)
			}
		}
		return nested.EventID != ""
	})
	if nested.Path != "child/inner_a" || nested.Root.Name != pollStack || !strings.HasPrefix(nested.Stack.Name, pollStack+"-child-") {
		t.Errorf("nested hook %+v", nested)
	}

	// The watchers saw the hooks come: from the queue within a second
	// of Heat storing the event, and the nested one by polling.
	waiting := regexp.MustCompile(`time=(\S+) level=INFO msg=waiting event=` + sinkHook.EventID)
	var seen time.Time
	testenv.Eventually(t, "a watcher waiting on the sink stack's hook", time.Minute, 100*time.Millisecond, func() bool {
		for _, l := range logs {
			if m := waiting.FindStringSubmatch(l.String()); m != nil {
				seen, _ = time.Parse(time.RFC3339Nano, m[1])
			}
		}
		return !seen.IsZero()
	})
	t.Logf("sink hook event: stored by Heat at %s, a watcher waits on it %s later",
		sinkHook.EventTime.Format("15:04:05.000"), seen.Sub(sinkHook.EventTime).Round(time.Millisecond))
	if status, _ := sc.status(sinkStack); status != "CREATE_IN_PROGRESS" {
		t.Fatalf("sink stack %s while its hook waits", status)
	}
	testenv.Eventually(t, "a watcher waiting on the nested hook (polling)", time.Minute, 100*time.Millisecond, func() bool {
		return strings.Contains(logs[0].String()+logs[1].String(), "msg=waiting event="+nested.EventID)
	})

	// Approve both: the stacks complete.
	tApprove := time.Now()
	hooksCmd(t, "approve", "approve-"+sinkStack, "--stack", sinkStack, "--resource", "app", "--reason", "e2e approves")
	hooksCmd(t, "approve", "approve-"+pollStack, "--event-id", nested.EventID)
	sc.waitFor(sinkStack, "CREATE_COMPLETE")
	t.Logf("sink stack CREATE_COMPLETE %s after the approval", time.Since(tApprove).Round(time.Millisecond))
	sc.waitFor(pollStack, "CREATE_COMPLETE")
	t.Logf("nested stack CREATE_COMPLETE %s after the approval", time.Since(tApprove).Round(time.Millisecond))

	// Reject: on_reject fail cancels the create; on_reject leave leaves
	// the hook pending until someone clears it.
	hooksCmd(t, "approve", "--reject", "--reason", "not today", "approve-"+failStack)
	sc.waitFor(failStack, "CREATE_FAILED")
	if _, reason := sc.status(failStack); reason != "Stack CREATE cancelled" {
		t.Errorf("rejected stack: %s", reason)
	}
	hooksCmd(t, "approve", "--reject", "--reason", "later", "approve-"+leaveStack)
	ledger := queue + "-ledger"
	outcomes := func() map[string][]watch.Outcome {
		var page struct {
			Messages []struct {
				Body watch.Outcome `json:"body"`
			} `json:"messages"`
		}
		_, err := zaqar.Get(ctx, zaqar.ServiceURL("v2", "queues", ledger, "messages")+"?limit=20&echo=true", &page,
			&gophercloud.RequestOpts{OkCodes: []int{200, 204}})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]watch.Outcome{}
		for _, m := range page.Messages {
			out[m.Body.Hook.Root.Name] = append(out[m.Body.Hook.Root.Name], m.Body)
		}
		return out
	}
	testenv.Eventually(t, "the rejection of the leave stack in the ledger", time.Minute, 200*time.Millisecond, func() bool {
		return len(outcomes()[leaveStack]) != 0
	})
	if status, _ := sc.status(leaveStack); status != "CREATE_IN_PROGRESS" {
		t.Errorf("stack left paused is %s", status)
	}
	if out := hooksCmd(t, "poll", leaveStack); !strings.Contains(out, "pre-create") {
		t.Errorf("hook of the stack left paused not pending:\n%s", out)
	}
	if out := hooksCmd(t, "clear", leaveStack, "app"); out != "app: pre-create cleared\n" {
		t.Errorf("hooks clear: %q", out)
	}
	sc.waitFor(leaveStack, "CREATE_COMPLETE")

	// Each hook was settled once, by one of the two watchers, and cleared
	// once in Heat.
	want := map[string]string{sinkStack: "approved cleared", pollStack: "approved cleared", failStack: "rejected failed", leaveStack: "rejected left"}
	got := outcomes()
	for stack, w := range want {
		o := got[stack]
		if len(o) != 1 || o[0].Decision+" "+o[0].Action != w {
			t.Errorf("ledger for %s: %+v, want one %q", stack, o, w)
		}
	}
	for stack, w := range map[string]map[string]int{sinkStack: {"app": 1}, pollStack: {"inner_a": 1}, failStack: {}, leaveStack: {"app": 1}} {
		if c := sc.cleared(stack); fmt.Sprint(c) != fmt.Sprint(w) {
			t.Errorf("%s: hook cleared events %v, want %v", stack, c, w)
		}
	}
	acted := 0
	for _, l := range logs {
		acted += strings.Count(l.String(), "msg=\"hook settled\"")
	}
	if acted != 4 {
		t.Errorf("%d hooks settled by the two watchers, want 4", acted)
	}

	// Clean up; a cancelled stack whose hook never cleared deletes too.
	stopWatchers()
	watching.Wait()
	for name, id := range sc.ids {
		stacks.Delete(context.Background(), heatClient, name, id)
	}
	t1 := time.Now()
	for name := range sc.ids {
		sc.waitFor(name, "DELETE_COMPLETE")
	}
	t.Logf("4 stacks deleted in %s", time.Since(t1).Round(time.Millisecond))
}
