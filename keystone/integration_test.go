package keystone

// Tests against the real Keystone that scripts/keystone starts, as every
// test of this package that talks to Keystone is (there is no Keystone
// fake; what a real Keystone cannot be made to do, such as fail, hold a
// request or count them, a proxy in front of it does: proxy_test.go):
//
//	scripts/keystone start /tmp/ks && . /tmp/ks/env && go test -race ./keystone/
//
// Without KEYSTONE_URL they skip, or fail when ZAQAR_TEST_REQUIRE_ALL=1.
// They run one after another: sqlite-backed Keystone answers concurrent
// writes (revocations, trusts) with "database is locked".

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/trusts"

	"github.com/zaqar-go/suite/internal/testenv"
)

// requireEnv returns the variable scripts/keystone writes (testenv.Env).
func requireEnv(t testing.TB, name string) string {
	t.Helper()
	return testenv.Env(t, name, "run scripts/keystone start DIR and source DIR/env")
}

// realKeystone is the environment scripts/keystone writes.
type realKeystone struct {
	url string
	env func(string) string
}

func newRealKeystone(t testing.TB) realKeystone {
	t.Helper()
	return realKeystone{url: requireEnv(t, "KEYSTONE_URL"), env: func(name string) string { return requireEnv(t, name) }}
}

// validator is a Validator for the service user.
func (k realKeystone) validator(t testing.TB, edit func(*Config)) *Validator {
	t.Helper()
	cfg := Config{
		AuthURL:           k.url,
		Username:          k.env("KEYSTONE_SERVICE_USERNAME"),
		Password:          k.env("KEYSTONE_SERVICE_PASSWORD"),
		ProjectName:       k.env("KEYSTONE_SERVICE_PROJECT"),
		UserDomainName:    "Default",
		ProjectDomainName: "Default",
		RegionName:        k.env("KEYSTONE_REGION"),
	}
	if edit != nil {
		edit(&cfg)
	}
	v, err := New(t.Context(), cfg)
	requireNoError(t, err)
	return v
}

// identityClient is an identity v3 client sending token.
func (k realKeystone) identityClient(t testing.TB, token string) *gophercloud.ServiceClient {
	t.Helper()
	p, err := openstack.NewClient(k.url)
	requireNoError(t, err)
	p.TokenID = token
	c, err := openstack.NewIdentityV3(p, gophercloud.EndpointOpts{})
	requireNoError(t, err)
	return c
}

// token authenticates who ("DEMO", "ALT", "ADMIN", "SERVICE") with a
// password, scoped to their project.
func (k realKeystone) token(t testing.TB, who string) string {
	t.Helper()
	tok, err := tokens.Create(t.Context(), k.identityClient(t, ""), &tokens.AuthOptions{
		Username:   k.env("KEYSTONE_" + who + "_USERNAME"),
		Password:   k.env("KEYSTONE_" + who + "_PASSWORD"),
		DomainName: "Default",
		Scope:      tokens.Scope{ProjectName: k.env("KEYSTONE_" + who + "_PROJECT"), DomainName: "Default"},
	}).ExtractTokenID()
	requireNoError(t, err)
	return tok
}

// revoke revokes token with itself (a user may revoke their own tokens).
func (k realKeystone) revoke(t testing.TB, token string) {
	t.Helper()
	requireNoError(t, tokens.Revoke(t.Context(), k.identityClient(t, token), token).Err)
}

func TestKeystoneValidate(t *testing.T) {
	k := newRealKeystone(t)
	v := k.validator(t, nil)

	for _, tc := range []struct{ who, project string }{{"DEMO", "demo"}, {"ALT", "alt"}} {
		id, err := v.Validate(t.Context(), k.token(t, tc.who))
		requireNoError(t, err)
		if id.ProjectID != k.env("KEYSTONE_"+tc.who+"_PROJECT_ID") || id.ProjectName != tc.project ||
			id.UserID != k.env("KEYSTONE_"+tc.who+"_USER_ID") || id.UserName != k.env("KEYSTONE_"+tc.who+"_USERNAME") ||
			id.UserDomainID != "default" || id.ProjectDomainName != "Default" {
			t.Errorf("%s: Validate = %+v", tc.who, id)
		}
		if !id.HasRole("member") || id.IsAdmin() || id.TrustID != "" {
			t.Errorf("%s: roles %v, trust %q: want member, not admin, no trust", tc.who, id.Roles, id.TrustID)
		}
		if until := time.Until(id.ExpiresAt); until < 50*time.Minute || until > 61*time.Minute {
			t.Errorf("%s: expires in %v, want about an hour", tc.who, until)
		}
	}
	id, err := v.Validate(t.Context(), k.token(t, "ADMIN"))
	requireNoError(t, err)
	if !id.IsAdmin() || id.ProjectID != k.env("KEYSTONE_ADMIN_PROJECT_ID") {
		t.Errorf("admin: Validate = %+v", id)
	}

	demo := k.token(t, "DEMO")
	for _, bad := range []string{
		"garbage",
		"gAAAAABfakefakefakefakefakefakefakefakefakefakefakefakefakefakefakefake",
		demo[:len(demo)-4] + "AAAA", // a real token, altered
		demo + "x",
	} {
		_, err := v.Validate(t.Context(), bad)
		if !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Validate(%.12s...) = %v, want ErrInvalidToken", bad, err)
		} else if strings.Contains(err.Error(), bad) {
			t.Errorf("error %q shows the token", err)
		}
	}
}

// TestKeystoneUnscoped: Keystone accepts unscoped tokens; a project-scoped
// service cannot.
func TestKeystoneUnscoped(t *testing.T) {
	k := newRealKeystone(t)
	v := k.validator(t, nil)
	body, _ := json.Marshal(map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": k.env("KEYSTONE_DEMO_USERNAME"), "password": k.env("KEYSTONE_DEMO_PASSWORD"),
			"domain": map[string]string{"name": "Default"},
		}}},
		"scope": "unscoped",
	}})
	resp, err := http.Post(k.url+"/auth/tokens", "application/json", bytes.NewReader(body))
	requireNoError(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("unscoped authentication: %s", resp.Status)
	}
	unscoped := resp.Header.Get("X-Subject-Token")
	if _, err := v.Validate(t.Context(), unscoped); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Validate(unscoped) = %v, want ErrInvalidToken", err)
	}
}

// TestKeystoneRevocation: a revoked token stays valid in a Validator's cache
// for at most CacheTTL (keystonemiddleware's token_cache_time semantics) and
// is refused by Keystone at once.
func TestKeystoneRevocation(t *testing.T) {
	k := newRealKeystone(t)
	cached := k.validator(t, func(c *Config) { c.CacheTTL = time.Minute })
	clk := testenv.NewClock(time.Now())
	cached.now = clk.Now
	token := k.token(t, "DEMO")
	_, err := cached.Validate(t.Context(), token)
	requireNoError(t, err)

	k.revoke(t, token)

	if _, err := cached.Validate(t.Context(), token); err != nil {
		t.Errorf("Validate of a revoked token within CacheTTL = %v; want the cached identity", err)
	}
	clk.Advance(time.Minute)
	if _, err := cached.Validate(t.Context(), token); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Validate of a revoked token after CacheTTL = %v, want ErrInvalidToken", err)
	}
	fresh := k.validator(t, nil)
	if _, err := fresh.Validate(t.Context(), token); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Validate of a revoked token, empty cache = %v, want ErrInvalidToken", err)
	}
	uncached := k.validator(t, func(c *Config) { c.CacheTTL = -1 })
	if _, err := uncached.Validate(t.Context(), token); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Validate of a revoked token, no cache = %v, want ErrInvalidToken", err)
	}
}

// TestKeystoneServiceReauthentication: when Keystone refuses the service
// token (here revoked; in production expired), the Validator gets another.
func TestKeystoneServiceReauthentication(t *testing.T) {
	k := newRealKeystone(t)
	v := k.validator(t, func(c *Config) { c.CacheTTL = -1 })
	_, err := v.Validate(t.Context(), k.token(t, "DEMO"))
	requireNoError(t, err)
	old := v.provider.Token()
	k.revoke(t, old)

	id, err := v.Validate(t.Context(), k.token(t, "DEMO"))
	requireNoError(t, err)
	if id.ProjectName != "demo" {
		t.Errorf("Validate after re-authentication = %+v", id)
	}
	if v.provider.Token() == old {
		t.Error("the service token did not change")
	}

	// The service user cannot authenticate any more (its password changed,
	// say): unavailable, not invalid.
	p := newProxy(t, k)
	v, _, _ = k.through(t, p, func(c *Config) { c.CacheTTL = -1 })
	k.revoke(t, v.provider.Token())
	p.set(func(p *proxy) { p.fail[routeAuthenticate] = http.StatusUnauthorized })
	if _, err = v.Validate(t.Context(), k.token(t, "DEMO")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Validate when the service user cannot re-authenticate = %v, want ErrUnavailable", err)
	}
}

func TestKeystoneMiddleware(t *testing.T) {
	k := newRealKeystone(t)
	v := k.validator(t, nil)
	srv := httptest.NewServer(Middleware(v, MiddlewareOptions{
		Skip: func(r *http.Request) bool { return r.URL.Path == "/" },
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := IdentityFrom(r.Context())
		w.Header().Set("Seen-Project", r.Header.Get("X-Project-Id"))
		w.Header().Set("Seen-Roles", r.Header.Get("X-Roles"))
		w.Header().Set("Seen-Identity", id.ProjectID)
		w.WriteHeader(http.StatusNoContent)
	})))
	t.Cleanup(srv.Close)

	get := func(path, token string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		requireNoError(t, err)
		// A client claiming the alt project and the admin role.
		req.Header.Set("X-Project-Id", k.env("KEYSTONE_ALT_PROJECT_ID"))
		req.Header.Set("X-Roles", "admin")
		if token != "" {
			req.Header.Set("X-Auth-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		requireNoError(t, err)
		resp.Body.Close()
		return resp
	}

	resp := get("/v2/queues", k.token(t, "DEMO"))
	demoProject := k.env("KEYSTONE_DEMO_PROJECT_ID")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Seen-Project") != demoProject ||
		resp.Header.Get("Seen-Identity") != demoProject || strings.Contains(resp.Header.Get("Seen-Roles"), "admin") {
		t.Errorf("demo token: %s, handler saw X-Project-Id %q, identity %q, X-Roles %q; want project %s without admin",
			resp.Status, resp.Header.Get("Seen-Project"), resp.Header.Get("Seen-Identity"), resp.Header.Get("Seen-Roles"), demoProject)
	}
	for _, token := range []string{"", "garbage"} {
		resp := get("/v2/queues", token)
		if want := `Keystone uri="` + k.url + `"`; resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != want {
			t.Errorf("token %q: %s, WWW-Authenticate %q; want 401 with %q", token, resp.Status, resp.Header.Get("WWW-Authenticate"), want)
		}
	}
	resp = get("/", "")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Seen-Roles") != "" || resp.Header.Get("Seen-Identity") != "" {
		t.Errorf("skipped request: %s, X-Roles %q, identity %q", resp.Status, resp.Header.Get("Seen-Roles"), resp.Header.Get("Seen-Identity"))
	}
}

func TestKeystoneCatalog(t *testing.T) {
	k := newRealKeystone(t)
	v := k.validator(t, nil)
	elsewhere := k.validator(t, func(c *Config) { c.RegionName = "RegionTwo" })
	messaging := k.env("KEYSTONE_MESSAGING_URL")
	websocket := k.env("KEYSTONE_MESSAGING_WEBSOCKET_URL")
	for _, tc := range []struct {
		typ, iface, region string
		want               string
		wantErr            error
	}{
		{"messaging", "public", "", messaging, nil},
		{"messaging", "", "", messaging, nil},          // public by default
		{"messaging", "publicURL", "", messaging, nil}, // keystoneauth's old names
		{"messaging", "internalURL", "RegionOne", messaging, nil},
		{"messaging", "internal", "", messaging, nil},
		{"messaging", "admin", "RegionOne", messaging, nil},
		{"messaging-websocket", "public", "", websocket, nil},
		{"identity", "public", "", k.url, nil},
		{"messaging", "public", "RegionTwo", "", ErrNoEndpoint},
		{"orchestration", "public", "", "", ErrNoEndpoint},
		{"messaging", "private", "", "", ErrNoEndpoint},
	} {
		got, err := v.EndpointFor(t.Context(), tc.typ, tc.iface, tc.region)
		if got != tc.want || !errors.Is(err, tc.wantErr) {
			t.Errorf("EndpointFor(%q, %q, %q) = %q, %v, want %q, %v", tc.typ, tc.iface, tc.region, got, err, tc.want, tc.wantErr)
		}
	}
	// The configured region is the default one.
	if got, err := elsewhere.EndpointFor(t.Context(), "messaging", "public", ""); !errors.Is(err, ErrNoEndpoint) {
		t.Errorf("EndpointFor(messaging) with region_name RegionTwo = %q, %v, want ErrNoEndpoint", got, err)
	}
	if got, err := elsewhere.EndpointFor(t.Context(), "messaging", "public", "RegionOne"); got != messaging || err != nil {
		t.Errorf("EndpointFor(messaging, RegionOne) with region_name RegionTwo = %q, %v, want %s", got, err, messaging)
	}
}

func TestKeystoneTrust(t *testing.T) {
	k := newRealKeystone(t)
	v := k.validator(t, nil)
	demo := k.token(t, "DEMO")
	trustor, err := v.Validate(t.Context(), demo)
	requireNoError(t, err)

	// t.Context() is cancelled when cleanups run.
	deleteTrust := func(client *gophercloud.ServiceClient, id string) func() {
		return func() {
			if err := trusts.Delete(context.Background(), client, id).Err; err != nil {
				t.Errorf("deleting trust: %v", err)
			}
		}
	}
	demoClient := k.identityClient(t, demo)

	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	trustID, err := v.CreateTrust(t.Context(), demo, trustor, []string{"member"}, expires)
	requireNoError(t, err)
	t.Cleanup(deleteTrust(demoClient, trustID))
	// What Keystone recorded: the service user impersonating the trustor
	// in the trustor's project, with the roles named, until expires.
	service, err := v.Validate(t.Context(), v.provider.Token())
	requireNoError(t, err)
	trust, err := trusts.Get(t.Context(), demoClient, trustID).Extract()
	requireNoError(t, err)
	if trust.TrustorUserID != trustor.UserID || trust.TrusteeUserID != service.UserID || trust.ProjectID != trustor.ProjectID ||
		!trust.Impersonation || !trust.ExpiresAt.Equal(expires) || len(trust.Roles) != 1 || trust.Roles[0].Name != "member" {
		t.Errorf("trust = %+v, want %s trusting %s in %s, impersonation, member only, until %v",
			trust, trustor.UserID, service.UserID, trustor.ProjectID, expires)
	}

	token, expires, err := v.TrustToken(t.Context(), trustID)
	requireNoError(t, err)
	if time.Until(expires) <= 0 {
		t.Errorf("trust token expires at %v", expires)
	}
	id, err := v.Validate(t.Context(), token)
	requireNoError(t, err)
	// Impersonation: the trust token acts as the trustor in the trustor's project.
	if id.TrustID != trustID || id.UserID != trustor.UserID || id.ProjectID != trustor.ProjectID ||
		!id.HasRole("member") || id.IsAdmin() {
		t.Errorf("trust token identity = %+v, want trust %s for %s in %s with member", id, trustID, trustor.UserID, trustor.ProjectID)
	}

	// All of the trustor's roles when none are named.
	all, err := v.CreateTrust(t.Context(), demo, trustor, nil, time.Time{})
	requireNoError(t, err)
	t.Cleanup(deleteTrust(demoClient, all))
	trust, err = trusts.Get(t.Context(), demoClient, all).Extract()
	requireNoError(t, err)
	var roles []string
	for _, r := range trust.Roles {
		roles = append(roles, r.Name)
	}
	slices.Sort(roles)
	if want := slices.Sorted(slices.Values(trustor.Roles)); !slices.Equal(roles, want) || !trust.ExpiresAt.IsZero() {
		t.Errorf("trust without roles or expiry: roles %v, expires %v; want %v, never", roles, trust.ExpiresAt, want)
	}

	// Keystone lets only the trustor create a trust.
	_, err = v.CreateTrust(t.Context(), k.token(t, "ALT"), trustor, nil, time.Now().Add(time.Hour))
	if err == nil || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "403") {
		t.Errorf("CreateTrust with another user's token = %v, want Keystone's 403", err)
	}
	if _, err := v.CreateTrust(t.Context(), demo, Identity{}, nil, time.Time{}); err == nil {
		t.Error("CreateTrust without a trustor succeeded")
	}
	if _, err := v.CreateTrust(t.Context(), "garbage", trustor, nil, time.Time{}); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("CreateTrust with a garbage token = %v, want ErrInvalidToken", err)
	}
	if _, _, err := v.TrustToken(t.Context(), "0123456789abcdef0123456789abcdef"); err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("TrustToken(unknown trust) = %v, want a refusal", err)
	}

	// Keystone failing (injected at a proxy): unavailable.
	p := newProxy(t, k)
	pv, _, _ := k.through(t, p, nil)
	p.set(func(p *proxy) { p.fail[routeTrust] = http.StatusServiceUnavailable })
	if _, err := pv.CreateTrust(t.Context(), demo, trustor, nil, time.Time{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("CreateTrust when Keystone answers 503 = %v, want ErrUnavailable", err)
	}
	p.set(func(p *proxy) { p.fail[routeAuthenticate] = http.StatusServiceUnavailable })
	if _, _, err := pv.TrustToken(t.Context(), trustID); !errors.Is(err, ErrUnavailable) {
		t.Errorf("TrustToken when Keystone answers 503 = %v, want ErrUnavailable", err)
	}
}
