package keystone

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
)

// proxy stands between a Validator and the real Keystone. It shows what a
// real Keystone cannot be asked to show: how many validations reach
// Keystone (caching, coalescing), validations held until released (to line
// up concurrent callers or outlast a timeout), and an error status answered
// in Keystone's place for one kind of request (an outage, a refusal).
type proxy struct {
	url string // Keystone's v3 URL through the proxy

	mu          sync.Mutex
	validations int            // GET /v3/auth/tokens that arrived
	hold        chan struct{}  // when set, validations wait for it to close
	fail        map[string]int // route -> status answered instead of Keystone's
	lastQuery   url.Values     // of the last validation
	lastAuth    string         // X-Auth-Token of the last validation
}

// Routes a proxy tells apart.
const (
	routeValidate     = "validate"     // GET /v3/auth/tokens
	routeAuthenticate = "authenticate" // POST /v3/auth/tokens
	routeTrust        = "trust"        // POST /v3/OS-TRUST/trusts
)

func route(r *http.Request) string {
	switch {
	case r.URL.Path == "/v3/auth/tokens" && r.Method == http.MethodGet:
		return routeValidate
	case r.URL.Path == "/v3/auth/tokens" && r.Method == http.MethodPost:
		return routeAuthenticate
	case r.URL.Path == "/v3/OS-TRUST/trusts" && r.Method == http.MethodPost:
		return routeTrust
	}
	return ""
}

// newProxy serves k through a proxy until the test ends.
func newProxy(t testing.TB, k realKeystone) *proxy {
	t.Helper()
	target, err := url.Parse(k.url)
	requireNoError(t, err)
	target.Path = "" // requests keep their /v3 path
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
	p := &proxy{fail: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt := route(r)
		p.mu.Lock()
		if rt == routeValidate {
			p.validations++
			p.lastQuery, p.lastAuth = r.URL.Query(), r.Header.Get("X-Auth-Token")
		}
		hold, status := p.hold, p.fail[rt]
		p.mu.Unlock()
		if rt == routeValidate && hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		if status != 0 {
			// Keystone's error document.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error": {"code": %d, "message": "injected by the test proxy", "title": %q}}`, status, http.StatusText(status))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL + "/v3"
	return p
}

func (p *proxy) set(f func(p *proxy)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

// count is the number of validations that reached the proxy.
func (p *proxy) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.validations
}

// through is a Validator for the service user that reaches Keystone
// through p, with a settable clock and its log in the returned buffer.
func (k realKeystone) through(t testing.TB, p *proxy, edit func(*Config)) (*Validator, *testenv.Clock, *testenv.SyncBuffer) {
	t.Helper()
	buf := &testenv.SyncBuffer{}
	v := k.validator(t, func(c *Config) {
		c.AuthURL = p.url
		c.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if edit != nil {
			edit(c)
		}
	})
	c := testenv.NewClock(time.Now())
	v.now = c.Now
	return v, c, buf
}

func requireNoError(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}
