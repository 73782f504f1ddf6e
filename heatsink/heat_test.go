package heatsink_test

// End to end against a real Heat 19 and Keystone (scripts/heat, scripts/keystone)
// and our zaqar-server with auth_strategy = keystone, started by the test:
//
//	scripts/keystone start /tmp/hk && scripts/heat start /tmp/heat /tmp/hk
//	. /tmp/heat/env && go test -race -run Heat ./heatsink/
//
// The test points the Keystone catalog's messaging endpoints at its server
// (and back at the end), so the Keystone given to scripts/heat should be
// one that no concurrently running test relies on for messaging. Without
// HEAT_URL it skips, or fails when ZAQAR_TEST_REQUIRE_ALL=1.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stackevents"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stacks"

	"github.com/zaqar-go/suite/heatsink/emit"
	"github.com/zaqar-go/suite/heatsink/env"
	"github.com/zaqar-go/suite/heatsink/listen"
	"github.com/zaqar-go/suite/heatsink/prepare"
	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/heatevent"
	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/internal/zaqartest"
)

const hint = "run scripts/keystone start KDIR && scripts/heat start HDIR KDIR && . HDIR/env"

// keystoneEnv reads the `export K=V` lines scripts/keystone wrote.
func TestMain(m *testing.M) { zaqartest.Main(m) }

const template = `{"heat_template_version": "2018-08-31",
 "parameters": {"v": {"type": "string", "default": "one"}},
 "resources": {
  "test_res": {"type": "OS::Heat::TestResource", "properties": {"value": {"get_param": "v"}}},
  "rand": {"type": "OS::Heat::RandomString", "properties": {"length": 6}},
  "nothing": {"type": "OS::Heat::None"}}}`

func waitStack(t *testing.T, heat *gophercloud.ServiceClient, name, id, want string) {
	t.Helper()
	testenv.Eventually(t, "stack "+name+" "+want, 3*time.Minute, 500*time.Millisecond, func() bool {
		s, err := stacks.Get(t.Context(), heat, name, id).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if s.Status != want && !strings.HasSuffix(s.Status, "_IN_PROGRESS") {
			t.Fatalf("stack %s: %s (%s), want %s", name, s.Status, s.StatusReason, want)
		}
		return s.Status == want
	})
}

// TestHeatSinkToListener: Heat posts every event of a stack's create,
// update and delete to our server through the catalog, and a listener
// sees them all, in order per resource; emit then produces the same
// messages from Heat's events API.
func TestHeatSinkToListener(t *testing.T) {
	testenv.Env(t, "HEAT_URL", hint)
	ks := zaqartest.ReadEnv(t, testenv.Env(t, "HEAT_KEYSTONE_ENV", hint))
	ctx := t.Context()

	url := zaqartest.Start(t, zaqartest.KeystoneConf(ks))
	zaqartest.PointMessagingAt(t, zaqartest.Provider(t, ks, "ADMIN"), url)

	// Authenticate after the move: the token's catalog is what Heat uses.
	demo := zaqartest.Provider(t, ks, "DEMO")
	eo := gophercloud.EndpointOpts{Region: "RegionOne"}
	zaqar, err := cloud.Messaging(demo, eo)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSuffix(zaqar.Endpoint, "/") != url {
		t.Fatalf("catalog messaging endpoint %s, want %s", zaqar.Endpoint, url)
	}
	heat, err := cloud.Orchestration(demo, eo)
	if err != nil {
		t.Fatal(err)
	}

	suffix := uuid.NewString()[:8]
	queue, stackName := "heatsink-"+suffix, "heatsink-"+suffix
	environment := fmt.Sprintf("event_sinks:\n  - type: zaqar-queue\n    target: %s\n    ttl: 1200\n", queue)
	e, ps := env.Parse("environment.yml", []byte(environment))
	if ps.Err() != nil {
		t.Fatal(ps)
	}
	if _, err := prepare.Queues(ctx, zaqar, env.Targets(e.EventSinks), prepare.Defaults); err != nil {
		t.Fatal(err)
	}

	// The listener: every event to a webhook in this test.
	var mu sync.Mutex
	var seen []heatevent.Event
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev, err := heatevent.Decode(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		seen = append(seen, ev)
		mu.Unlock()
	}))
	defer hook.Close()
	cfg, err := listen.ParseConfig("listeners.yml", []byte(fmt.Sprintf(
		"claim: {poll: 200ms}\nqueues: [{name: %s}]\nrules: [{webhook: {url: %q}}]\n", queue, hook.URL)))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := listen.New(cfg, func(string, string) (*gophercloud.ServiceClient, error) { return zaqar, nil }, log)
	if err != nil {
		t.Fatal(err)
	}
	lctx, stopListener := context.WithCancel(ctx)
	listening := make(chan struct{})
	go func() { l.Run(lctx); close(listening) }()
	defer func() { stopListener(); <-listening }()

	// Create, update, delete.
	var tmpl map[string]any
	json.Unmarshal([]byte(template), &tmpl)
	var created struct {
		Stack struct {
			ID string `json:"id"`
		} `json:"stack"`
	}
	t0 := time.Now()
	_, err = heat.Post(ctx, heat.ServiceURL("stacks"), map[string]any{
		"stack_name": stackName, "template": tmpl, "environment": environment, "timeout_mins": 10,
	}, &created, &gophercloud.RequestOpts{OkCodes: []int{201}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.Stack.ID
	waitStack(t, heat, stackName, id, "CREATE_COMPLETE")
	t.Logf("stack create took %s", time.Since(t0).Round(100*time.Millisecond))
	_, err = heat.Patch(ctx, heat.ServiceURL("stacks", stackName, id), map[string]any{"parameters": map[string]any{"v": "two"}},
		nil, &gophercloud.RequestOpts{OkCodes: []int{202}})
	if err != nil {
		t.Fatal(err)
	}
	waitStack(t, heat, stackName, id, "UPDATE_COMPLETE")
	if err := stacks.Delete(ctx, heat, stackName, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitStack(t, heat, stackName, id, "DELETE_COMPLETE")
	t.Logf("create+update+delete took %s", time.Since(t0).Round(100*time.Millisecond))

	// Heat's own record of the events, oldest first.
	pages, err := stackevents.List(heat, stackName, id, stackevents.ListOpts{SortDir: stackevents.SortAsc}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	apiEvents, err := stackevents.ExtractEvents(pages)
	if err != nil {
		t.Fatal(err)
	}
	if len(apiEvents) != 20 {
		t.Errorf("Heat lists %d events, expected 8 create + 4 update + 8 delete", len(apiEvents))
	}

	// Short of all, the checks below say which are missing.
	testenv.Poll(t, time.Minute, 200*time.Millisecond, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= len(apiEvents)
	})
	stopListener()
	<-listening

	got := map[string]heatevent.Event{}
	for _, ev := range seen {
		if _, dup := got[ev.ID]; dup {
			t.Errorf("event %s delivered twice", ev.ID)
		}
		got[ev.ID] = ev
	}
	for _, ae := range apiEvents {
		ev, ok := got[ae.ID]
		if !ok {
			t.Errorf("listener never saw event %s %s %s %q", ae.ID, ae.ResourceName, ae.ResourceStatus, ae.ResourceStatusReason)
			continue
		}
		if ev.Payload.ResourceName != ae.ResourceName || ev.Payload.ResourceAction+"_"+ev.Payload.ResourceStatus != ae.ResourceStatus {
			t.Errorf("event %s: listener saw %+v, Heat lists %+v", ae.ID, ev.Payload, ae)
		}
	}
	if len(seen) != len(apiEvents) {
		t.Errorf("listener saw %d events, Heat lists %d", len(seen), len(apiEvents))
	}
	// Per resource, an action's IN_PROGRESS event reaches the listener
	// before that action's COMPLETE or FAILED one, as Heat emitted them.
	// Beyond that Heat's own order is not a reference: during an update
	// that replaces a resource, the new and the old one (same name) send
	// events from different engine threads, and Heat's events API orders
	// events of the same second by id.
	pos := map[string]int{}
	for i, ev := range seen {
		pos[ev.ID] = i
	}
	for i, a := range apiEvents {
		for _, b := range apiEvents[i+1:] {
			aAction, aStatus, _ := strings.Cut(a.ResourceStatus, "_")
			bAction, bStatus, _ := strings.Cut(b.ResourceStatus, "_")
			if a.ResourceName != b.ResourceName || aAction != bAction || aStatus != "IN_PROGRESS" || bStatus == "IN_PROGRESS" ||
				a.PhysicalResourceID != b.PhysicalResourceID && a.PhysicalResourceID != "" {
				continue
			}
			if pa, ok := pos[a.ID]; ok {
				if pb, ok := pos[b.ID]; ok && pa > pb {
					t.Errorf("resource %s: listener saw %s before %s", a.ResourceName, b.ResourceStatus, a.ResourceStatus)
				}
			}
		}
	}
	if t.Failed() {
		return
	}

	// emit: the same events from the events API into another queue, in
	// Heat's format (timestamps to the second).
	copyQueue := queue + "-emit"
	em := &emit.Emitter{Heat: heat, Zaqar: zaqar, Stack: stackName + "/" + id, Queue: copyQueue, TTL: 1200,
		StateFile: t.TempDir() + "/emit.state", Log: log}
	n, err := em.Once(ctx)
	if err != nil || n != len(apiEvents) {
		t.Fatalf("emit posted %d, %v; want %d", n, err, len(apiEvents))
	}
	// A restarted emitter posts nothing again.
	if n, err := (&emit.Emitter{Heat: heat, Zaqar: zaqar, Stack: em.Stack, Queue: copyQueue, TTL: 1200, StateFile: em.StateFile, Log: log}).Once(ctx); err != nil || n != 0 {
		t.Errorf("restarted emit posted %d, %v; want 0", n, err)
	}
	var emitted []struct {
		TTL  int             `json:"ttl"`
		Body heatevent.Event `json:"body"`
	}
	mpages, err := messages.List(zaqar, copyQueue, messages.ListOpts{Echo: true, Limit: 20}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := mpages.(messages.MessagePage).ExtractIntoSlicePtr(&emitted, "messages"); err != nil {
		t.Fatal(err)
	}
	if len(emitted) != len(apiEvents) {
		t.Fatalf("emit queue holds %d messages, want %d", len(emitted), len(apiEvents))
	}
	for i, m := range emitted {
		sink := got[m.Body.ID]
		// emit copies the events API, in its order.
		if m.TTL != 1200 || m.Body.ID != apiEvents[i].ID || m.Body.Timestamp != sink.Timestamp[:19] {
			t.Errorf("emitted %d: ttl %d id %s timestamp %s; want 1200, %s, %s", i, m.TTL, m.Body.ID, m.Body.Timestamp, apiEvents[i].ID, sink.Timestamp[:19])
		}
		m.Body.Timestamp = sink.Timestamp
		a, _ := json.Marshal(m.Body)
		b, _ := json.Marshal(sink)
		if string(a) != string(b) {
			t.Errorf("emitted event differs from Heat's sink message:\n emit %s\n heat %s", a, b)
		}
	}
}

// emit for a stack Heat does not know is an error at once: once it
// retried the 404 forever.
func TestHeatEmitNoSuchStack(t *testing.T) {
	testenv.Env(t, "HEAT_URL", hint)
	ks := zaqartest.ReadEnv(t, testenv.Env(t, "HEAT_KEYSTONE_ENV", hint))
	demo := zaqartest.Provider(t, ks, "DEMO")
	heat, err := cloud.Orchestration(demo, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		t.Fatal(err)
	}
	em := &emit.Emitter{Heat: heat, Zaqar: cloud.NoAuth("http://127.0.0.1:9", "p"), Stack: "nosuch-" + uuid.NewString()[:8],
		Queue: "q", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	// The bound only ends the test that fails: a fixed emit returns at the first 404.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err = em.Run(ctx, 100*time.Millisecond, false)
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), em.Stack) {
		t.Errorf("emit --stack %s: %v, want a 404 error naming the stack", em.Stack, err)
	}
}
