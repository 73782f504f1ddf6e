package metrics

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Status codes the API answers; each route keeps a counter per code it has
// seen among these, others are looked up by label (they are rare).
var statusCodes = [...]int{200, 201, 204, 300, 400, 401, 403, 404, 405, 406, 409, 410, 413, 500, 503}

func codeIndex(code int) int {
	for i, c := range statusCodes {
		if c == code {
			return i
		}
	}
	return -1
}

// route records the requests of one route and method. Its series are made
// on first use, so a route never called adds nothing to a scrape.
type route struct {
	m             *Metrics
	route, method string
	latency       atomic.Pointer[observer]
	codes         [len(statusCodes)]atomic.Pointer[counter]
}

type observer struct{ prometheus.Observer }
type counter struct{ prometheus.Counter }

// Route returns the recorder of requests to route (the router's pattern,
// or a fixed name such as "unmatched") with method: rest asks for one per
// route when it builds its router and calls it once per request.
func (m *Metrics) Route(pattern, method string) func(code int, elapsed time.Duration) {
	r := &route{m: m, route: pattern, method: method}
	return r.record
}

func (r *route) record(code int, elapsed time.Duration) {
	o := r.latency.Load()
	if o == nil {
		o = &observer{r.m.latency.WithLabelValues(r.route, r.method)}
		r.latency.Store(o) // a racing store holds the same child
	}
	o.Observe(elapsed.Seconds())
	i := codeIndex(code)
	if i < 0 {
		r.m.requests.WithLabelValues(r.route, r.method, strconv.Itoa(code)).Inc()
		return
	}
	c := r.codes[i].Load()
	if c == nil {
		c = &counter{r.m.requests.WithLabelValues(r.route, r.method, strconv.Itoa(code))}
		r.codes[i].Store(c)
	}
	c.Inc()
}
