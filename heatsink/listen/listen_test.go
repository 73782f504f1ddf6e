package listen_test

// Integration tests against the real zaqar-server (built and started by
// the test, memory store, no auth: requests carry X-Project-ID), fed with
// the messages real Heat posted (heat-captures).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/queues"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zaqar-go/suite/heatsink/listen"
	"github.com/zaqar-go/suite/heatsink/prepare"
	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/consume"
	"github.com/zaqar-go/suite/internal/heatevent"
	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/internal/zaqartest"
)

const captures = "../../../shared/reference/heat-captures"

type capturedMessage struct {
	Body json.RawMessage `json:"body"`
	TTL  int             `json:"ttl"`
}

func TestMain(m *testing.M) { zaqartest.Main(m) }

func sinkMessages(t *testing.T) []capturedMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(captures, "heat-sink-messages.json"))
	if err != nil {
		t.Skipf("capture: %v", err)
	}
	var doc struct{ Messages []capturedMessage }
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Messages
}

// post posts messages to queue as Heat does: one request per event.
func post(t *testing.T, c *gophercloud.ServiceClient, queue string, msgs []capturedMessage) {
	t.Helper()
	for _, m := range msgs {
		var body map[string]any
		if err := json.Unmarshal(m.Body, &body); err != nil {
			t.Fatal(err)
		}
		if err := messages.Create(t.Context(), c, queue, messages.BatchCreateOpts{{TTL: m.TTL, Body: body}}).Err; err != nil {
			t.Fatalf("post: %v", err)
		}
	}
}

func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func connectTo(c *gophercloud.ServiceClient) listen.Connect {
	return func(queue, signedURL string) (*gophercloud.ServiceClient, error) {
		if signedURL != "" {
			u, err := cloud.ReadSignedURL(signedURL)
			if err != nil {
				return nil, err
			}
			return cloud.Signed(u), nil
		}
		return c, nil
	}
}

// drain calls Once until a claim comes back empty.
func drain(t *testing.T, l *consume.Listener, queue string) int {
	t.Helper()
	total := 0
	for range 100 {
		n, err := l.Once(t.Context(), queue)
		if err != nil {
			t.Fatalf("Once: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("queue never drained")
	return 0
}

func stats(t *testing.T, c *gophercloud.ServiceClient, queue string) queues.Stats {
	t.Helper()
	s, err := queues.GetStats(t.Context(), c, queue).Extract()
	if err != nil {
		t.Fatalf("stats %s: %v", queue, err)
	}
	return s
}

// TestListenAllActions: every captured event reaches a webhook, a command
// and another queue, in order, and leaves the sink queue empty.
func TestListenAllActions(t *testing.T) {
	url := zaqartest.Start(t, "")
	c := cloud.NoAuth(url, "heatsink-listen")
	msgs := sinkMessages(t)
	post(t, c, "sink", msgs)

	var mu sync.Mutex
	var hooked []heatevent.Event
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e, err := heatevent.Decode(body)
		if err != nil || r.Header.Get("X-Heat-Event-ID") != e.ID || r.Header.Get("X-Token") != "t0k" {
			http.Error(w, fmt.Sprint("bad webhook call ", err), http.StatusBadRequest)
			return
		}
		mu.Lock()
		hooked = append(hooked, e)
		mu.Unlock()
	}))
	defer hook.Close()

	dir := t.TempDir()
	out := filepath.Join(dir, "command.out")
	cfg := fmt.Sprintf(`
queues: [{name: sink}]
rules:
  - name: hook
    webhook: {url: %q, headers: {X-Token: t0k}}
  - name: cmd
    match: {resource_type: "OS::Heat::*", status: COMPLETE}
    command: [sh, -c, 'printf "%%s %%s " "$HEAT_RESOURCE_NAME" "$HEAT_RESOURCE_ACTION" >> %s; cat >> %s; echo >> %s']
  - name: copy
    match: {resource_name: test_res}
    queue: {name: copy}
`, hook.URL, out, out, out)
	conf, err := listen.ParseConfig("listeners.yml", []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	l, err := listen.New(conf, connectTo(c), logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if n := drain(t, l, "sink"); n != len(msgs) {
		t.Errorf("claimed %d messages, want %d", n, len(msgs))
	}
	if s := stats(t, c, "sink"); s.Total != 0 {
		t.Errorf("sink queue still holds %+v", s)
	}

	// Webhook: every event, in Heat's order.
	if len(hooked) != len(msgs) {
		t.Fatalf("webhook got %d events, want %d", len(hooked), len(msgs))
	}
	for i, m := range msgs {
		want, _ := heatevent.Decode(m.Body)
		if hooked[i].ID != want.ID {
			t.Errorf("webhook event %d = %s, want %s", i, hooked[i].ID, want.ID)
		}
	}
	// Command: only OS::Heat::* COMPLETE events, with the event on stdin.
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	wantLines := 0
	for _, m := range msgs {
		e, _ := heatevent.Decode(m.Body)
		if strings.HasPrefix(e.Payload.ResourceType, "OS::Heat::") && e.Payload.ResourceStatus == "COMPLETE" {
			line := lines[wantLines]
			prefix := e.Payload.ResourceName + " " + e.Payload.ResourceAction + " "
			if !strings.HasPrefix(line, prefix) {
				t.Errorf("command line %d = %q, want prefix %q", wantLines, line, prefix)
			} else if got, err := heatevent.Decode([]byte(strings.TrimPrefix(line, prefix))); err != nil || got.ID != e.ID {
				t.Errorf("command stdin %d: %v, %s", wantLines, err, line)
			}
			wantLines++
		}
	}
	if len(lines) != wantLines {
		t.Errorf("command ran %d times, want %d", len(lines), wantLines)
	}
	// Re-post: test_res events, with the TTL they arrived with.
	var copied []struct {
		TTL  int             `json:"ttl"`
		Body heatevent.Event `json:"body"`
	}
	page, err := messages.List(c, "copy", messages.ListOpts{Echo: true, Limit: 20}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := page.(messages.MessagePage).ExtractIntoSlicePtr(&copied, "messages"); err != nil {
		t.Fatal(err)
	}
	wantCopies := 0
	for _, m := range msgs {
		if e, _ := heatevent.Decode(m.Body); e.Payload.ResourceName == "test_res" {
			wantCopies++
		}
	}
	if len(copied) != wantCopies || copied[0].TTL != 1200 || copied[0].Body.Payload.ResourceName != "test_res" {
		t.Errorf("copy queue = %+v, want %d test_res events with ttl 1200", copied, wantCopies)
	}
}

// TestListenDeadLetter: an event whose action keeps failing is retried and
// then moved to the dead-letter queue that prepare set up; the other
// events are handled.
func TestListenDeadLetter(t *testing.T) {
	url := zaqartest.Start(t, "")
	c := cloud.NoAuth(url, "heatsink-dlq")
	opts := prepare.Defaults
	opts.MaxClaimCount = 2
	if _, err := prepare.Queues(t.Context(), c, []string{"sink"}, opts); err != nil {
		t.Fatal(err)
	}
	msgs := sinkMessages(t)[:4]
	post(t, c, "sink", msgs)
	bad, _ := heatevent.Decode(msgs[1].Body) // test_res CREATE IN_PROGRESS

	var mu sync.Mutex
	tries := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Heat-Event-ID")
		mu.Lock()
		tries[id]++
		mu.Unlock()
		if id == bad.ID {
			http.Error(w, "inventory is down", http.StatusServiceUnavailable)
		}
	}))
	defer hook.Close()
	conf, err := listen.ParseConfig("listeners.yml", []byte(fmt.Sprintf(`
claim: {release_failed: true}
retry: {initial: 10ms, max: 20ms}
queues: [{name: sink}]
rules: [{webhook: {url: %q}}]
`, hook.URL)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := listen.New(conf, connectTo(c), logger(t))
	if err != nil {
		t.Fatal(err)
	}
	drain(t, l, "sink")

	if s := stats(t, c, "sink"); s.Total != 0 {
		t.Errorf("sink queue still holds %+v", s)
	}
	var dead []struct {
		Body heatevent.Event `json:"body"`
	}
	page, err := messages.List(c, "sink-dlq", messages.ListOpts{Echo: true}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := page.(messages.MessagePage).ExtractIntoSlicePtr(&dead, "messages"); err != nil {
		t.Fatal(err)
	}
	// The failing event and the later event of the same resource, which
	// is held back to keep the resource's order, end in the DLQ.
	if len(dead) != 2 || dead[0].Body.ID != bad.ID || dead[1].Body.Payload.ResourceName != "test_res" {
		t.Errorf("dead-letter queue = %+v, want the two test_res events", dead)
	}
	if want := opts.MaxClaimCount * conf.Retry.Attempts; tries[bad.ID] != want {
		t.Errorf("failing event tried %d times, want %d (claims x attempts)", tries[bad.ID], want)
	}
	for _, i := range []int{0, 3} {
		e, _ := heatevent.Decode(msgs[i].Body)
		if tries[e.ID] != 1 {
			t.Errorf("event %d tried %d times, want 1", i, tries[e.ID])
		}
	}
}

// TestListenSignedURL: a listener with only a pre-signed URL (no
// credentials, no project header of its own) claims and deletes events.
func TestListenSignedURL(t *testing.T) {
	url := zaqartest.Start(t, "[signed_url]\nsecret_key = heatsink-test-secret\n")
	c := cloud.NoAuth(url, "heatsink-signed")
	msgs := sinkMessages(t)[:5]
	post(t, c, "sink", msgs)

	var share struct {
		Project   string   `json:"project"`
		Paths     []string `json:"paths"`
		Methods   []string `json:"methods"`
		Expires   string   `json:"expires"`
		Signature string   `json:"signature"`
	}
	err := queues.Share(t.Context(), c, "sink", queues.ShareOpts{
		Paths:   []queues.SharePath{queues.PathMessages, queues.PathClaims},
		Methods: []queues.ShareMethod{queues.MethodGet, queues.MethodPost, queues.ShareMethod("DELETE"), queues.MethodPatch},
		Expires: time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05"),
	}).ExtractInto(&share)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "sink.json")
	doc, _ := json.Marshal(cloud.SignedURL{Endpoint: url, Queue: "sink", Project: share.Project, Paths: share.Paths,
		Methods: share.Methods, Expires: share.Expires, Signature: share.Signature})
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}

	seen := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen++ }))
	defer hook.Close()
	conf, err := listen.ParseConfig("listeners.yml", []byte(fmt.Sprintf(
		"queues: [{name: sink, signed_url: %q}]\nrules: [{webhook: {url: %q}}]\n", file, hook.URL)))
	if err != nil {
		t.Fatal(err)
	}
	// No credentials at all: any unsigned call would fail.
	l, err := listen.New(conf, connectTo(nil), logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if n := drain(t, l, "sink"); n != len(msgs) || seen != len(msgs) {
		t.Errorf("claimed %d, webhook saw %d, want %d", n, seen, len(msgs))
	}
	if s := stats(t, c, "sink"); s.Total != 0 {
		t.Errorf("sink queue still holds %+v", s)
	}

	// A tampered signature is refused (Zaqar answers 404).
	u, _ := cloud.ReadSignedURL(file)
	u.Signature = strings.Repeat("0", len(u.Signature))
	post(t, c, "sink", msgs[:1])
	conf.Queues[0].SignedURL = ""
	bad, err := listen.New(conf, func(string, string) (*gophercloud.ServiceClient, error) { return cloud.Signed(u), nil }, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Once(t.Context(), "sink"); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Errorf("claim with a tampered signature: %v, want 404", err)
	}
}

// TestListenSharedQueue: two listeners (as two processes would) share one
// queue through claims; each event is handled exactly once.
func TestListenSharedQueue(t *testing.T) {
	url := zaqartest.Start(t, "")
	c := cloud.NoAuth(url, "heatsink-shared")
	msgs := sinkMessages(t)
	post(t, c, "sink", msgs)

	var mu sync.Mutex
	handled := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // let the other listener claim meanwhile
		mu.Lock()
		handled[r.Header.Get("X-Heat-Event-ID")]++
		mu.Unlock()
	}))
	defer hook.Close()
	conf, err := listen.ParseConfig("listeners.yml", []byte(fmt.Sprintf(
		"claim: {limit: 3, poll: 50ms}\nqueues: [{name: sink}]\nrules: [{webhook: {url: %q}}]\n", hook.URL)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 2 {
		l, err := listen.New(conf, connectTo(c), logger(t))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); l.Run(ctx) }()
	}
	testenv.Eventually(t, "the queue drained", 30*time.Second, 50*time.Millisecond, func() bool { return stats(t, c, "sink").Total == 0 })
	cancel()
	wg.Wait()
	if len(handled) != len(msgs) {
		t.Errorf("%d distinct events handled, want %d", len(handled), len(msgs))
	}
	for id, n := range handled {
		if n != 1 {
			t.Errorf("event %s handled %d times", id, n)
		}
	}
}

// With a listeners.yml that leaves claim.wait out, the listener's claims
// wait on the server: an event posted while it waits is handled at once,
// though claim.poll is an hour.
func TestListenLongPoll(t *testing.T) {
	url, waiting := zaqartest.StartWaiters(t, "")
	c := cloud.NoAuth(url, "heatsink-wait")
	got := make(chan string, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("X-Heat-Event-ID")
	}))
	defer hook.Close()
	conf, err := listen.ParseConfig("listeners.yml", []byte(fmt.Sprintf(
		"claim: {poll: 1h}\nqueues: [{name: sink}]\nrules: [{webhook: {url: %q}}]\n", hook.URL)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := listen.New(conf, connectTo(c), logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	exited := make(chan struct{})
	go func() { defer close(exited); l.Run(ctx) }()
	testenv.Eventually(t, "the listener's claim held by the server", 30*time.Second, 20*time.Millisecond, func() bool { return waiting() == 1 })
	msg := sinkMessages(t)[0]
	post(t, c, "sink", []capturedMessage{msg})
	want, _ := heatevent.Decode(msg.Body)
	select {
	case id := <-got:
		if id != want.ID {
			t.Errorf("webhook got event %s, want %s", id, want.ID)
		}
	case <-time.After(30 * time.Second):
		t.Error("the event posted while the listener waited was not handled")
	}
	cancel()
	<-exited
}

// A stop (SIGTERM) lets the action under way finish within the shutdown
// grace, or cancels it after, and hands the claimed events not done back
// to the queue at once: once they stayed claimed until the claim TTL, and
// the next listener waited that long.
func TestListenStop(t *testing.T) {
	for _, tc := range []struct {
		name   string
		grace  time.Duration
		finish bool // the webhook answers once the stop came
		free   int  // events left free in the queue after the stop
	}{
		{"finish within the grace", time.Minute, true, 1},
		{"cancelled after the grace", 0, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := zaqartest.Start(t, "")
			c := cloud.NoAuth(url, "heatsink-stop")
			post(t, c, "sink", sinkMessages(t)[:2])
			started, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // then r.Context() sees the client go
				once.Do(func() { close(started) })
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			defer hook.Close()
			l, err := listen.New(&listen.Config{ShutdownGrace: tc.grace,
				Claim:  consume.ClaimConfig{TTL: 60, Grace: 60, Limit: 10, Poll: 50 * time.Millisecond},
				Queues: []listen.QueueConfig{{Name: "sink", Workers: 1}},
				Rules:  []listen.Rule{{Name: "hook", Webhook: &listen.WebhookAction{URL: hook.URL, Method: "POST"}, Timeout: 30 * time.Second}},
			}, connectTo(c), logger(t))
			if err != nil {
				t.Fatal(err)
			}
			ctx, stop := context.WithCancel(t.Context())
			exited := make(chan struct{})
			go func() { defer close(exited); l.Run(ctx) }()
			<-started
			stop()
			if tc.finish {
				close(release)
			}
			<-exited
			s := stats(t, c, "sink")
			if s.Claimed != 0 || s.Free != tc.free {
				t.Errorf("after the stop: %d claimed, %d free; want 0 claimed, %d free", s.Claimed, s.Free, tc.free)
			}
		})
	}
}

// A failing action is tried Attempts times within a claim, waiting at
// least half the growing backoff between tries, and then left claimed:
// once it was tried once per claim, and release_failed claimed it again at
// once, five times in 30 ms before the dead-letter queue.
func TestListenRetryBackoff(t *testing.T) {
	url := zaqartest.Start(t, "")
	c := cloud.NoAuth(url, "heatsink-retry")
	post(t, c, "sink", sinkMessages(t)[:1])
	var mu sync.Mutex
	var calls []time.Time
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, time.Now())
		mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer hook.Close()
	cfg, err := listen.ParseConfig("listeners.yml", []byte(fmt.Sprintf(`queues: [{name: sink}]
retry: {attempts: 3, initial: 100ms, max: 150ms}
rules: [{webhook: {url: %q}}]
`, hook.URL)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := listen.New(cfg, connectTo(c), logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := l.Once(t.Context(), "sink"); n != 1 || err != nil {
		t.Fatalf("Once = %d, %v", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3", len(calls))
	}
	// Waits of 50..100ms, then 75..150ms (100ms doubled, capped at 150ms).
	if d := calls[1].Sub(calls[0]); d < 50*time.Millisecond {
		t.Errorf("first retry after %s, want at least 50ms", d)
	}
	if d := calls[2].Sub(calls[1]); d < 75*time.Millisecond {
		t.Errorf("second retry after %s, want at least 75ms", d)
	}
	if s := stats(t, c, "sink"); s.Claimed != 1 {
		t.Errorf("after the last try %d claimed, want the event left claimed", s.Claimed)
	}
}

// /metrics counts what the listener did and /healthz says whether Zaqar
// answers its claims.
func TestListenMetrics(t *testing.T) {
	url := zaqartest.Start(t, "")
	c := cloud.NoAuth(url, "heatsink-metrics")
	post(t, c, "sink", sinkMessages(t)[:3])
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer hook.Close()
	reg := prometheus.NewRegistry()
	m := consume.NewMetrics(reg, "heatsink")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go consume.Serve(t.Context(), ln, reg, m.Healthy, logger(t))
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz before any claim: %d, want 503", code)
	}
	cfg, err := listen.ParseConfig("l.yml", []byte(fmt.Sprintf("queues: [{name: sink}]\nrules: [{name: created, match: {status: COMPLETE}, webhook: {url: %q}}]\n", hook.URL)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Metrics = m
	l, err := listen.New(cfg, connectTo(c), logger(t))
	if err != nil {
		t.Fatal(err)
	}
	drain(t, l, "sink")
	if code, body := get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	_, body := get("/metrics")
	for _, want := range []string{"heatsink_events_seen_total 3", `heatsink_events_acted_total{rule="created"} 1`} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}
