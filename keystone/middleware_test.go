package keystone

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// seen is what the handler behind the middleware observed.
type seen struct {
	called   bool
	identity Identity
	hasID    bool
	header   http.Header
}

func serveThrough(t *testing.T, v *Validator, opts MiddlewareOptions, req *http.Request) (*httptest.ResponseRecorder, *seen) {
	t.Helper()
	s := &seen{}
	h := Middleware(v, opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.called = true
		s.identity, s.hasID = IdentityFrom(r.Context())
		s.header = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, s
}

func TestMiddleware(t *testing.T) {
	k := newRealKeystone(t)
	p := newProxy(t, k)
	demo := k.token(t, "DEMO")
	demoID, err := k.validator(t, nil).Validate(t.Context(), demo)
	requireNoError(t, err)
	const wwwAuth = `Keystone uri="https://keystone.example/identity"`
	const body401 = `{"error":{"code":401,"title":"Unauthorized","message":"The request you have made requires authentication."}}`
	const body503 = `{"error":{"code":503,"title":"Service Unavailable","message":"The Keystone service is temporarily unavailable."}}`
	forged := map[string]string{
		"X-Project-Id": k.env("KEYSTONE_ALT_PROJECT_ID"), "X-Roles": "admin", "X-User-Id": k.env("KEYSTONE_ADMIN_USER_ID"),
		"X-Identity-Status": "Confirmed", "X-Tenant-Id": k.env("KEYSTONE_ALT_PROJECT_ID"), "X-Service-Roles": "service",
		"X-Is-Admin-Project": "True",
	}

	for _, tc := range []struct {
		name       string
		token      string
		status     int // answered by the proxy instead of Keystone
		skip       bool
		ctxOnly    bool
		wantCode   int
		wantBody   string
		wantHeader map[string]string // seen by the handler; "" means absent
	}{
		{name: "no token", wantCode: 401, wantBody: body401},
		{name: "garbage token", token: "garbage", wantCode: 401, wantBody: body401},
		{name: "keystone down", token: demo, status: 503, wantCode: 503, wantBody: body503},
		{name: "valid token", token: demo, wantCode: 204, wantHeader: map[string]string{
			"X-Project-Id": demoID.ProjectID, "X-Project-Name": "demo", "X-User-Id": demoID.UserID, "X-User-Name": "demo",
			"X-Roles": strings.Join(demoID.Roles, ","), "X-Identity-Status": "Confirmed", "X-Tenant-Id": demoID.ProjectID,
			"X-Service-Roles": "", "X-Is-Admin-Project": "", "X-Auth-Token": demo,
		}},
		{name: "valid token, context only", token: demo, ctxOnly: true, wantCode: 204, wantHeader: map[string]string{
			"X-Project-Id": "", "X-Project-Name": "", "X-User-Id": "", "X-Roles": "", "X-Identity-Status": "",
			"X-Tenant-Id": "", "X-Service-Roles": "", "X-Is-Admin-Project": "", "X-Auth-Token": demo,
		}},
		{name: "skipped", skip: true, token: "garbage", wantCode: 204, wantHeader: map[string]string{
			"X-Project-Id": k.env("KEYSTONE_ALT_PROJECT_ID"), "X-Roles": "", "X-User-Id": "", "X-Identity-Status": "",
			"X-Tenant-Id": "", "X-Service-Roles": "", "X-Is-Admin-Project": "",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.set(func(p *proxy) { p.fail[routeValidate] = tc.status })
			v, _, logs := k.through(t, p, func(c *Config) {
				c.WWWAuthenticateURI = "https://keystone.example/identity"
			})
			req := httptest.NewRequest(http.MethodGet, "/v2/queues", nil)
			for k, val := range forged {
				req.Header.Set(k, val)
			}
			if tc.token != "" {
				req.Header.Set("X-Auth-Token", tc.token)
			}
			opts := MiddlewareOptions{Skip: func(r *http.Request) bool {
				if r.Header.Get("X-Roles") != "admin" {
					t.Error("Skip did not see the request as sent")
				}
				return tc.skip
			}, ContextOnly: tc.ctxOnly}
			rec, s := serveThrough(t, v, opts, req)

			if rec.Code != tc.wantCode {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.wantCode, rec.Body)
			}
			if tc.wantBody != "" {
				if got := compactJSON(t, rec.Body.String()); got != tc.wantBody {
					t.Errorf("body = %s, want %s", got, tc.wantBody)
				}
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q", ct)
				}
				if s.called {
					t.Error("the handler was called")
				}
			}
			if got := rec.Header().Get("WWW-Authenticate"); (tc.wantCode == 401) != (got == wwwAuth) {
				t.Errorf("WWW-Authenticate = %q (status %d)", got, tc.wantCode)
			}
			for k, want := range tc.wantHeader {
				if got := s.header.Get(k); got != want {
					t.Errorf("handler saw %s: %q, want %q", k, got, want)
				}
			}
			if tc.wantCode == 204 {
				if s.hasID != !tc.skip {
					t.Errorf("IdentityFrom ok = %v", s.hasID)
				}
				if s.hasID && (s.identity.ProjectID != demoID.ProjectID || !s.identity.HasRole("member")) {
					t.Errorf("IdentityFrom = %+v", s.identity)
				}
			}
			if tc.token != "" && strings.Contains(logs.String(), tc.token) {
				t.Errorf("the log shows the token: %s", logs)
			}
			if tc.wantCode == 503 && !strings.Contains(logs.String(), "cannot validate token") {
				t.Errorf("503 not logged: %q", logs)
			}
		})
	}
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var v struct {
		Error struct {
			Code    int    `json:"code"`
			Title   string `json:"title"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("body %q: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestContextWithIdentity(t *testing.T) {
	if _, ok := IdentityFrom(context.Background()); ok {
		t.Error("IdentityFrom(empty context) reported an identity")
	}
	want := Identity{ProjectID: "p", Roles: []string{"member"}}
	got, ok := IdentityFrom(ContextWithIdentity(context.Background(), want))
	if !ok || got.ProjectID != "p" {
		t.Errorf("IdentityFrom = %+v, %v", got, ok)
	}
}

// BenchmarkMiddlewareCached is the per-request cost of a token the cache
// already holds: what auth adds to every request of a busy client.
func BenchmarkMiddlewareCached(b *testing.B) {
	k := newRealKeystone(b)
	demo := k.token(b, "DEMO")
	v := k.validator(b, nil)
	h := Middleware(v, MiddlewareOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	w := httptest.NewRecorder()
	u, _ := url.Parse("/v2/queues/q/messages")
	b.ReportAllocs()
	for b.Loop() {
		r := &http.Request{Method: "POST", URL: u}
		r.Header = http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"},
			"User-Agent": {"bench"}, "Client-Id": {"3381af92-2b9e-11e3-b191-71861300734c"},
			"X-Auth-Token": {demo}, "Content-Length": {"40"}}
		h.ServeHTTP(w, r)
	}
}
