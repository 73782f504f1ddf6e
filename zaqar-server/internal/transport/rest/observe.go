package rest

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
)

// Request metrics: Options.Observe gives each route (pattern and method)
// a recorder when the router is built; the outermost middleware times
// every request and hands its status to its route's recorder. Labels come
// from the routing table, never from the request, so they stay bounded.

// unmatched labels requests that match no route (404, 405).
const unmatched = "unmatched"

var methods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OTHER"}

func methodIndex(m string) int {
	for i, name := range methods[:len(methods)-1] {
		if m == name {
			return i
		}
	}
	return len(methods) - 1
}

type recorder = func(code int, elapsed time.Duration)

// routeTable maps a route pattern to its recorders by method.
type routeTable struct {
	mux       *chi.Mux
	routes    map[string]*[len(methods)]recorder
	unmatched [len(methods)]recorder
}

// newRouteTable asks observe for a recorder of every route of mux, and of
// the unmatched requests of every method.
func newRouteTable(mux *chi.Mux, observe func(route, method string) func(code int, elapsed time.Duration)) *routeTable {
	t := &routeTable{mux: mux, routes: map[string]*[len(methods)]recorder{}}
	for i, m := range methods {
		t.unmatched[i] = observe(unmatched, m)
	}
	chi.Walk(mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		recs := t.routes[route]
		if recs == nil {
			recs = &[len(methods)]recorder{}
			t.routes[route] = recs
		}
		if i := methodIndex(method); recs[i] == nil {
			recs[i] = observe(route, methods[i])
		}
		return nil
	})
	return t
}

// lookup returns the recorder of a served request.
func (t *routeTable) lookup(r *http.Request) recorder {
	var pattern string
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		switch len(rctx.RoutePatterns) {
		case 0:
		case 1: // every route here: no allocation
			pattern = rctx.RoutePatterns[0]
		default:
			pattern = rctx.RoutePattern()
		}
	}
	if pattern == "" {
		// Refused before routing (authentication, a bad signature): find
		// the route the request was for.
		pattern = t.mux.Find(chi.NewRouteContext(), r.Method, r.URL.Path)
	}
	i := methodIndex(r.Method)
	if recs := t.routes[pattern]; recs != nil && recs[i] != nil {
		return recs[i]
	}
	return t.unmatched[i]
}
