package rest_test

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// observations records what Options.Observe's recorders are told.
type observations struct {
	mu     sync.Mutex
	routes []string       // "METHOD route" asked for, in order
	counts map[string]int // "METHOD route code"
}

func (o *observations) observe(route, method string) func(int, time.Duration) {
	o.mu.Lock()
	o.routes = append(o.routes, method+" "+route)
	o.mu.Unlock()
	return func(code int, d time.Duration) {
		if d <= 0 {
			panic("non-positive duration")
		}
		o.mu.Lock()
		o.counts[fmt.Sprintf("%s %s %d", method, route, code)]++
		o.mu.Unlock()
	}
}

// Requests are recorded under their route pattern, never their path, with
// their method and status, refusals before routing included.
func TestObserve(t *testing.T) {
	obs := &observations{counts: map[string]int{}}
	refuse := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Auth-Token") != "good" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	a := newAPIWith(t, nil, service.Options{Limits: zaqar.DefaultLimits()}, rest.Options{Observe: obs.observe, Authenticate: refuse})
	tok := []string{"X-Auth-Token", "good"}
	a.expect("PUT", "/v2/queues/q1", "", 201, tok...)
	a.expect("PUT", "/v2/queues/q2", "", 201, tok...)
	a.expect("PUT", "/v2/queues/q2", "", 204, tok...)
	for range 3 {
		a.expect("POST", "/v2/queues/q1/messages", `{"messages":[{"body":1}]}`, 201, tok...)
	}
	a.expect("GET", "/v2/queues/q1/messages/51db6f78c508f17ddc924357", "", 404, tok...)
	a.expect("POST", "/v2/topics/t/messages", `{"messages":[{"body":1}]}`, 201, tok...)
	a.expect("GET", "/v2/queues/q1/messages", "", 401) // refused before routing
	a.expect("GET", "/v2/queues/q1/stats", "", 400, "X-Auth-Token", "good", "Client-ID", "-")
	a.expect("GET", "/v2/nowhere", "", 404, tok...)
	a.expect("OPTIONS", "/v2/queues/q1", "", 405, tok...)
	a.expect("GET", "/healthz/live", "", 200)
	a.expect("GET", "/", "", 300)

	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := map[string]int{
		"PUT /v2/queues/{queue} 201":                    2,
		"PUT /v2/queues/{queue} 204":                    1,
		"POST /v2/queues/{queue}/messages 201":          3,
		"GET /v2/queues/{queue}/messages/{message} 404": 1,
		"POST /v2/topics/{queue}/messages 201":          1,
		"GET /v2/queues/{queue}/messages 401":           1,
		"GET /v2/queues/{queue}/stats 400":              1,
		"GET unmatched 404":                             1,
		"OTHER unmatched 405":                           1,
		"GET /healthz/live 200":                         1,
		"GET / 300":                                     1,
	}
	if fmt.Sprint(obs.counts) != fmt.Sprint(want) {
		t.Errorf("observed %v\nwant     %v", obs.counts, want)
	}
	// One recorder per route and method, asked for when the router was
	// built: no request adds labels.
	seen := map[string]bool{}
	for _, r := range obs.routes {
		if seen[r] {
			t.Errorf("recorder for %s asked twice", r)
		}
		seen[r] = true
	}
	for _, r := range []string{"GET /v2/queues/{queue}/messages", "DELETE /v2/topics/{queue}/subscriptions/{subscription}", "GET unmatched", "HEAD /v2/ping"} {
		if !seen[r] {
			routes := append([]string(nil), obs.routes...)
			sort.Strings(routes)
			t.Errorf("no recorder for %s among %v", r, routes)
		}
	}
}
