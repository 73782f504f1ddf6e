package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/signedurl"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/embedded"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// receiver is a real HTTP server recording what it is sent; fail decides
// the status of the n-th request (0 = success).
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	got   []request
	fail  func(n int) int
	event chan struct{}
}

type request struct {
	header http.Header
	body   string
}

func newReceiver(t *testing.T, fail func(n int) int) *receiver {
	r := &receiver{fail: fail, event: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		r.got = append(r.got, request{header: req.Header.Clone(), body: string(b)})
		r.mu.Unlock()
		if r.fail != nil {
			if code := r.fail(n); code != 0 {
				w.WriteHeader(code)
				r.event <- struct{}{}
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
		r.event <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

// wait blocks until the receiver has seen n requests.
func (r *receiver) wait(t *testing.T, n int) []request {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		got := append([]request(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.event:
		case <-deadline:
			t.Fatalf("receiver got %d requests, want %d", len(got), n)
		}
	}
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func noSleep(ctx context.Context, d time.Duration) error { return ctx.Err() }

func start(t *testing.T, store storage.Store, opts Options) *Notifier {
	t.Helper()
	if opts.sleep == nil {
		opts.sleep = noSleep
	}
	n := New(store, opts)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return n
}

func subscribe(t *testing.T, store storage.Store, q zaqar.QueueRef, subscriber string, opts map[string]any) zaqar.Subscription {
	t.Helper()
	if opts == nil {
		opts = map[string]any{}
	}
	if _, ok := opts[AllowInternalOption]; !ok {
		opts[AllowInternalOption] = true // test receivers listen on loopback
	}
	s, _, err := store.Subscriptions().Create(t.Context(), q, zaqar.Subscription{Source: q.Name, Subscriber: subscriber, TTL: time.Hour, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func post(t *testing.T, n *Notifier, store storage.Store, q zaqar.QueueRef, bodies ...string) {
	t.Helper()
	msgs := make([]zaqar.NewMessage, len(bodies))
	for i, b := range bodies {
		msgs[i] = zaqar.NewMessage{Body: json.RawMessage(b), TTL: 300 * time.Second}
	}
	release, err := n.Enqueue(t.Context(), q, msgs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Messages().Post(t.Context(), q, msgs); err != nil {
		t.Fatal(err)
	}
	release()
}

func TestWebhookFormatAndOrder(t *testing.T) {
	store := memory.New()
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	rcv := newReceiver(t, nil)
	subscribe(t, store, q, rcv.URL+"/hook", map[string]any{"post_headers": map[string]any{"X-Token": "abc"}})
	other := newReceiver(t, nil)
	subscribe(t, store, q, other.URL, nil)
	n := start(t, store, Options{})

	post(t, n, store, q, `{"n":0}`, `"one"`)
	for i := 2; i < 20; i++ {
		post(t, n, store, q, `{"n":`+string(rune('0'+i%10))+`}`)
	}
	got := rcv.wait(t, 20)
	other.wait(t, 20)
	if got[0].body != `{"body":{"n":0},"ttl":300,"queue_name":"q","Message_Type":"Notification"}` {
		t.Errorf("first notification = %s", got[0].body)
	}
	if got[1].body != `{"body":"one","ttl":300,"queue_name":"q","Message_Type":"Notification"}` {
		t.Errorf("second notification = %s", got[1].body)
	}
	if got[0].header.Get("Content-Type") != "application/json" || got[0].header.Get("X-Token") != "abc" {
		t.Errorf("headers = %v", got[0].header)
	}
	for i := 2; i < 20; i++ {
		want := `{"body":{"n":` + string(rune('0'+i%10)) + `},`
		if !strings.HasPrefix(got[i].body, want) {
			t.Fatalf("notification %d = %s, want prefix %s (post order)", i, got[i].body, want)
		}
	}
	// Delivered in post order: once a later post arrives, a duplicate of
	// an earlier one would have come before it.
	post(t, n, store, q, `"last"`)
	got = rcv.wait(t, 21)
	if len(got) != 21 || !strings.HasPrefix(got[20].body, `{"body":"last",`) {
		t.Errorf("receiver got %d notifications, the last %s; want exactly 21, the last one posted last", len(got), got[len(got)-1].body)
	}
}

func TestRetries(t *testing.T) {
	store := memory.New()
	q := zaqar.QueueRef{Project: "p", Name: "retry"}
	flaky := newReceiver(t, func(n int) int {
		if n < 3 {
			return http.StatusServiceUnavailable // Zaqar never retries these; we do
		}
		return 0
	})
	subscribe(t, store, q, flaky.URL, nil)
	refused := newReceiver(t, func(int) int { return http.StatusBadRequest })
	subscribe(t, store, q, refused.URL, nil)
	var slept []time.Duration
	var mu sync.Mutex
	outcomes := map[string]int{}
	n := start(t, store, Options{sleep: func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
		return ctx.Err()
	}, Observe: func(kind string, o Outcome) {
		mu.Lock()
		outcomes[kind+" "+o.String()]++
		mu.Unlock()
	}})
	post(t, n, store, q, `1`, `2`)
	got := flaky.wait(t, 5)
	if got[3].body != got[0].body || !strings.Contains(got[4].body, `"body":2`) {
		t.Errorf("retried notification = %s, next = %s", got[3].body, got[4].body)
	}
	refused.wait(t, 2)
	// Both deliveries to it have ended (given up) before counting.
	testenv.Eventually(t, "two failed webhook deliveries", 10*time.Second, time.Millisecond, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return outcomes["webhook failed"] >= 2
	})
	if c := refused.count(); c != 2 {
		t.Errorf("a 400 was retried: %d requests for 2 notifications", c)
	}
	mu.Lock()
	if len(slept) != 3 || slept[0] != 0 {
		t.Errorf("waits before retries = %v, want three immediate retries", slept)
	}
	mu.Unlock()
	// Observe saw each delivery end and each retry.
	want := map[string]int{"webhook delivered": 2, "webhook retried": 3, "webhook failed": 2}
	var seen string
	if !testenv.Poll(t, 10*time.Second, 10*time.Millisecond, func() bool {
		mu.Lock()
		defer mu.Unlock()
		seen = fmt.Sprint(outcomes)
		return seen == fmt.Sprint(want)
	}) {
		t.Fatalf("outcomes %s, want %v", seen, want)
	}
}

func TestKind(t *testing.T) {
	for in, want := range map[string]string{
		"http://h/x": KindWebhook, "HTTPS://h": KindWebhook, "trust+https://h": KindTrust,
		"mailto:a@b.c": KindMail, "ftp://h": KindOther, "nonsense": KindOther,
	} {
		if got := Kind(in); got != want {
			t.Errorf("Kind(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRetrySchedule(t *testing.T) {
	cases := []struct {
		name string
		doc  any
		want string
	}{
		{"defaults", nil, "[0s 0s 0s 5s 5s 5s 5s 10s 15s 20s 25s 30s 30s 30s]"},
		{"linear", map[string]any{"retries_with_no_delay": 1, "minimum_delay_retries": 0, "maximum_delay_retries": 1, "minimum_delay": 10, "maximum_delay": 20}, "[0s 10s 15s 20s]"},
		{"geometric", map[string]any{"retries_with_no_delay": 0, "minimum_delay_retries": 0, "maximum_delay_retries": 0, "minimum_delay": 5, "maximum_delay": 30, "retry_backoff_function": "geometric"}, "[5s 7s 12s 19s 30s]"},
		// Sequences printed by Zaqar 15's webhook task for (5, 30, 5).
		{"arithmetic", map[string]any{"retries_with_no_delay": 0, "minimum_delay_retries": 0, "maximum_delay_retries": 0, "retry_backoff_function": "arithmetic"}, "[5s 7s 12s 20s 30s]"},
		{"exponential", map[string]any{"retries_with_no_delay": 0, "minimum_delay_retries": 0, "maximum_delay_retries": 0, "retry_backoff_function": "exponential"}, "[5s 7s 12s 19s 30s]"},
	}
	for _, tc := range cases {
		p, _ := policyFrom(tc.doc)
		if got := fmtDurations(p.delays()); got != tc.want {
			t.Errorf("%s: delays = %s, want %s", tc.name, got, tc.want)
		}
	}
	sub := map[string]any{"retries_with_no_delay": 7}
	queue := map[string]any{"retries_with_no_delay": 1, "ignore_subscription_override": true}
	if p := choosePolicy(sub, nil); p.RetriesWithNoDelay != 7 {
		t.Errorf("subscription policy not used: %+v", p)
	}
	if p := choosePolicy(sub, queue); p.RetriesWithNoDelay != 1 {
		t.Errorf("queue override ignored: %+v", p)
	}
}

func fmtDurations(ds []time.Duration) string {
	var b strings.Builder
	b.WriteString("[")
	for i, d := range ds {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(d.String())
	}
	return b.String() + "]"
}

// TestRestart: notifications accepted before a crash are delivered by the
// next process, from the durable outbox.
func TestRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zaqar.db")
	store, err := embedded.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	q := zaqar.QueueRef{Project: "p", Name: "durable"}
	rcv := newReceiver(t, nil)
	subscribe(t, store, q, rcv.URL, nil)
	first := New(store, Options{}) // never runs: the process dies first
	post(t, first, store, q, `"a"`, `"b"`, `"c"`)
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if rcv.count() != 0 {
		t.Fatal("delivered before the restart")
	}
	store, err = embedded.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	start(t, store, Options{})
	got := rcv.wait(t, 3)
	for i, b := range []string{`"a"`, `"b"`, `"c"`} {
		if !strings.Contains(got[i].body, `"body":`+b) {
			t.Errorf("after restart notification %d = %s", i, got[i].body)
		}
	}
}

func TestInternalTargetsBlocked(t *testing.T) {
	store := memory.New()
	q := zaqar.QueueRef{Project: "p", Name: "ssrf"}
	rcv := newReceiver(t, nil)
	subscribe(t, store, q, rcv.URL, map[string]any{AllowInternalOption: false})
	admin := newReceiver(t, nil)
	subscribe(t, store, q, admin.URL, nil)
	failed := make(chan struct{}, 1)
	n := start(t, store, Options{DeniedNetworks: prefixes("10.0.0.0/8", "127.0.0.0/8"), Observe: func(_ string, o Outcome) {
		if o == Failed {
			failed <- struct{}{}
		}
	}})
	post(t, n, store, q, `1`)
	admin.wait(t, 1) // an admin's subscription may reach loopback
	<-failed         // the non-admin's delivery has ended, refused
	if rcv.count() != 0 {
		t.Error("a non-admin webhook reached a loopback address")
	}
}

// The denied networks are the operator's list: a private range can be
// denied, and a network left out is reachable.
func TestDeniedNetworks(t *testing.T) {
	deny := prefixes("10.0.0.0/8", "172.16.0.0/12", "fc00::/7", "127.0.0.1/32")
	for host, want := range map[string]bool{
		"10.1.2.3": true, "::ffff:10.1.2.3": true, "172.31.255.255": true, "fd12::1": true, "127.0.0.1": true,
		"172.32.0.1": false, "192.168.1.1": false, "127.0.0.2": false, "2001:db8::1": false, "not-an-ip": true,
	} {
		if got := denied(host, deny); got != want {
			t.Errorf("denied(%s) = %v, want %v", host, got, want)
		}
	}
	// Loopback left out of the list: a non-admin webhook reaches it.
	store := memory.New()
	q := zaqar.QueueRef{Project: "p", Name: "private"}
	rcv := newReceiver(t, nil)
	subscribe(t, store, q, rcv.URL, map[string]any{AllowInternalOption: false})
	n := start(t, store, Options{DeniedNetworks: prefixes("10.0.0.0/8")})
	post(t, n, store, q, `1`)
	rcv.wait(t, 1)
}

func prefixes(cidrs ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		out = append(out, netip.MustParsePrefix(c))
	}
	return out
}

func TestConfirmation(t *testing.T) {
	store := memory.New()
	q := zaqar.QueueRef{Project: "p", Name: "confirm"}
	rcv := newReceiver(t, nil)
	sub := subscribe(t, store, q, rcv.URL, nil)
	n := start(t, store, Options{RequireConfirmation: true, SignedURLKey: "k", PublicURL: "http://zaqar.example:8888/"})
	if err := n.Confirm(t.Context(), q, sub, false); err != nil {
		t.Fatal(err)
	}
	got := rcv.wait(t, 1)
	var c map[string]any
	if err := json.Unmarshal([]byte(got[0].body), &c); err != nil {
		t.Fatal(err)
	}
	path := "/v2/queues/confirm/subscriptions/" + sub.ID + "/confirm"
	if c["Message_Type"] != "SubscriptionConfirmation" || c["URL-Methods"] != "PUT" || c["URL-Paths"] != path ||
		c["X-Project-ID"] != "p" || c["queue_name"] != "confirm" || c["WSGISubscribeURL"] != "http://zaqar.example:8888"+path {
		t.Errorf("confirmation = %s", got[0].body)
	}
	ok := signedurl.Verify("k", signedurl.Request{Signature: c["URL-Signature"].(string), Expires: c["URL-Expires"].(string),
		Methods: "PUT", Paths: path, Project: "p", Method: "PUT", Path: path}, time.Now())
	if !ok {
		t.Error("the confirmation URL does not verify")
	}
	// Unconfirmed: no notifications. Had "hidden" gone out, it would come
	// before "shown" below.
	post(t, n, store, q, `"hidden"`)
	if err := store.Subscriptions().Confirm(t.Context(), q, sub.ID, true); err != nil {
		t.Fatal(err)
	}
	n.Invalidate(q)
	post(t, n, store, q, `"shown"`)
	if got := rcv.wait(t, 2); !strings.Contains(got[1].body, `"shown"`) {
		t.Errorf("after confirmation = %s; the unconfirmed subscriber was notified", got[1].body)
	}
}

func TestPostData(t *testing.T) {
	store := memory.New()
	q := zaqar.QueueRef{Project: "p", Name: "pd"}
	rcv := newReceiver(t, nil)
	subscribe(t, store, q, rcv.URL, map[string]any{"post_data": `{"wrapped": "$zaqar_message$", "k": 1}`})
	n := start(t, store, Options{})
	post(t, n, store, q, `7`)
	got := rcv.wait(t, 1)
	if got[0].body != `{"wrapped": {"body":7,"ttl":300,"queue_name":"pd","Message_Type":"Notification"}, "k": 1}` {
		t.Errorf("post_data body = %s", got[0].body)
	}
}

func TestDeletedSubscriptionDropsOutbox(t *testing.T) {
	store := memory.New()
	q := zaqar.QueueRef{Project: "p", Name: "gone"}
	rcv := newReceiver(t, nil)
	sub := subscribe(t, store, q, rcv.URL, nil)
	n := New(store, Options{sleep: noSleep})
	post(t, n, store, q, `1`, `2`)
	if err := store.Subscriptions().Delete(t.Context(), q, sub.ID); err != nil {
		t.Fatal(err)
	}
	start(t, store, Options{})
	testenv.Eventually(t, "the outbox of the deleted subscription to be dropped", 5*time.Second, 20*time.Millisecond, func() bool {
		qs, _ := store.Queues().List(t.Context(), outboxProject, storage.QueueListOptions{Limit: 10})
		return len(qs) == 0
	})
	if rcv.count() != 0 {
		t.Error("a deleted subscription was notified")
	}
}

func TestTrustSubscriber(t *testing.T) {
	store := memory.New()
	q := zaqar.QueueRef{Project: "p", Name: "trusted"}
	rcv := newReceiver(t, nil)
	subscribe(t, store, q, "trust+"+rcv.URL+"/hook", map[string]any{"trust_id": "t-1"})
	var asked []string
	var mu sync.Mutex
	n := start(t, store, Options{TrustToken: func(_ context.Context, id string) (string, error) {
		mu.Lock()
		asked = append(asked, id)
		mu.Unlock()
		return "trust-scoped-token", nil
	}})
	post(t, n, store, q, `"x"`)
	got := rcv.wait(t, 1)
	if got[0].header.Get("X-Auth-Token") != "trust-scoped-token" || !strings.Contains(got[0].body, `"body":"x"`) {
		t.Errorf("trust notification: headers %v body %s", got[0].header, got[0].body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 1 || asked[0] != "t-1" {
		t.Errorf("trust tokens asked for %v", asked)
	}
}

// TestFailingSubscriberDoesNotStarveOthers: with one worker slot, a
// subscriber waiting between retries does not hold it.
func TestFailingSubscriberDoesNotStarveOthers(t *testing.T) {
	store := memory.New()
	q := zaqar.QueueRef{Project: "p", Name: "starve"}
	broken := newReceiver(t, func(int) int { return http.StatusBadGateway })
	subscribe(t, store, q, broken.URL, nil)
	healthy := newReceiver(t, nil)
	slow := func(ctx context.Context, d time.Duration) error {
		if d > 0 {
			return sleepCtx(ctx, 2*time.Second) // every wait between retries is long
		}
		return ctx.Err()
	}
	n := start(t, store, Options{Workers: 1, sleep: slow})
	post(t, n, store, q, `"first"`)
	broken.wait(t, 4) // the immediate retries are done; now it waits
	subscribe(t, store, q, healthy.URL, nil)
	n.Invalidate(q)
	post(t, n, store, q, `"second"`)
	healthy.wait(t, 1)
	// The failing subscriber's schedule has 15 attempts and ~20 s of waits:
	// the healthy one must not have waited for it to end.
	if c := broken.count(); c >= 15 {
		t.Errorf("healthy subscriber was served only after the failing one's %d attempts", c)
	}
}
