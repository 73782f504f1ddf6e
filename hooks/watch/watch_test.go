package watch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/zaqar-go/suite/hooks"
	"github.com/zaqar-go/suite/hooks/internal/hookstest"
	"github.com/zaqar-go/suite/hooks/watch"
	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/consume"
	"github.com/zaqar-go/suite/internal/heatevent"
	"github.com/zaqar-go/suite/internal/testenv"
)

func TestMain(m *testing.M) { hookstest.Main(m) }

const testdata = "../testdata"

var (
	hookDemo   = hooks.Stack{Name: "hook-demo", ID: "a954ebc4-28fa-4f40-9438-c42f8d66b93d"}
	nestedDemo = hooks.Stack{Name: "nested-demo", ID: "73c2895f-d426-455d-bf63-e692e1c030ac"}
	childStack = hooks.Stack{Name: "nested-demo-child-2e7ggwwe4rl4", ID: "1e678c0b-9826-4fbe-95b6-3670884ac0d1"}
)

// tlog writes the watcher's log to the test's.
type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// hookDemo serves heat-hook-trace.json's stack while its three hooks are
// pending (app_hooked and db_hooked pre-create, post_res post-create).
func hookDemoHeat(t *testing.T) (*hookstest.Heat, *gophercloud.ServiceClient) {
	c := hookstest.LoadCapture(t, testdata, "heat-hook-trace.json")
	_, list := c.Response(t, "paused: resource list")
	var rs struct {
		Resources []json.RawMessage `json:"resources"`
	}
	json.Unmarshal(list, &rs)
	return hookstest.NewHeat(t, &hookstest.Stack{Name: hookDemo.Name, ID: hookDemo.ID, Status: "CREATE_IN_PROGRESS",
		Events: fresh(c.RawEvents(t, "paused: events")), Resources: rs.Resources})
}

// fresh dates events now: timeouts count from the pause.
func fresh(evs []json.RawMessage) []json.RawMessage {
	var out []json.RawMessage
	for _, raw := range evs {
		var e map[string]any
		json.Unmarshal(raw, &e)
		e["event_time"] = time.Now().UTC().Format(time.RFC3339)
		b, _ := json.Marshal(e)
		out = append(out, b)
	}
	return out
}

// sinkMessages returns the hook events Heat's sink posted for hook-demo's
// create (post_res, db_hooked, app_hooked), timestamped now (timeouts
// count from the pause).
func sinkMessages(t *testing.T) []heatevent.Event {
	var out []heatevent.Event
	for _, m := range hookstest.LoadCapture(t, testdata, "heat-hook-messages.json").Messages {
		ev, err := heatevent.Decode(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		if action, _, ok := hooks.ParsePaused(ev.Payload.ResourceStatusReason); ok && action == "CREATE" {
			ev.Timestamp = time.Now().UTC().Format(heatevent.TimestampFormat)
			out = append(out, ev)
		}
	}
	if len(out) != 3 {
		t.Fatalf("%d hook events in the capture, want 3", len(out))
	}
	return out
}

type env struct {
	t     *testing.T
	fake  *hookstest.Heat
	heat  *hooks.Heat
	zaqar *gophercloud.ServiceClient
	url   string
	proj  string
	// metrics of the watchers run, one registry per test
	metrics *watch.Metrics
}

func newEnv(t *testing.T, fake *hookstest.Heat, client *gophercloud.ServiceClient) *env {
	url := hookstest.StartZaqar(t, "")
	proj := "p-" + uuid.NewString()[:8]
	return &env{t: t, fake: fake, heat: &hooks.Heat{Client: client}, zaqar: cloud.NoAuth(url, proj), url: url, proj: proj,
		metrics: watch.NewMetrics(prometheus.NewRegistry())}
}

// post posts bodies to queue.
func (e *env) post(queue string, bodies ...any) {
	e.t.Helper()
	var msgs []map[string]any
	for _, b := range bodies {
		msgs = append(msgs, map[string]any{"ttl": 600, "body": b})
	}
	_, err := e.zaqar.Post(e.t.Context(), e.zaqar.ServiceURL("v2", "queues", queue, "messages"), map[string]any{"messages": msgs}, nil,
		&gophercloud.RequestOpts{OkCodes: []int{201}})
	if err != nil {
		e.t.Fatal(err)
	}
}

// bodies lists a queue's message bodies, claimed ones too.
func (e *env) bodies(queue string) []json.RawMessage {
	e.t.Helper()
	var page struct {
		Messages []struct {
			Body json.RawMessage `json:"body"`
		} `json:"messages"`
	}
	_, err := e.zaqar.Get(e.t.Context(), e.zaqar.ServiceURL("v2", "queues", queue, "messages")+"?echo=true&include_claimed=true&limit=20",
		&page, &gophercloud.RequestOpts{OkCodes: []int{200, 204}})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []json.RawMessage
	for _, m := range page.Messages {
		out = append(out, m.Body)
	}
	return out
}

// postOne posts body to queue and returns the message's id.
func (e *env) postOne(queue string, body any) string {
	e.t.Helper()
	var res struct {
		Resources []string `json:"resources"`
	}
	_, err := e.zaqar.Post(e.t.Context(), e.zaqar.ServiceURL("v2", "queues", queue, "messages"),
		map[string]any{"messages": []map[string]any{{"ttl": 600, "body": body}}}, &res, &gophercloud.RequestOpts{OkCodes: []int{201}})
	if err != nil || len(res.Resources) != 1 {
		e.t.Fatal(res, err)
	}
	return res.Resources[0][strings.LastIndex(res.Resources[0], "/")+1:]
}

// queues returns the project's queue names.
func (e *env) queues() []string {
	e.t.Helper()
	var page struct {
		Queues []struct {
			Name string `json:"name"`
		} `json:"queues"`
	}
	_, err := e.zaqar.Get(e.t.Context(), e.zaqar.ServiceURL("v2", "queues")+"?limit=20", &page, &gophercloud.RequestOpts{OkCodes: []int{200, 204}})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, q := range page.Queues {
		out = append(out, q.Name)
	}
	sort.Strings(out)
	return out
}

// ledger returns "resource decision action" per ledger record, sorted.
func (e *env) ledger(queue string) []string {
	var out []string
	for _, b := range e.bodies(queue) {
		var o watch.Outcome
		if err := json.Unmarshal(b, &o); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, o.Hook.Resource+" "+o.Decision+" "+o.Action)
	}
	sort.Strings(out)
	return out
}

// watcher builds a Watcher for cfg, as one more process would.
func (e *env) watcher(cfg string) *watch.Watcher {
	e.t.Helper()
	c, err := watch.ParseConfig("hooks.yml", []byte(cfg))
	if err != nil {
		e.t.Fatal(err)
	}
	// Each watcher process has its own Client-ID.
	w, err := watch.New(c, e.heat, cloud.NoAuth(e.url, e.proj), logger(e.t), e.metrics)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// run starts a Watcher for cfg until the test ends.
func (e *env) run(cfg string) *watch.Watcher {
	e.t.Helper()
	w := e.watcher(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
	return w
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, what, 20*time.Second, 20*time.Millisecond, cond)
}

func signalSummary(sg []hookstest.Signal) string {
	var out []string
	for _, s := range sg {
		out = append(out, fmt.Sprintf("%s/%s %s %d", s.Stack, s.Resource, s.Body, s.Status))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

const base = `queue: hook-events
workers: 3
claim: {poll: 150ms}
recheck: 200ms
`

func TestWaitersClear(t *testing.T) {
	fake, client := hookDemoHeat(t)
	e := newEnv(t, fake, client)
	var calls sync.Map
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := calls.LoadOrStore(r.URL.Path, new(int))
		*n.(*int)++
	}))
	defer hook.Close()
	e.run(base + fmt.Sprintf(`rules:
  - name: approve app
    match: {resource: app_hooked}
    approval: {queue: "approve-{stack}", interval: 100ms}
  - name: post-create webhook
    match: {hook: post-*}
    webhook: {url: "%s/{stack}/{resource}"}
  - name: db command
    match: {resource: "db_*", resource_type: "OS::Heat::None"}
    command: {run: [sh, -c, 'test "$HOOK_RESOURCE" = db_hooked']}
`, hook.URL))
	evs := sinkMessages(t)
	for _, ev := range evs {
		e.post("hook-events", ev)
	}
	e.post("hook-events", map[string]any{"not": "a Heat event"}) // left for the dead-letter queue
	eventually(t, "webhook and command clear", func() bool { return len(fake.Cleared()) == 2 && len(e.ledger("hook-events-ledger")) == 2 })
	if got := e.ledger("hook-events-ledger"); strings.Join(got, ",") != "db_hooked approved cleared,post_res approved cleared" {
		t.Errorf("ledger %v", got)
	}
	e.post("approve-hook-demo", map[string]any{"approve": true, "resource": "app_hooked", "event_id": evs[2].ID})
	eventually(t, "approval clears", func() bool { return len(fake.Cleared()) == 3 })
	want := `hook-demo/app_hooked {"unset_hook":"pre-create"} 200; hook-demo/db_hooked {"unset_hook":"pre-create"} 200; hook-demo/post_res {"unset_hook":"post-create"} 200`
	sg, acts := fake.Sent()
	if got := signalSummary(sg); got != want || len(acts) != 0 {
		t.Errorf("signals %s, actions %v; want %s", got, acts, want)
	}
	eventually(t, "ledger", func() bool { return len(e.ledger("hook-events-ledger")) == 3 })
	if left := e.bodies("approve-hook-demo"); len(left) != 0 {
		t.Errorf("approval queue still holds %s", left)
	}
	eventually(t, "hook events deleted", func() bool { return len(e.bodies("hook-events")) == 1 })
	if n := value(e.metrics.Settled.WithLabelValues("approved", "cleared")); n != 3 {
		t.Errorf("hooks_settled_total{approved,cleared} = %v, want 3", n)
	}
	if n := value(e.metrics.Listen.Seen); n != 4 {
		t.Errorf("hooks_events_seen_total = %v, want 4 (3 hook events and one that is not an event)", n)
	}
	if n := value(e.metrics.Pending); n != 0 {
		t.Errorf("hooks_pending = %v after all settled", n)
	}
	if n, _ := calls.Load("/hook-demo/post_res"); n == nil || *n.(*int) != 1 {
		t.Errorf("webhook calls %v", n)
	}
}

func TestReject(t *testing.T) {
	for _, tc := range []struct {
		policy  string
		actions string
		status  string
		ledger  string
	}{
		{"fail", `hook-demo {"cancel_without_rollback":null}`, "CREATE_FAILED", "app_hooked rejected failed"},
		{"rollback", `hook-demo {"cancel_without_rollback":null}`, "CREATE_FAILED", "app_hooked rejected failed"},
		{"leave", "", "CREATE_IN_PROGRESS", "app_hooked rejected left"},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			fake, client := hookDemoHeat(t)
			e := newEnv(t, fake, client)
			w := e.run(base + `poll: {stacks: [hook-*], interval: 100ms}
rules:
  - match: {resource: app_hooked}
    approval: {queue: approvals, interval: 50ms}
    on_reject: ` + tc.policy + `
  - match: {resource: nothing}
    deadline: {after: 1s}
`)
			// No sink: the poller finds the hooks; the other two match no
			// rule and are left paused.
			e.post("approvals", map[string]any{"approve": false, "reason": "not today", "stack": "hook-demo", "hook": "pre-create",
				"event_id": sinkMessages(t)[2].ID /* app_hooked */})
			eventually(t, "rejection settled", func() bool { return len(e.ledger("hook-events-ledger")) == 3 })
			got := e.ledger("hook-events-ledger")
			want := []string{tc.ledger, "db_hooked unmatched left", "post_res unmatched left"}
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("ledger %v, want %v", got, want)
			}
			sg, acts := fake.Sent()
			if len(sg) != 0 || strings.Join(acts, ";") != tc.actions || fake.Status("hook-demo") != tc.status {
				t.Errorf("signals %v, actions %v, status %s", sg, acts, fake.Status("hook-demo"))
			}
			// The poller keeps looking: the hooks left paused are in the
			// ledger and are not posted again.
			if n, err := w.PollOnce(t.Context()); n != 0 || err != nil {
				t.Errorf("another poll posted %d hook events (%v), want none: they are in the ledger", n, err)
			}
			if n := len(e.ledger("hook-events-ledger")); n != 3 || len(e.bodies("hook-events")) != 0 {
				t.Errorf("after another poll: %d ledger records, %d queued events", n, len(e.bodies("hook-events")))
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		policy, signals, actions, ledger string
	}{
		{"clear", `hook-demo/app_hooked {"unset_hook":"pre-create"} 200`, "", "app_hooked timeout cleared"},
		{"fail", "", `hook-demo {"cancel_without_rollback":null}`, "app_hooked timeout failed"},
		{"leave", "", "", "app_hooked timeout left"},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			fake, client := hookDemoHeat(t)
			e := newEnv(t, fake, client)
			e.run(base + `rules:
  - match: {resource: app_hooked}
    approval: {queue: approvals}
    timeout: 300ms
    on_timeout: ` + tc.policy + "\n")
			e.post("hook-events", sinkMessages(t)[2] /* app_hooked */) // app_hooked
			eventually(t, "timeout", func() bool { return len(e.ledger("hook-events-ledger")) == 1 })
			sg, acts := fake.Sent()
			if signalSummary(sg) != tc.signals || strings.Join(acts, ";") != tc.actions || e.ledger("hook-events-ledger")[0] != tc.ledger {
				t.Errorf("signals %s, actions %v, ledger %v", signalSummary(sg), acts, e.ledger("hook-events-ledger"))
			}
		})
	}
}

// A hook cleared by someone else stops its waiter; the approval posted
// afterwards stays for whoever wants it.
func TestClearedElsewhere(t *testing.T) {
	fake, client := hookDemoHeat(t)
	e := newEnv(t, fake, client)
	e.run(base + `rules:
  - approval: {queue: approvals, interval: 50ms}
`)
	ev := sinkMessages(t)[2] /* app_hooked */
	e.post("hook-events", ev)
	eventually(t, "the watcher waiting", func() bool { return value(e.metrics.Pending) == 1 })
	if c, err := e.heat.ClearResource(t.Context(), hookDemo, "app_hooked", "pre-create"); err != nil || c != hooks.ClearedNow {
		t.Fatalf("clear by hand: %v, %v", c, err)
	}
	eventually(t, "gone", func() bool { return len(e.ledger("hook-events-ledger")) == 1 })
	if got := e.ledger("hook-events-ledger")[0]; got != "app_hooked gone left" {
		t.Errorf("ledger %s", got)
	}
	// The waiter has ended: nothing takes the approval any more.
	eventually(t, "the waiter to end", func() bool { return value(e.metrics.Pending) == 0 })
	e.post("approvals", map[string]any{"approve": true})
	if sg := fake.Cleared(); len(sg) != 1 {
		t.Errorf("clears %v, want only the one by hand", sg)
	}
	if left := e.bodies("approvals"); len(left) != 1 {
		t.Errorf("approval queue holds %s, want the approval posted after the clear", left)
	}
}

// Two watcher processes, every hook event twice in the queue (from a sink
// and from a poller) and both polling: each hook is decided and cleared
// once.
func TestTwoWatchersActOnce(t *testing.T) {
	fake, client := hookDemoHeat(t)
	e := newEnv(t, fake, client)
	var mu sync.Mutex
	calls := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.Path]++
		mu.Unlock()
	}))
	defer hook.Close()
	cfg := base + `poll: {stacks: [hook-demo], interval: 100ms}
rules:
  - webhook: {url: "` + hook.URL + `/{resource}/{hook}"}
`
	evs := sinkMessages(t)
	for _, ev := range evs {
		e.post("hook-events", ev, ev)
	}
	ws := []*watch.Watcher{e.run(cfg), e.run(cfg)}
	eventually(t, "three clears", func() bool { return len(e.ledger("hook-events-ledger")) >= 3 && len(e.bodies("hook-events")) == 0 })
	// Every copy was handled (the queue is empty) and another poll by
	// either finds nothing to post: nothing more can happen.
	for i, w := range ws {
		if n, err := w.PollOnce(t.Context()); n != 0 || err != nil {
			t.Errorf("watcher %d: another poll posted %d hook events (%v), want none", i, n, err)
		}
	}
	sg, _ := fake.Sent()
	want := `hook-demo/app_hooked {"unset_hook":"pre-create"} 200; hook-demo/db_hooked {"unset_hook":"pre-create"} 200; hook-demo/post_res {"unset_hook":"post-create"} 200`
	if got := signalSummary(sg); got != want {
		t.Errorf("signals %s, want %s", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 3 || calls["/app_hooked/pre-create"] != 1 || calls["/db_hooked/pre-create"] != 1 || calls["/post_res/post-create"] != 1 {
		t.Errorf("webhook calls %v, want one per hook", calls)
	}
	if got := e.ledger("hook-events-ledger"); len(got) != 3 {
		t.Errorf("ledger %v", got)
	}
}

func TestNested(t *testing.T) {
	c := hookstest.LoadCapture(t, testdata, "heat-hook-nested.json")
	evs := c.RawEvents(t, "paused: events nested_depth=2")
	top := json.RawMessage(`{"resource_name": "top", "physical_resource_id": "705e9b0c-8275-4245-8455-c6587eb96b0b"}`)
	fake, client := hookstest.NewHeat(t,
		&hookstest.Stack{Name: nestedDemo.Name, ID: nestedDemo.ID, Status: "CREATE_IN_PROGRESS", Events: evs,
			Resources: []json.RawMessage{c.Resource(t, "resource child"), top}},
		&hookstest.Stack{Name: childStack.Name, ID: childStack.ID, Status: "CREATE_IN_PROGRESS", Parent: nestedDemo.ID, Events: evs})
	e := newEnv(t, fake, client)
	e.run(base + `rules:
  - match: {stack: nested-demo, path: child/inner_*}
    approval: {queue: "approve-{stack}-{path}"}
`)
	for _, m := range c.SinkMessages {
		ev, _ := heatevent.Decode(m.Body)
		if _, _, ok := hooks.ParsePaused(ev.Payload.ResourceStatusReason); ok {
			ev.Timestamp = time.Now().UTC().Format(heatevent.TimestampFormat)
			e.post("hook-events", ev)
			e.post("approve-nested-demo-child-inner_a", map[string]any{"approve": true, "event_id": ev.ID})
		}
	}
	eventually(t, "nested clear", func() bool { return len(fake.Cleared()) == 1 })
	if got := signalSummary(fake.Cleared()); got != `nested-demo-child-2e7ggwwe4rl4/inner_a {"unset_hook":"pre-create"} 200` {
		t.Errorf("signals %s", got)
	}
}

// A post-delete hook cannot be cleared: no waiter runs, the ledger says so.
func TestPostDelete(t *testing.T) {
	c := hookstest.LoadCapture(t, testdata, "heat-hook-update-delete.json")
	all := c.RawEvents(t, "events")
	var evs []json.RawMessage
	var hookEvent heatevent.Event
	for _, raw := range all {
		evs = append(evs, raw)
		var e struct {
			ID                   string             `json:"id"`
			ResourceName         string             `json:"resource_name"`
			ResourceStatusReason string             `json:"resource_status_reason"`
			Links                []gophercloud.Link `json:"links"`
		}
		json.Unmarshal(raw, &e)
		if e.ResourceStatusReason == "DELETE paused until Hook post-delete is cleared" {
			hookEvent = heatevent.Event{ID: e.ID, Timestamp: time.Now().UTC().Format(heatevent.TimestampFormat), Type: heatevent.EventType,
				Version: "0.1", Payload: heatevent.Payload{ResourceName: e.ResourceName, StackID: "deb20983-99eb-48c9-a196-ff8e8dce1b69",
					ResourceAction: "DELETE", ResourceStatus: "COMPLETE", ResourceStatusReason: e.ResourceStatusReason,
					ResourceType: "OS::Heat::None", Version: "0.1"}}
			break
		}
	}
	fake, client := hookstest.NewHeat(t, &hookstest.Stack{Name: "extra-demo", ID: "deb20983-99eb-48c9-a196-ff8e8dce1b69",
		Status: "DELETE_IN_PROGRESS", Events: evs})
	e := newEnv(t, fake, client)
	e.run(base + "rules: [{deadline: {after: 1ms}, on_timeout: clear}]\n")
	e.post("hook-events", hookEvent)
	eventually(t, "settled", func() bool { return len(e.ledger("hook-events-ledger")) == 1 })
	if got := e.ledger("hook-events-ledger")[0]; got != "gone unclearable left" {
		t.Errorf("ledger %s", got)
	}
	if sg, acts := fake.Sent(); len(sg) != 0 || len(acts) != 0 {
		t.Errorf("signals %v, actions %v", sg, acts)
	}
}

// blockingHook is a webhook receiver that counts calls per path and holds
// each until release is closed (or its caller leaves).
type blockingHook struct {
	*httptest.Server
	mu      sync.Mutex
	calls   map[string]int
	release chan struct{}
	once    sync.Once
}

// open lets every held call answer 200, now and later.
func (b *blockingHook) open() { b.once.Do(func() { close(b.release) }) }

func newBlockingHook(t *testing.T) *blockingHook {
	b := &blockingHook{calls: map[string]int{}, release: make(chan struct{})}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.calls[r.URL.Path]++
		b.mu.Unlock()
		select {
		case <-b.release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { b.open(); b.Close() })
	return b
}

func (b *blockingHook) count(path string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[path]
}

// handleAsync runs w.Handle for a copy of ev in the background; cancel
// stops it as a dying process would.
func handleAsync(w *watch.Watcher, id string, ev heatevent.Event) (cancel func(), done <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- w.Handle(ctx, consume.Delivery{Queue: "hook-events", MessageID: id, Event: ev}) }()
	return cancel, ch
}

func appHooked(t *testing.T) heatevent.Event {
	for _, ev := range sinkMessages(t) {
		if ev.Payload.ResourceName == "app_hooked" {
			return ev
		}
	}
	t.Fatal("no app_hooked event in the capture")
	return heatevent.Event{}
}

func noLocks(t *testing.T, e *env) {
	t.Helper()
	for _, q := range e.queues() {
		if strings.HasPrefix(q, "hooklock-") {
			t.Errorf("lock queue %s left after settling (queues %v)", q, e.queues())
		}
	}
}

// heldCopy is two watcher processes (a, b) with a webhook rule, and a's
// worker waiting on that webhook for the first copy of app_hooked's event.
type heldCopy struct {
	e       *env
	fake    *hookstest.Heat
	hook    *blockingHook
	a, b    *watch.Watcher
	ev      heatevent.Event
	first   string
	cancelA func()
	doneA   <-chan error
}

func holdFirstCopy(t *testing.T) heldCopy {
	fake, client := hookDemoHeat(t)
	c := heldCopy{e: newEnv(t, fake, client), fake: fake, hook: newBlockingHook(t), ev: appHooked(t)}
	cfg := base + "rules:\n  - webhook: {url: \"" + c.hook.URL + "/{resource}\"}\n"
	c.a, c.b = c.e.watcher(cfg), c.e.watcher(cfg)
	c.first = c.e.postOne("hook-events", c.ev)
	c.cancelA, c.doneA = handleAsync(c.a, c.first, c.ev)
	eventually(t, "first holder waits on the webhook", func() bool { return c.hook.count("/app_hooked") == 1 })
	return c
}

// A copy of a hook event posted after the first copy's holder began
// waiting (Heat's sink and a poller a few ms apart; once in CI both acted)
// is dropped by its holder, whatever the two copies' ages and ids; the
// first copy, redelivered to another process after its holder died, is
// acted on there.
func TestLateCopyDropped(t *testing.T) {
	c := holdFirstCopy(t)
	e, fake, hook, b, ev, first := c.e, c.fake, c.hook, c.b, c.ev, c.first
	cancelA, doneA := c.cancelA, c.doneA

	late := e.postOne("hook-events", ev)
	cancelB, doneB := handleAsync(b, late, ev)
	defer cancelB()
	var err error
	eventually(t, "the late copy dropped or acted on", func() bool {
		select {
		case err = <-doneB:
			return true
		default:
			return hook.count("/app_hooked") > 1
		}
	})
	if n := hook.count("/app_hooked"); n != 1 || err != nil {
		t.Fatalf("webhook called %d times (the late copy was acted on too?), Handle: %v", n, err)
	}

	cancelA()
	if err := <-doneA; err == nil {
		t.Fatal("a holder stopped while waiting reports no error: its event would be deleted")
	}
	hook.open()
	if err := b.Handle(t.Context(), consume.Delivery{Queue: "hook-events", MessageID: first, Event: ev}); err != nil {
		t.Fatalf("first copy redelivered: %v", err)
	}
	if n := hook.count("/app_hooked"); n != 2 {
		t.Errorf("webhook calls %d, want 2 (the first holder's, then its successor's)", n)
	}
	sg, _ := fake.Sent()
	if got, want := signalSummary(sg), `hook-demo/app_hooked {"unset_hook":"pre-create"} 200`; got != want {
		t.Errorf("signals %s, want %s", got, want)
	}
	if got := e.ledger("hook-events-ledger"); strings.Join(got, ",") != "app_hooked approved cleared" {
		t.Errorf("ledger %v", got)
	}
	noLocks(t, e)
}

// A copy chosen by the lock that vanished unsettled (every watcher was
// down past its TTL) does not keep the event's other copies from being
// acted on.
func TestVanishedChosenCopy(t *testing.T) {
	c := holdFirstCopy(t)
	e, fake, hook, a, b, ev, first := c.e, c.fake, c.hook, c.a, c.b, c.ev, c.first
	cancelA, doneA := c.cancelA, c.doneA
	cancelA()
	<-doneA
	_, err := e.zaqar.Delete(t.Context(), e.zaqar.ServiceURL("v2", "queues", "hook-events", "messages", first), nil)
	if err != nil {
		t.Fatal(err)
	}
	hook.open()

	late := e.postOne("hook-events", ev)
	if err := b.Handle(t.Context(), consume.Delivery{Queue: "hook-events", MessageID: late, Event: ev}); err != nil {
		t.Fatalf("other copy: %v", err)
	}
	if n := hook.count("/app_hooked"); n != 2 {
		t.Errorf("webhook calls %d, want 2", n)
	}
	if got := signalSummary(fake.Cleared()); got != `hook-demo/app_hooked {"unset_hook":"pre-create"} 200` {
		t.Errorf("cleared %s", got)
	}
	if got := e.ledger("hook-events-ledger"); strings.Join(got, ",") != "app_hooked approved cleared" {
		t.Errorf("ledger %v", got)
	}
	noLocks(t, e)
	// A copy handled after the outcome is in the ledger is dropped.
	again := e.postOne("hook-events", ev)
	if err := a.Handle(t.Context(), consume.Delivery{Queue: "hook-events", MessageID: again, Event: ev}); err != nil {
		t.Fatal(err)
	}
	if n := hook.count("/app_hooked"); n != 2 {
		t.Errorf("webhook calls %d after a settled event came again", n)
	}
	noLocks(t, e)
}

// value reads a counter's or a gauge's value.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}
