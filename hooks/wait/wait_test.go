package wait_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"

	"github.com/zaqar-go/suite/hooks"
	"github.com/zaqar-go/suite/hooks/internal/hookstest"
	"github.com/zaqar-go/suite/hooks/wait"
	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/testenv"
)

func TestMain(m *testing.M) { hookstest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var hook = hooks.Hook{
	Type: "pre-create", Action: "CREATE",
	Stack: hooks.Stack{Name: "web.prod-child-abc", ID: "1e678c0b-9826-4fbe-95b6-3670884ac0d1"},
	Root:  hooks.Stack{Name: "web.prod", ID: "73c2895f-d426-455d-bf63-e692e1c030ac"},
	Path:  "child/app server", Resource: "app server", ResourceType: "OS::Heat::None",
	Status: "INIT_COMPLETE", EventID: "d52b1b48-8299-4f65-a0df-f7a8e862dd72",
	EventTime: time.Date(2026, 11, 24, 21, 14, 56, 0, time.UTC),
}

func TestExpand(t *testing.T) {
	for _, tc := range []struct{ tmpl, want, queue string }{
		{"approve-{stack}", "approve-web.prod", "approve-web-prod"},
		{"{stack}/{path}/{hook}", "web.prod/child/app server/pre-create", "web-prod-child-app-server-pre-create"},
		{"{nested_stack}-{resource}", "web.prod-child-abc-app server", "web-prod-child-abc-app-server"},
		{"{event_id}{event_id}", hook.EventID + hook.EventID, (hook.EventID + hook.EventID)[:64]},
		{"{action}-{stack_id}", "CREATE-" + hook.Root.ID, "CREATE-" + hook.Root.ID},
	} {
		if got := wait.Expand(tc.tmpl, hook); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.tmpl, got, tc.want)
		}
		if got := wait.QueueName(tc.tmpl, hook); got != tc.queue {
			t.Errorf("QueueName(%q) = %q, want %q", tc.tmpl, got, tc.queue)
		}
	}
}

// zaqar starts a server and returns a client in a fresh project.
func zaqar(t *testing.T) *gophercloud.ServiceClient {
	t.Helper()
	return cloud.NoAuth(hookstest.StartZaqar(t, ""), "p-"+uuid.NewString()[:8])
}

// post posts messages with any JSON bodies (gophercloud's CreateOpts
// takes objects only).
func post(t *testing.T, c *gophercloud.ServiceClient, queue string, bodies ...any) {
	t.Helper()
	var msgs []map[string]any
	for _, b := range bodies {
		msgs = append(msgs, map[string]any{"ttl": 300, "body": b})
	}
	_, err := c.Post(t.Context(), c.ServiceURL("v2", "queues", queue, "messages"), map[string]any{"messages": msgs}, nil,
		&gophercloud.RequestOpts{OkCodes: []int{201}})
	if err != nil {
		t.Fatal(err)
	}
}

// bodies lists the queue's message bodies, claimed ones too (the tests
// post fewer than 20).
func bodies(t *testing.T, c *gophercloud.ServiceClient, queue string) []string {
	t.Helper()
	var page struct {
		Messages []struct {
			Body json.RawMessage `json:"body"`
		} `json:"messages"`
	}
	_, err := c.Get(t.Context(), c.ServiceURL("v2", "queues", queue, "messages")+"?echo=true&include_claimed=true&limit=20", &page,
		&gophercloud.RequestOpts{OkCodes: []int{200, 204}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range page.Messages {
		out = append(out, string(m.Body))
	}
	return out
}

func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestApproval(t *testing.T) {
	c, looks := counted(t, "")
	a := &wait.Approval{Client: c, Queue: "approve-{stack}", Interval: 50 * time.Millisecond, Log: quiet}
	q := "approve-web-prod"
	post(t, c, q,
		map[string]any{"note": "no approve field"},
		map[string]any{"approve": true, "event_id": "another-event"},
		map[string]any{"approve": true, "stack": "other-stack"},
		map[string]any{"approve": "yes"},
		map[string]any{"approve": false, "reason": "change window closed", "stack": "web.prod", "resource": "child/app server", "hook": "pre-create"},
	)
	r, err := a.Wait(within(t, 10*time.Second), hook)
	if err != nil {
		t.Fatal(err)
	}
	if r.Approved || r.Reason != "change window closed" {
		t.Errorf("Wait = %+v, want a rejection", r)
	}
	if n := len(bodies(t, c, q)); n != 5 {
		t.Errorf("%d messages before Ack, want 5", n)
	}
	if err := r.Done(t.Context()); err != nil {
		t.Fatal(err)
	}
	left := bodies(t, c, q)
	if len(left) != 4 || strings.Contains(strings.Join(left, " "), "change window") {
		t.Errorf("after Ack: %v", left)
	}
	// The others are unclaimed again: an approval for this hook arrives.
	post(t, c, q, map[string]any{"approve": true, "event_id": hook.EventID})
	r, err = a.Wait(within(t, 10*time.Second), hook)
	if err != nil || !r.Approved {
		t.Fatalf("Wait = %+v, %v; want approved", r, err)
	}
	r.Undo(t.Context()) // not carried out: the approval stays for the next wait
	if n := len(bodies(t, c, q)); n != 5 {
		t.Errorf("%d messages after Undo, want 5", n)
	}
	r, err = a.Wait(within(t, 10*time.Second), hook)
	if err != nil || !r.Approved {
		t.Fatalf("Wait after Undo = %+v, %v; want approved", r, err)
	}
	if err := r.Done(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Nothing for it: looks again and again until ctx ends.
	undecided(t, a, hook, looks)
}

// An approval posted before the pause and naming no pause is stale: it
// never approves that pause (once, one left from an earlier run or a
// double click cleared the next matching hook). One naming the pause by
// event id or by time does, whenever it was posted.
func TestApprovalStale(t *testing.T) {
	c, looks := counted(t, "")
	q := "approve-stale"
	a := &wait.Approval{Client: c, Queue: q, Interval: 20 * time.Millisecond, Log: quiet}
	post(t, c, q, map[string]any{"approve": true}, map[string]any{"approve": true, "stack": "web.prod", "hook": "pre-create"})
	// Zaqar's age counts whole seconds: a pause two seconds after now.
	paused := hook
	paused.EventTime = time.Now().UTC().Add(2 * time.Second)
	undecided(t, a, paused, looks) // stale approvals
	byTime := map[string]any{"approve": false, "reason": "by time", "stack": "web.prod", "resource": "child/app server",
		"hook": "pre-create", "paused_at": paused.EventTime.Format(time.RFC3339)}
	bad := map[string]any{"approve": true, "resource": "app server", "paused_at": paused.EventTime.Format(time.RFC3339)}
	post(t, c, q, bad, byTime)
	r, err := a.Wait(within(t, 5*time.Second), paused)
	if err != nil || r.Approved || r.Reason != "by time" {
		t.Fatalf("named by paused_at: Wait = %+v, %v; want the rejection", r, err)
	}
	r.Done(t.Context())
	post(t, c, q, map[string]any{"approve": true, "reason": "by id", "event_id": paused.EventID})
	r, err = a.Wait(within(t, 5*time.Second), paused)
	if err != nil || !r.Approved || r.Reason != "by id" {
		t.Fatalf("named by event_id: Wait = %+v, %v; want approved", r, err)
	}
	r.Done(t.Context())
	// Posted two seconds after a pause, an approval naming none counts.
	paused.EventTime = time.Now().UTC().Add(-2 * time.Second)
	a.Queue = q + "-2"
	post(t, c, a.Queue, map[string]any{"approve": true, "reason": "after", "hook": "pre-create"})
	r, err = a.Wait(within(t, 5*time.Second), paused)
	if err != nil || !r.Approved {
		t.Fatalf("unnamed approval after the pause: Wait = %+v, %v; want approved", r, err)
	}
	if r.Reason != "after" {
		t.Errorf("approved by %q, want the message posted after the pause", r.Reason)
	}
}

// Two waiters of the same hook never both take one approval.
func TestApprovalOnce(t *testing.T) {
	c := zaqar(t)
	q := "approve-once"
	post(t, c, q, map[string]any{"approve": true})
	var approved atomic.Int32
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &wait.Approval{Client: c, Queue: q, Interval: 20 * time.Millisecond, Log: quiet}
			r, err := a.Wait(within(t, time.Second), hook)
			if err == nil && r.Approved {
				approved.Add(1)
				r.Done(t.Context())
			}
		}()
	}
	wg.Wait()
	if n := approved.Load(); n != 1 {
		t.Errorf("%d waiters took the approval, want 1", n)
	}
}

func TestWebhook(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	var got struct {
		path, method, ctype, auth string
		doc                       hooks.Hook
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got.path, got.method, got.ctype, got.auth = r.URL.EscapedPath(), r.Method, r.Header.Get("Content-Type"), r.Header.Get("Authorization")
		json.NewDecoder(r.Body).Decode(&got.doc)
		mu.Unlock()
		switch n := calls.Add(1); {
		case strings.Contains(r.URL.Path, "/never"):
			http.Error(w, "not approved: ticket CHG-1 open", http.StatusForbidden)
		case n < 3:
			http.Error(w, "pending", http.StatusConflict)
		}
	}))
	defer srv.Close()
	w := &wait.Webhook{Client: srv.Client(), URL: srv.URL + "/approve/{stack}/{path}", Headers: map[string]string{"Authorization": "Bearer x"},
		Interval: 20 * time.Millisecond, Log: quiet}
	r, err := w.Wait(within(t, 10*time.Second), hook)
	if err != nil || !r.Approved {
		t.Fatalf("Wait = %+v, %v", r, err)
	}
	mu.Lock()
	if calls.Load() != 3 || got.path != "/approve/web.prod/child%2Fapp%20server" || got.method != "POST" || got.ctype != "application/json" ||
		got.auth != "Bearer x" || got.doc.EventID != hook.EventID || got.doc.Path != hook.Path || got.doc.Root != hook.Root {
		t.Errorf("%d calls, last %+v", calls.Load(), got)
	}
	mu.Unlock()

	once := &wait.Webhook{Client: srv.Client(), URL: srv.URL + "/never", Method: "PUT", Once: true, Log: quiet}
	r, err = once.Wait(within(t, 10*time.Second), hook)
	if err != nil || r.Approved || !strings.Contains(r.Reason, "403") || !strings.Contains(r.Reason, "ticket CHG-1 open") {
		t.Errorf("Once: %+v, %v", r, err)
	}
	// Unreachable: retried until the end.
	down := &wait.Webhook{Client: srv.Client(), URL: "http://127.0.0.1:1/", Once: true, Interval: 20 * time.Millisecond, Log: quiet}
	if _, err := down.Wait(within(t, 200*time.Millisecond), hook); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unreachable: %v", err)
	}
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "second-run")
	for _, tc := range []struct {
		name     string
		cmd      wait.Command
		approved bool
		reason   string
	}{
		{"exit 0 with the hook in the environment and on stdin", wait.Command{Argv: []string{"sh", "-c",
			`test "$HOOK_PATH" = "child/app server" && test "$HOOK_STACK_NAME" = web.prod && test "$X" = "pre-create" && test "$1" = web.prod && grep -q '"event_id":"d52b1b48' `, "sh", "{stack}"},
			Env: map[string]string{"X": "{hook}"}}, true, "sh exited 0"},
		{"retried until 0", wait.Command{Argv: []string{"sh", "-c", `test -e "$0" || { touch "$0"; exit 1; }`, flag}}, true, "sh exited 0"},
		{"once", wait.Command{Argv: []string{"sh", "-c", "echo smoke test failed >&2; exit 3"}, Once: true}, false, "sh: exit status 3: smoke test failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cmd.Interval, tc.cmd.Log = 20*time.Millisecond, quiet
			r, err := tc.cmd.Wait(within(t, 10*time.Second), hook)
			if err != nil || r.Approved != tc.approved || r.Reason != tc.reason {
				t.Errorf("Wait = %+v, %v; want approved %v reason %q", r, err, tc.approved, tc.reason)
			}
		})
	}
	// The wait's end kills the command and what it started.
	pidFile := filepath.Join(dir, "pid")
	c := wait.Command{Argv: []string{"sh", "-c", `sleep 60 & echo $! > "$0"; wait`, pidFile}, Log: quiet}
	start := time.Now()
	if _, err := c.Wait(within(t, 500*time.Millisecond), hook); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Wait returned after %s", d)
	}
	pid, _ := os.ReadFile(pidFile)
	if p := strings.TrimSpace(string(pid)); p != "" {
		// SIGKILL is delivered at once, but the process may take a moment
		// to be gone: poll for it to exit (or be a zombie) instead of
		// checking once.
		gone := func() bool {
			stat, err := os.ReadFile("/proc/" + p + "/stat")
			return err != nil || strings.Contains(string(stat), ") Z ")
		}
		for deadline := time.Now().Add(10 * time.Second); !gone() && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if !gone() {
			t.Errorf("sleep %s still runs", p)
		}
	}
}

func TestQueueCondition(t *testing.T) {
	c, looks := counted(t, "")
	empty := &wait.QueueCondition{Client: c, Queue: "drain-{resource}", Empty: true, Interval: 20 * time.Millisecond, Log: quiet}
	if r, err := empty.Wait(within(t, 5*time.Second), hook); err != nil || !r.Approved {
		t.Errorf("empty, no queue: %+v, %v", r, err)
	}
	post(t, c, "drain-app-server", map[string]any{"job": 1})
	undecided(t, empty, hook, looks) // empty, with a message

	match := &wait.QueueCondition{Client: c, Queue: "ready", Match: map[string]any{"ready": true, "n": 2, "who": map[string]any{"team": "db"}},
		Consume: true, Interval: 20 * time.Millisecond, Log: quiet}
	post(t, c, "ready", map[string]any{"ready": true, "n": 1, "who": map[string]any{"team": "db"}},
		map[string]any{"ready": true, "n": 2, "who": map[string]any{"team": "web"}}, "just a string")
	undecided(t, match, hook, looks) // no matching message
	post(t, c, "ready", map[string]any{"ready": true, "n": 2.0, "who": map[string]any{"team": "db", "on_call": "kim"}, "extra": 1})
	r, err := match.Wait(within(t, 5*time.Second), hook)
	if err != nil || !r.Approved {
		t.Fatalf("matching message: %+v, %v", r, err)
	}
	if err := r.Done(t.Context()); err != nil {
		t.Fatal(err)
	}
	if left := bodies(t, c, "ready"); len(left) != 3 {
		t.Errorf("after consuming: %v", left)
	}
	peek := *match
	peek.Match, peek.Consume = map[string]any{"n": 1}, false
	if r, err := peek.Wait(within(t, 5*time.Second), hook); err != nil || !r.Approved {
		t.Errorf("peek: %+v, %v", r, err)
	}
	if left := bodies(t, c, "ready"); len(left) != 3 {
		t.Errorf("after a peek: %v", left)
	}
}

func TestDeadline(t *testing.T) {
	past := &wait.Deadline{After: time.Minute} // the hook paused in 2026-11-24
	if r, err := past.Wait(within(t, time.Second), hook); err != nil || !r.Approved {
		t.Errorf("After, passed: %+v, %v", r, err)
	}
	soon := &wait.Deadline{At: time.Now().Add(100 * time.Millisecond)}
	if r, err := soon.Wait(within(t, 5*time.Second), hook); err != nil || !r.Approved {
		t.Errorf("At: %+v, %v", r, err)
	}
	later := &wait.Deadline{At: time.Now().Add(time.Hour)}
	if _, err := later.Wait(within(t, 100*time.Millisecond), hook); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("At later: %v", err)
	}
}

// slowClaims serves the Zaqar at upstream, but answers claim requests only
// after delay: the claim is made at once, as when a waiter's time runs out
// while Zaqar's answer is on its way.
func slowClaims(t *testing.T, upstream string, delay time.Duration) string {
	u, _ := url.Parse(upstream)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodPost && strings.HasSuffix(resp.Request.URL.Path, "/claims") {
			time.Sleep(delay)
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

// A waiter whose time runs out during a claim request still learns the
// claim and gives its messages back (once a timed-out look left them held
// for the claim's minute, and the next waiter on the queue saw nothing).
func TestClaimOutlivesTimeout(t *testing.T) {
	url := hookstest.StartZaqar(t, "")
	project := "p-" + uuid.NewString()[:8]
	direct := cloud.NoAuth(url, project)
	post(t, direct, "ready", map[string]any{"n": 1})
	slow := &wait.QueueCondition{Client: cloud.NoAuth(slowClaims(t, url, 300*time.Millisecond), project), Queue: "ready",
		Match: map[string]any{"n": 2}, Interval: 20 * time.Millisecond, Log: quiet}
	if _, err := slow.Wait(within(t, 100*time.Millisecond), hook); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no match: %v", err)
	}
	peek := &wait.QueueCondition{Client: direct, Queue: "ready", Match: map[string]any{"n": 1}, Interval: 20 * time.Millisecond, Log: quiet}
	if r, err := peek.Wait(within(t, 2*time.Second), hook); err != nil || !r.Approved {
		t.Errorf("the message is still held by the timed-out waiter's claim: %+v, %v", r, err)
	}
}

// counted is a client of a fresh server in a fresh project, through a
// proxy counting the waiter's looks (claims and stats).
func counted(t *testing.T, conf string) (*gophercloud.ServiceClient, *atomic.Int32) {
	t.Helper()
	u, err := url.Parse(hookstest.StartZaqar(t, conf))
	if err != nil {
		t.Fatal(err)
	}
	var looks atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/claims")) || strings.HasSuffix(r.URL.Path, "/stats") {
			looks.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return cloud.NoAuth(srv.URL, "p-"+uuid.NewString()[:8]), &looks
}

// undecided runs w until it looked at its queue twice more, then stops it:
// it must not have decided, and must return the stop's error.
func undecided(t *testing.T, w wait.Waiter, h hooks.Hook, looks *atomic.Int32) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		r   wait.Result
		err error
	}
	done := make(chan result, 1)
	from := looks.Load()
	go func() {
		r, err := w.Wait(ctx, h)
		done <- result{r, err}
	}()
	testenv.Eventually(t, "two looks", 30*time.Second, 10*time.Millisecond, func() bool {
		select {
		case res := <-done:
			done <- res // decided: reported below
			return true
		default:
			return looks.Load() >= from+2
		}
	})
	cancel()
	if res := <-done; !errors.Is(res.err, context.Canceled) {
		t.Errorf("Wait = %+v, %v; want no decision", res.r, res.err)
	}
}

// With long polling the waiter's claim waits on the server: an approval
// posted meanwhile decides at once, though the interval is an hour. It
// names no pause, so it counts only when surely posted after it, which the
// held claim's message age does not tell: the waiter claims again at once
// to learn it.
func TestApprovalLongPoll(t *testing.T) {
	url, waiting := hookstest.StartZaqarWaiters(t, "")
	c := cloud.NoAuth(url, "p-"+uuid.NewString()[:8])
	a := &wait.Approval{Client: c, Queue: "approve-wait", LongPoll: 20 * time.Second, Interval: time.Hour, Log: quiet}
	paused := hook
	paused.EventTime = time.Now().Add(500 * time.Millisecond)
	type result struct {
		r   wait.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := a.Wait(within(t, time.Minute), paused)
		done <- result{r, err}
	}()
	testenv.Eventually(t, "the waiter's claim held by the server", 30*time.Second, 20*time.Millisecond, func() bool { return waiting() == 1 })
	// Zaqar's ages are whole seconds: post surely a second after the pause.
	<-time.After(time.Until(paused.EventTime.Add(1500 * time.Millisecond)))
	post(t, c, "approve-wait", map[string]any{"approve": true, "reason": "after the pause"})
	res := <-done
	if res.err != nil || !res.r.Approved || res.r.Reason != "after the pause" {
		t.Fatalf("Wait = %+v, %v; want approved by the message posted while waiting", res.r, res.err)
	}
	res.r.Done(t.Context())
}

// Against a server that answers at once (max_wait 0, as Zaqar), a waiter
// asking to wait looks once per interval, not again and again; and a stop
// while a look waits on the server ends it at once.
func TestQueueConditionLongPoll(t *testing.T) {
	t.Run("not held", func(t *testing.T) {
		c, looks := counted(t, "[transport]\nmax_wait = 0\n")
		q := &wait.QueueCondition{Client: c, Queue: "ready", Match: map[string]any{"ready": true}, LongPoll: 20 * time.Second, Interval: time.Hour, Log: quiet}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { _, err := q.Wait(ctx, hook); done <- err }()
		testenv.Eventually(t, "a look", 30*time.Second, 10*time.Millisecond, func() bool { return looks.Load() > 0 })
		for range 50 { // round trips of our own, during which a spinning waiter would look again
			bodies(t, c, "ready")
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Wait = %v, want canceled", err)
		}
		if n := looks.Load(); n != 1 {
			t.Errorf("%d looks, want 1: an empty answer not held is followed by the interval", n)
		}
	})
	t.Run("stop while held", func(t *testing.T) {
		url, waiting := hookstest.StartZaqarWaiters(t, "[transport]\nmax_wait = 3600\n")
		c := cloud.NoAuth(url, "p-"+uuid.NewString()[:8])
		c.HTTPClient.Timeout = 0 // the hour's wait is asked as is
		q := &wait.QueueCondition{Client: c, Queue: "ready", LongPoll: time.Hour, Interval: time.Hour, Log: quiet}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { _, err := q.Wait(ctx, hook); done <- err }()
		testenv.Eventually(t, "the waiter's claim held by the server", 30*time.Second, 20*time.Millisecond, func() bool { return waiting() == 1 })
		cancel()
		// A claim left running would hold Wait for the hour.
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Wait = %v, want canceled", err)
		}
		testenv.Eventually(t, "the server to see the waiter go", 30*time.Second, 20*time.Millisecond, func() bool { return waiting() == 0 })
	})
}
