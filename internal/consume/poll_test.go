package consume_test

// Long polling against the real zaqar-server (internal/zaqartest): a loop
// that asks the server to wait claims a message as it is posted, does not
// spin against a server that answers at once, and stops at once while
// waiting.

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/queues"

	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/consume"
	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/internal/zaqarapi"
	"github.com/zaqar-go/suite/internal/zaqartest"
)

func TestMain(m *testing.M) { zaqartest.Main(m) }

// post posts a Heat event (what the loop hands to its handlers) and
// returns its event id.
func post(t *testing.T, c *gophercloud.ServiceClient, queue string) string {
	t.Helper()
	id := uuid.NewString()
	ev := map[string]any{"id": id, "type": "os.heat.event", "timestamp": "2026-11-24T21:14:56.123456",
		"payload": map[string]any{"resource_name": "web", "stack_id": uuid.NewString(), "resource_action": "CREATE",
			"resource_status": "COMPLETE", "resource_type": "OS::Heat::None"}}
	if _, err := zaqarapi.PostMessages(t.Context(), c, queue, zaqarapi.NewMessage{TTL: 300, Body: ev}).Extract(); err != nil {
		t.Fatalf("post: %v", err)
	}
	return id
}

// countClaims proxies upstream, counting claim requests.
func countClaims(t *testing.T, upstream string) (string, *atomic.Int32) {
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/claims") {
			n.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

// run runs a listener on queue until the test cancels it; handled gets
// each event id handled, and the returned channel is closed when Run
// returned.
func run(t *testing.T, ctx context.Context, c *gophercloud.ServiceClient, queue string, claim consume.ClaimConfig, log *slog.Logger) (<-chan string, <-chan struct{}) {
	handled := make(chan string, 10)
	l := consume.New(consume.Config{Claim: claim, Queues: []consume.Queue{{Name: queue, Client: c}},
		Handlers: []consume.Handler{{Name: "test", Timeout: time.Minute, Run: func(_ context.Context, d consume.Delivery) error {
			handled <- d.Event.ID
			return nil
		}}}}, log)
	exited := make(chan struct{})
	go func() { defer close(exited); l.Run(ctx) }()
	return handled, exited
}

func receive(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Errorf("handled %s, want %s", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("event %s not handled", want)
	}
}

var quiet = slog.New(slog.DiscardHandler)

// With a poll interval of an hour, events posted after the listener
// started are handled as they come: its claims wait on the server (once
// an empty claim meant an hour's pause).
func TestLongPollHandlesAtOnce(t *testing.T) {
	url, waiting := zaqartest.StartWaiters(t, "")
	c := cloud.NoAuth(url, "consume-wait")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	handled, exited := run(t, ctx, c, "events", consume.ClaimConfig{TTL: 60, Grace: 60, Limit: 10, Wait: 20 * time.Second, Poll: time.Hour}, quiet)
	for range 2 { // the second after a claim that got messages
		testenv.Eventually(t, "the listener's claim held by the server", 30*time.Second, 20*time.Millisecond, func() bool { return waiting() == 1 })
		receive(t, handled, post(t, c, "events"))
	}
	cancel()
	<-exited
}

// Against a server that answers empty claims at once (max_wait 0, as
// Zaqar, which ignores wait), the listener pauses its poll interval after
// an empty claim instead of claiming again at once.
func TestLongPollIgnoredPauses(t *testing.T) {
	upstream := zaqartest.Start(t, "[transport]\nmax_wait = 0\n")
	url, claimed := countClaims(t, upstream)
	c := cloud.NoAuth(url, "consume-nowait")
	var logs testenv.SyncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, exited := run(t, ctx, c, "events", consume.ClaimConfig{TTL: 60, Grace: 60, Limit: 10, Wait: 20 * time.Second, Poll: time.Hour},
		slog.New(slog.NewTextHandler(&logs, nil)))
	testenv.Eventually(t, "a claim", 30*time.Second, 20*time.Millisecond, func() bool { return claimed.Load() > 0 })
	// Requests of our own through the same server, each a round trip
	// during which a spinning loop would claim again.
	for range 50 {
		if _, err := queues.GetStats(t.Context(), c, "events").Extract(); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	<-exited
	if n := claimed.Load(); n != 1 {
		t.Errorf("%d claims, want 1: the empty claim answered at once is followed by the hour's pause", n)
	}
	if !strings.Contains(logs.String(), "answered an empty claim at once") {
		t.Errorf("the log does not say the server did not wait:\n%s", logs.String())
	}
}

// A stop while a claim waits on the server ends it at once: Run returns
// and the server sees the client go. The wait asked (an hour, with a
// client without timeout) outlasts the test, so a claim left running
// would hold Run until the test's own timeout.
func TestLongPollStop(t *testing.T) {
	url, waiting := zaqartest.StartWaiters(t, "[transport]\nmax_wait = 3600\n")
	c := cloud.NoAuth(url, "consume-stop")
	c.HTTPClient.Timeout = 0
	var logs testenv.SyncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, exited := run(t, ctx, c, "events", consume.ClaimConfig{TTL: 60, Grace: 60, Limit: 10, Wait: time.Hour, Poll: time.Hour},
		slog.New(slog.NewTextHandler(&logs, nil)))
	testenv.Eventually(t, "the listener's claim held by the server", 30*time.Second, 20*time.Millisecond, func() bool { return waiting() == 1 })
	cancel()
	<-exited
	testenv.Eventually(t, "the server to see the client go", 30*time.Second, 20*time.Millisecond, func() bool { return waiting() == 0 })
	if strings.Contains(logs.String(), "claim failed") {
		t.Errorf("the claim given up at the stop was logged as a failure:\n%s", logs.String())
	}
}
