package rest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/metrics"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// benchHandlers are the handler configurations the benchmarks compare.
var benchHandlers = []struct {
	name string
	opts func() rest.Options
}{
	{"plain", func() rest.Options { return rest.Options{} }},
	{"metrics", func() rest.Options { return rest.Options{Observe: metrics.New(metrics.Options{}).Route} }},
}

// BenchmarkHandler serves requests straight through the handler (no
// network) over the memory store: the cost of the REST layer itself, so
// that middleware overhead shows.
func BenchmarkHandler(b *testing.B) {
	for _, hc := range benchHandlers {
		b.Run(hc.name, func(b *testing.B) {
			h := rest.New(service.New(memory.New(), service.Options{Limits: zaqar.DefaultLimits()}), hc.opts())
			serve := func(b *testing.B, method, path, body string, want int) {
				var req *http.Request
				if body != "" {
					req = httptest.NewRequest(method, path, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
				} else {
					req = httptest.NewRequest(method, path, nil)
				}
				req.Header.Set("Client-ID", "3381af92-2b9e-11e3-b191-71861300734c")
				req.Header.Set("X-Project-ID", "bench")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != want {
					b.Fatalf("%s %s = %d %s", method, path, w.Code, w.Body)
				}
			}
			serve(b, "PUT", "/v2/queues/bench", "", http.StatusCreated)
			b.Run("get-queue", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					serve(b, "GET", "/v2/queues/bench", "", http.StatusOK)
				}
			})
			b.Run("post-message", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					serve(b, "POST", "/v2/queues/bench/messages", `{"messages":[{"body":{"event":"x","n":1},"ttl":300}]}`, http.StatusCreated)
				}
			})
		})
	}
}
