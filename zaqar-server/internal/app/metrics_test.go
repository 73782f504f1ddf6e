package app

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/testserver"
)

// Without [metrics] enabled nothing listens on the metrics address, and
// the API does not serve /metrics either.
func TestMetricsOffByDefault(t *testing.T) {
	cfg := config.Default()
	if cfg.Metrics.Enabled || cfg.Metrics.Bind != "127.0.0.1" {
		t.Fatalf("default [metrics] = %+v, want off and loopback", cfg.Metrics)
	}
	cfg.MessageStore = "memory"
	cfg.Metrics.Port = testserver.FreePort(t)
	base := serve(t, cfg)
	if got, _ := adminCall(t, "GET", base+"/metrics", ""); got != 404 {
		t.Errorf("GET /metrics on the API = %d, want 404", got)
	}
	if c, err := net.DialTimeout("tcp", cfg.Metrics.Addr(), time.Second); err == nil {
		c.Close()
		t.Errorf("something listens on %s with metrics off", cfg.Metrics.Addr())
	}
}

// A scrape after some requests shows them under their route patterns with
// the right counts, the store's messages, and the notification delivered.
func TestMetricsScrape(t *testing.T) {
	cfg := config.Default()
	cfg.MessageStore = "memory"
	cfg.Notification.BlockInternalWebhooks = false
	cfg.Metrics.Enabled, cfg.Metrics.Port = true, testserver.FreePort(t)
	base := serve(t, cfg)
	scrapeURL := fmt.Sprintf("http://%s/metrics", cfg.Metrics.Addr())

	delivered := make(chan struct{}, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { delivered <- struct{}{} }))
	defer hook.Close()
	must := func(status int, method, path, body string) {
		t.Helper()
		if got, b := adminCall(t, method, base+path, body); got != status {
			t.Fatalf("%s %s = %d %s, want %d", method, path, got, b, status)
		}
	}
	must(201, "PUT", "/v2/queues/alpha", "")
	must(201, "PUT", "/v2/queues/beta", "")
	must(201, "POST", "/v2/queues/alpha/subscriptions", `{"subscriber":"`+hook.URL+`","ttl":3600}`)
	for _, q := range []string{"alpha", "beta", "beta"} {
		must(201, "POST", "/v2/queues/"+q+"/messages", `{"messages":[{"body":1,"ttl":300},{"body":2,"ttl":300}]}`)
	}
	must(201, "POST", "/v2/queues/beta/claims?limit=1", `{"ttl":60}`)
	must(404, "GET", "/v2/queues/alpha/messages/51db6f78c508f17ddc924357", "")
	must(404, "GET", "/v2/no/such/thing", "")
	select {
	case <-delivered:
	case <-time.After(10 * time.Second):
		t.Fatal("the webhook was not notified")
	}

	want := []string{
		`zaqar_http_requests_total{code="201",method="PUT",route="/v2/queues/{queue}"} 2`,
		`zaqar_http_requests_total{code="201",method="POST",route="/v2/queues/{queue}/messages"} 3`,
		`zaqar_http_requests_total{code="201",method="POST",route="/v2/queues/{queue}/subscriptions"} 1`,
		`zaqar_http_requests_total{code="201",method="POST",route="/v2/queues/{queue}/claims"} 1`,
		`zaqar_http_requests_total{code="404",method="GET",route="/v2/queues/{queue}/messages/{message}"} 1`,
		`zaqar_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`zaqar_http_request_duration_seconds_count{method="POST",route="/v2/queues/{queue}/messages"} 3`,
		`zaqar_notifications_total{kind="webhook",outcome="delivered"} 2`,
		`zaqar_storage_up{pool=""} 1`,
		// 6 posted, 1 claimed, once the notifier has removed its delivered
		// outbox entries (they are messages too).
		`zaqar_messages{pool="",state="free"} 5`,
		`zaqar_messages{pool="",state="claimed"} 1`,
	}
	// The notifier counts and cleans up after the subscriber answered:
	// scrape until it has.
	var text string
	var missing []string
	testenv.Poll(t, 10*time.Second, 20*time.Millisecond, func() bool {
		text = scrapeText(t, scrapeURL)
		missing = nil
		for _, line := range want {
			if !strings.Contains(text, "\n"+line+"\n") {
				missing = append(missing, line)
			}
		}
		return missing == nil
	})
	for _, line := range missing {
		t.Errorf("scrape lacks %s", line)
	}
	// Routes, never paths: no queue or message name is a label.
	for _, name := range []string{"alpha", "beta", "51db6f78c508f17ddc924357", "/no/such"} {
		if strings.Contains(text, name) {
			t.Errorf("a label holds %q:\n%s", name, grep(text, name))
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", grep(text, "zaqar_"))
	}
}
