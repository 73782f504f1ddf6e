package rest_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/logging"
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
	{"bodyguard", func() rest.Options { return rest.Options{BodyTimeout: time.Minute} }},
	// The access log as an operator runs it: one JSON line a request (to
	// io.Discard here; "plain" logs nothing, its logger discards).
	{"access-log", func() rest.Options {
		return rest.Options{Logger: slog.New(logging.NewHandler(io.Discard, true, slog.LevelInfo))}
	}},
}

// discard is a ResponseWriter that keeps only the status, reused across
// requests so that the benchmark measures the handler, not the recorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}

func (d *discard) Write(b []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(b), nil
}

// BenchmarkHandler serves requests straight through the handler (no
// network) over the memory store: the cost of the REST layer itself, so
// that middleware overhead shows.
func BenchmarkHandler(b *testing.B) {
	for _, hc := range benchHandlers {
		b.Run(hc.name, func(b *testing.B) {
			h := rest.New(service.New(memory.New(), service.Options{Limits: zaqar.DefaultLimits()}), hc.opts())
			w := &discard{h: http.Header{}}
			// run serves the same request b.N times; a body is re-read each time.
			run := func(b *testing.B, method, path, body string, want int) {
				req := httptest.NewRequest(method, path, nil)
				req.Header.Set("Client-ID", "3381af92-2b9e-11e3-b191-71861300734c")
				req.Header.Set("X-Project-ID", "bench")
				if body != "" {
					req.Header.Set("Content-Type", "application/json")
					req.ContentLength = int64(len(body))
				}
				b.ReportAllocs()
				for b.Loop() {
					if body != "" {
						req.Body = io.NopCloser(strings.NewReader(body))
					}
					clear(w.h)
					w.code = 0
					h.ServeHTTP(w, req)
					if w.code != want {
						b.Fatalf("%s %s = %d", method, path, w.code)
					}
				}
			}
			put := httptest.NewRequest("PUT", "/v2/queues/bench", nil)
			put.Header.Set("Client-ID", "3381af92-2b9e-11e3-b191-71861300734c")
			put.Header.Set("X-Project-ID", "bench")
			if h.ServeHTTP(w, put); w.code != http.StatusCreated {
				b.Fatalf("PUT queue = %d", w.code)
			}
			// The cheapest route: middleware overhead is the largest share.
			b.Run("live", func(b *testing.B) { run(b, "GET", "/healthz/live", "", http.StatusOK) })
			b.Run("get-queue", func(b *testing.B) { run(b, "GET", "/v2/queues/bench", "", http.StatusOK) })
			b.Run("post-message", func(b *testing.B) {
				run(b, "POST", "/v2/queues/bench/messages", `{"messages":[{"body":{"event":"x","n":1},"ttl":300}]}`, http.StatusCreated)
			})
		})
	}
}
