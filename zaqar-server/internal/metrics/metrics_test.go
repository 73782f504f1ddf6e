package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/metrics"
	"github.com/zaqar-go/suite/zaqar-server/internal/notify"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/pooled"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// scrape returns the text /metrics serves.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", w.Code, w.Body)
	}
	return w.Body.String()
}

// wantLines fails unless every line is in the scrape.
func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains("\n"+text, "\n"+l+"\n") {
			t.Errorf("scrape lacks %q", l)
		}
	}
}

// noSeries fails when the scrape has a series starting with prefix.
func noSeries(t *testing.T, text, prefix string) {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			t.Errorf("unexpected series %q", l)
		}
	}
}

func TestRoute(t *testing.T) {
	m := metrics.New(metrics.Options{})
	put := m.Route("/v2/queues/{queue}", "PUT")
	get := m.Route("/v2/queues/{queue}", "GET")
	m.Route("/v2/queues/{queue}/stats", "GET") // never called: no series
	put(201, 3*time.Millisecond)
	put(201, 30*time.Millisecond)
	put(204, time.Millisecond)
	put(418, time.Millisecond) // a code outside the table
	get(404, 50*time.Microsecond)
	text := scrape(t, m)
	wantLines(t, text,
		`zaqar_http_requests_total{code="201",method="PUT",route="/v2/queues/{queue}"} 2`,
		`zaqar_http_requests_total{code="204",method="PUT",route="/v2/queues/{queue}"} 1`,
		`zaqar_http_requests_total{code="418",method="PUT",route="/v2/queues/{queue}"} 1`,
		`zaqar_http_requests_total{code="404",method="GET",route="/v2/queues/{queue}"} 1`,
		`zaqar_http_request_duration_seconds_count{method="PUT",route="/v2/queues/{queue}"} 4`,
		`zaqar_http_request_duration_seconds_bucket{method="PUT",route="/v2/queues/{queue}",le="0.005"} 3`,
		`zaqar_http_request_duration_seconds_bucket{method="GET",route="/v2/queues/{queue}",le="0.0001"} 1`,
	)
	noSeries(t, text, `zaqar_http_request_duration_seconds_count{method="GET",route="/v2/queues/{queue}/stats"}`)

	// The request path allocates nothing once a route has seen its code.
	if n := testing.AllocsPerRun(1000, func() { put(201, time.Millisecond) }); n != 0 {
		t.Errorf("recording a request allocates %v times", n)
	}
}

func TestNotification(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.Notification(notify.KindWebhook, notify.Delivered)
	m.Notification(notify.KindWebhook, notify.Retried)
	m.Notification(notify.KindWebhook, notify.Retried)
	m.Notification(notify.KindMail, notify.Failed)
	m.Notification("carrier-pigeon", notify.Failed)
	wantLines(t, scrape(t, m),
		`zaqar_notifications_total{kind="webhook",outcome="delivered"} 1`,
		`zaqar_notifications_total{kind="webhook",outcome="retried"} 2`,
		`zaqar_notifications_total{kind="webhook",outcome="failed"} 0`,
		`zaqar_notifications_total{kind="mailto",outcome="failed"} 1`,
		`zaqar_notifications_total{kind="trust",outcome="delivered"} 0`,
		`zaqar_notifications_total{kind="other",outcome="failed"} 1`,
	)
}

// broken fails every queue read with err, and pings with ping.
type broken struct {
	storage.Store
	err  error
	ping func(ctx context.Context) error
}

func (b broken) Queues() storage.QueueStore { return brokenQueues{b.Store.Queues(), b.err} }
func (b broken) Ping(ctx context.Context) error {
	if b.ping != nil {
		return b.ping(ctx)
	}
	return b.Store.Ping(ctx)
}

type brokenQueues struct {
	storage.QueueStore
	err error
}

func (q brokenQueues) Get(context.Context, zaqar.QueueRef) (zaqar.Metadata, error) { return nil, q.err }

// Backend failures count; answers (absent resources, bad input) and
// callers going away do not.
func TestStoreErrors(t *testing.T) {
	ctx := t.Context()
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	cases := []struct {
		name  string
		err   error
		count bool
	}{
		{"refused", errors.New("dial tcp: connection refused"), true},
		{"unavailable", zaqar.Unavailablef(errors.New("timeout"), ""), true},
		{"deadline", zaqar.Unavailablef(context.DeadlineExceeded, ""), true},
		{"not found", storage.ErrQueueNotFound, false},
		{"wrapped not found", fmt.Errorf("queue q: %w", storage.ErrQueueNotFound), false},
		{"invalid", zaqar.Invalidf("bad"), false},
		{"cancelled", zaqar.Unavailablef(context.Canceled, ""), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.New(metrics.Options{})
			st := m.Store("redis", broken{Store: memory.New(), err: tc.err})
			if _, err := st.Queues().Get(ctx, q); !errors.Is(err, tc.err) {
				t.Fatalf("Get = %v, want the store's error passed through", err)
			}
			text := scrape(t, m)
			line := `zaqar_storage_errors_total{driver="redis",operation="queues.get"} 1`
			if got := strings.Contains(text, line); got != tc.count {
				t.Errorf("counted %v, want %v", got, tc.count)
			}
		})
	}

	// Calls that succeed pass through; the memory store keeps counting.
	m := metrics.New(metrics.Options{})
	st := m.Store("memory", memory.New())
	if _, err := st.Messages().Post(ctx, q, []zaqar.NewMessage{{Body: json.RawMessage(`1`), TTL: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	vc, ok := st.(storage.VolumeCounter)
	if !ok {
		t.Fatal("the wrapped memory store lost its VolumeCounter")
	}
	if v, err := vc.Volume(ctx); err != nil || v.Free != 1 {
		t.Errorf("Volume = %+v, %v", v, err)
	}
	if _, ok := m.Store("redis", broken{Store: memory.New()}).(storage.VolumeCounter); ok {
		t.Error("a store that cannot count gained a VolumeCounter")
	}
	noSeries(t, scrape(t, m), "zaqar_storage_errors_total{")
}

// The store's state at scrape time: reachability and message counts.
func TestStoreCollector(t *testing.T) {
	ctx := t.Context()
	st := memory.New()
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	st.Messages().Post(ctx, q, []zaqar.NewMessage{{Body: json.RawMessage(`1`), TTL: time.Minute}, {Body: json.RawMessage(`2`), TTL: time.Minute}})
	st.Claims().Create(ctx, q, storage.ClaimOptions{TTL: time.Minute, Limit: 1})
	m := metrics.New(metrics.Options{})
	m.Watch(st)
	text := scrape(t, m)
	wantLines(t, text,
		`zaqar_storage_up{pool=""} 1`,
		`zaqar_messages{pool="",state="free"} 1`,
		`zaqar_messages{pool="",state="claimed"} 1`,
	)
	noSeries(t, text, "zaqar_catalog_up")

	// A store that cannot count shows only whether it answers.
	down := broken{Store: memory.New(), ping: func(context.Context) error { return errors.New("refused") }}
	m = metrics.New(metrics.Options{})
	m.Watch(down)
	text = scrape(t, m)
	wantLines(t, text, `zaqar_storage_up{pool=""} 0`)
	noSeries(t, text, "zaqar_messages{")
}

func TestStoreCollectorPools(t *testing.T) {
	mgmt := memory.New()
	up := memory.New()
	s, err := pooled.New(mgmt, pooled.Options{Default: memory.New(), Open: func(ctx context.Context, uri string, _ map[string]any) (storage.Store, error) {
		if uri == "memory://up" {
			return up, nil
		}
		return nil, errors.New("no such backend")
	}})
	if err != nil {
		t.Fatal(err)
	}
	for name, uri := range map[string]string{"up": "memory://up", "broken": "memory://broken"} {
		mgmt.Pools().Put(t.Context(), zaqar.Pool{Name: name, URI: uri, Weight: 1})
	}
	up.Messages().Post(t.Context(), zaqar.QueueRef{Project: "p", Name: "q"}, []zaqar.NewMessage{{Body: json.RawMessage(`1`), TTL: time.Minute}})
	m := metrics.New(metrics.Options{})
	m.Watch(s)
	wantLines(t, scrape(t, m),
		`zaqar_catalog_up 1`,
		`zaqar_storage_up{pool="up"} 1`,
		`zaqar_storage_up{pool="broken"} 0`,
		`zaqar_storage_up{pool="virtual_pool"} 1`,
		`zaqar_messages{pool="up",state="free"} 1`,
		`zaqar_messages{pool="virtual_pool",state="free"} 0`,
	)
}

// A store that hangs delays a scrape by ScrapeTimeout at most, and the
// scrape still succeeds without it.
func TestStoreCollectorTimeout(t *testing.T) {
	hang := broken{Store: memory.New(), ping: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	m := metrics.New(metrics.Options{ScrapeTimeout: 100 * time.Millisecond})
	m.Watch(hang)
	start := time.Now()
	text := scrape(t, m)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("scrape took %v with a 100ms timeout", d)
	}
	noSeries(t, text, "zaqar_storage_up")
	wantLines(t, text, `zaqar_notifications_total{kind="webhook",outcome="delivered"} 0`)
}

func TestHandlerServesOnlyMetrics(t *testing.T) {
	h := metrics.New(metrics.Options{}).Handler()
	for _, tc := range []struct {
		method, path string
		want         int
	}{{"GET", "/metrics", 200}, {"GET", "/", 404}, {"GET", "/v2/queues", 404}, {"POST", "/metrics", 405}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, w.Code, tc.want)
		}
	}
	text := scrape(t, metrics.New(metrics.Options{}))
	if !strings.Contains(text, "go_goroutines ") || !strings.Contains(text, "process_") {
		t.Error("no Go runtime or process metrics")
	}
}
