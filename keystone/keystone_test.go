package keystone

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
)

func TestNewConfig(t *testing.T) {
	fk := newFakeKeystone(t)
	base := Config{AuthURL: fk.url(), Username: "zaqar", Password: fakePassword, ProjectName: "service"}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // in the error; "" for success
	}{
		{"ok with default domains", func(*Config) {}, ""},
		{"ok with project id", func(c *Config) { c.ProjectName, c.ProjectID = "", "service-id" }, ""},
		{"no auth_url", func(c *Config) { c.AuthURL = "" }, "auth_url"},
		{"no username", func(c *Config) { c.Username = "" }, "username"},
		{"no password", func(c *Config) { c.Password = "" }, "password is not set"},
		{"no project", func(c *Config) { c.ProjectName = "" }, "project_name"},
		{"both projects", func(c *Config) { c.ProjectID = "x" }, "not both"},
		{"wrong password", func(c *Config) { c.Password = "nope" }, "cannot authenticate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			_, err := New(t.Context(), cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New: %v, want an error about %q", err, tc.want)
			case tc.want != "" && strings.Contains(err.Error(), "nope"):
				t.Fatalf("New: %v: the error shows the password", err)
			}
		})
	}
}

func TestNewWithKeystoneDown(t *testing.T) {
	fk := newFakeKeystone(t)
	fk.set(func(fk *fakeKeystone) { fk.authStatus = http.StatusServiceUnavailable })
	v, clk, buf := newTestValidator(t, fk, nil)
	if !strings.Contains(buf.String(), "will retry") {
		t.Errorf("no warning logged: %q", buf.String())
	}
	fk.addToken("user-token", userDoc("demo", "demo", time.Now().Add(time.Hour), "member"))
	if _, err := v.Validate(t.Context(), "user-token"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Validate with Keystone down = %v, want ErrUnavailable", err)
	}
	fk.set(func(fk *fakeKeystone) { fk.authStatus = 0 })
	if _, err := v.Validate(t.Context(), "user-token"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Validate right after a failed authentication = %v, want ErrUnavailable without retrying", err)
	}
	clk.Advance(authRetry)
	id, err := v.Validate(t.Context(), "user-token")
	requireNoError(t, err)
	if id.ProjectID != "demo-id" {
		t.Errorf("ProjectID = %q, want demo-id", id.ProjectID)
	}

	// Nothing listening at all.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	v, err = New(t.Context(), Config{AuthURL: closed.URL + "/v3", Username: "zaqar", Password: "x", ProjectName: "service"})
	requireNoError(t, err)
	if _, err := v.Validate(t.Context(), "user-token"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Validate with nothing listening = %v, want ErrUnavailable", err)
	}
}

func TestValidate(t *testing.T) {
	fk := newFakeKeystone(t)
	hour := time.Now().Add(time.Hour)
	fk.addToken("demo-token", userDoc("demo", "demo", hour, "member", "reader"))
	fk.addToken("admin-token", userDoc("admin", "admin", hour, "Admin"))
	fk.addToken("expired-token", userDoc("demo", "demo", time.Now().Add(-time.Minute), "member"))
	fk.addToken("unscoped-token", `{"expires_at": "`+hour.UTC().Format(time.RFC3339)+`", "user": {"id": "u"}}`)
	fk.addToken("trust-scoped", `{"expires_at": "`+hour.UTC().Format(time.RFC3339)+`", "user": {"id": "u"},
		"project": {"id": "p"}, "roles": [{"name": "member"}], "OS-TRUST:trust": {"id": "t1"}}`)

	for _, tc := range []struct {
		name    string
		token   string
		status  int // forced Keystone status
		want    Identity
		wantErr error
	}{
		{name: "member", token: "demo-token", want: Identity{
			UserID: "demo-id", UserName: "demo", UserDomainID: "default", UserDomainName: "Default",
			ProjectID: "demo-id", ProjectName: "demo", ProjectDomainID: "default", ProjectDomainName: "Default",
			Roles: []string{"member", "reader"}, ExpiresAt: hour.UTC().Truncate(time.Microsecond)}},
		{name: "trust scoped", token: "trust-scoped", want: Identity{UserID: "u", ProjectID: "p",
			Roles: []string{"member"}, TrustID: "t1", ExpiresAt: hour.UTC().Truncate(time.Second)}},
		{name: "unknown", token: "garbage", wantErr: ErrInvalidToken},
		{name: "expired", token: "expired-token", wantErr: ErrInvalidToken},
		{name: "unscoped", token: "unscoped-token", wantErr: ErrInvalidToken},
		{name: "empty", token: "", wantErr: ErrInvalidToken},
		{name: "space", token: "demo token", wantErr: ErrInvalidToken},
		{name: "newline", token: "demo\r\nX-Roles: admin", wantErr: ErrInvalidToken},
		{name: "huge", token: strings.Repeat("a", maxTokenLen+1), wantErr: ErrInvalidToken},
		{name: "keystone 500", token: "demo-token", status: 500, wantErr: ErrUnavailable},
		{name: "keystone 503", token: "demo-token", status: 503, wantErr: ErrUnavailable},
		{name: "service user forbidden", token: "demo-token", status: 403, wantErr: ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fk.set(func(fk *fakeKeystone) { fk.status = tc.status })
			v, _, _ := newTestValidator(t, fk, nil)
			got, err := v.Validate(t.Context(), tc.token)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Validate = %v, want %v", err, tc.wantErr)
				}
				if tc.token != "" && strings.Contains(err.Error(), tc.token) {
					t.Errorf("error %q shows the token", err)
				}
				return
			}
			requireNoError(t, err)
			if !identityEqual(got, tc.want) {
				t.Errorf("Validate =\n%+v, want\n%+v", got, tc.want)
			}
			if !fk.lastSubjectOK {
				t.Error("the validation did not send the service token with nocatalog")
			}
		})
	}
}

func identityEqual(a, b Identity) bool {
	return a.UserID == b.UserID && a.UserName == b.UserName &&
		a.UserDomainID == b.UserDomainID && a.UserDomainName == b.UserDomainName &&
		a.ProjectID == b.ProjectID && a.ProjectName == b.ProjectName &&
		a.ProjectDomainID == b.ProjectDomainID && a.ProjectDomainName == b.ProjectDomainName &&
		a.TrustID == b.TrustID && slices.Equal(a.Roles, b.Roles) && a.ExpiresAt.Equal(b.ExpiresAt)
}

func TestHasRole(t *testing.T) {
	id := Identity{Roles: []string{"member", "Admin"}}
	for _, tc := range []struct {
		role string
		want bool
	}{{"member", true}, {"MEMBER", true}, {"admin", true}, {"reader", false}, {"", false}} {
		if got := id.HasRole(tc.role); got != tc.want {
			t.Errorf("HasRole(%q) = %v, want %v", tc.role, got, tc.want)
		}
	}
	if !id.IsAdmin() || (Identity{Roles: []string{"member"}}).IsAdmin() {
		t.Error("IsAdmin is wrong")
	}
}

func TestValidateCache(t *testing.T) {
	fk := newFakeKeystone(t)
	fk.addToken("hour", userDoc("demo", "demo", time.Now().Add(time.Hour), "member"))
	fk.addToken("minute", userDoc("demo", "demo", time.Now().Add(time.Minute), "member"))

	validate := func(t *testing.T, v *Validator, token string, wantErr error, wantCalls int) {
		t.Helper()
		_, err := v.Validate(t.Context(), token)
		if !errors.Is(err, wantErr) {
			t.Fatalf("Validate(%s) = %v, want %v", token, err, wantErr)
		}
		if got := fk.count(); got != wantCalls {
			t.Fatalf("after Validate(%s): %d calls to Keystone, want %d", token, got, wantCalls)
		}
	}
	reset := func() { fk.set(func(fk *fakeKeystone) { fk.validations, fk.status = 0, 0 }) }

	t.Run("valid token cached for CacheTTL", func(t *testing.T) {
		reset()
		v, clk, _ := newTestValidator(t, fk, func(c *Config) { c.CacheTTL = 10 * time.Minute })
		validate(t, v, "hour", nil, 1)
		validate(t, v, "hour", nil, 1)
		clk.Advance(10*time.Minute - time.Second)
		validate(t, v, "hour", nil, 1)
		clk.Advance(time.Second)
		validate(t, v, "hour", nil, 2)
	})
	t.Run("never past the token's expiry", func(t *testing.T) {
		reset()
		v, clk, _ := newTestValidator(t, fk, nil)
		validate(t, v, "minute", nil, 1)
		clk.Advance(time.Minute + time.Second)
		validate(t, v, "minute", ErrInvalidToken, 2)
	})
	t.Run("invalid token cached briefly", func(t *testing.T) {
		reset()
		v, clk, _ := newTestValidator(t, fk, nil)
		validate(t, v, "bad", ErrInvalidToken, 1)
		validate(t, v, "bad", ErrInvalidToken, 1)
		clk.Advance(NegativeCacheTTL)
		validate(t, v, "bad", ErrInvalidToken, 2)
	})
	t.Run("unavailability not cached", func(t *testing.T) {
		reset()
		v, _, _ := newTestValidator(t, fk, nil)
		fk.set(func(fk *fakeKeystone) { fk.status = http.StatusServiceUnavailable })
		validate(t, v, "hour", ErrUnavailable, 1)
		fk.set(func(fk *fakeKeystone) { fk.status = 0 })
		validate(t, v, "hour", nil, 2)
	})
	t.Run("negative CacheTTL disables the cache", func(t *testing.T) {
		reset()
		v, _, _ := newTestValidator(t, fk, func(c *Config) { c.CacheTTL = -1 })
		validate(t, v, "hour", nil, 1)
		validate(t, v, "hour", nil, 2)
		validate(t, v, "bad", ErrInvalidToken, 3)
		validate(t, v, "bad", ErrInvalidToken, 4)
	})
	t.Run("bounded", func(t *testing.T) {
		reset()
		v, _, _ := newTestValidator(t, fk, func(c *Config) { c.CacheSize = 2 })
		validate(t, v, "hour", nil, 1)
		validate(t, v, "a", ErrInvalidToken, 2)
		validate(t, v, "b", ErrInvalidToken, 3)
		if n := v.cache.len(); n != 2 {
			t.Errorf("cache holds %d entries, want 2", n)
		}
		validate(t, v, "hour", nil, 4) // evicted as least recently used
	})
	t.Run("callers cannot change the cached roles", func(t *testing.T) {
		reset()
		v, _, _ := newTestValidator(t, fk, nil)
		id, err := v.Validate(t.Context(), "hour")
		requireNoError(t, err)
		id.Roles[0] = "admin"
		id, err = v.Validate(t.Context(), "hour")
		requireNoError(t, err)
		if id.IsAdmin() {
			t.Error("a caller's change to Roles reached the cache")
		}
	})
}

func TestCacheLRU(t *testing.T) {
	now := time.Now()
	c := newCache(2)
	k := func(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }
	live := entry{expires: now.Add(time.Minute)}
	c.put(k("a"), live)
	c.put(k("b"), live)
	if _, ok := c.get(k("a"), now); !ok {
		t.Fatal("a missing")
	}
	c.put(k("c"), live) // evicts b, the least recently used
	for _, tc := range []struct {
		key  string
		want bool
	}{{"a", true}, {"b", false}, {"c", true}} {
		if _, ok := c.get(k(tc.key), now); ok != tc.want {
			t.Errorf("get(%s) found = %v, want %v", tc.key, ok, tc.want)
		}
	}
	if _, ok := c.get(k("a"), now.Add(time.Minute)); ok {
		t.Error("expired entry returned")
	}
	if n := c.len(); n != 1 {
		t.Errorf("len = %d after expiry, want 1", n)
	}
}

// waitFor polls cond; the test's deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, what, 30*time.Second, time.Millisecond, cond)
}

func TestValidateCoalesces(t *testing.T) {
	fk := newFakeKeystone(t)
	fk.addToken("tok", userDoc("demo", "demo", time.Now().Add(time.Hour), "member"))
	release := make(chan struct{})
	fk.set(func(fk *fakeKeystone) { fk.block = release })
	v, _, _ := newTestValidator(t, fk, nil)

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			id, err := v.Validate(t.Context(), "tok")
			if err == nil && id.ProjectID != "demo-id" {
				err = errors.New("wrong project " + id.ProjectID)
			}
			errs <- err
		})
	}
	key := sha256.Sum256([]byte("tok"))
	waitFor(t, "all validations to wait on one flight", func() bool { return v.flights.waiting(key) == n })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		requireNoError(t, err)
	}
	if got := fk.count(); got != 1 {
		t.Errorf("%d concurrent validations made %d Keystone calls, want 1", n, got)
	}
}

func TestValidateCallerGone(t *testing.T) {
	fk := newFakeKeystone(t)
	fk.addToken("tok", userDoc("demo", "demo", time.Now().Add(time.Hour), "member"))
	release := make(chan struct{})
	fk.set(func(fk *fakeKeystone) { fk.block = release })
	v, _, _ := newTestValidator(t, fk, nil)

	first, cancel := context.WithCancel(t.Context())
	firstErr := make(chan error, 1)
	go func() {
		_, err := v.Validate(first, "tok")
		firstErr <- err
	}()
	key := sha256.Sum256([]byte("tok"))
	waitFor(t, "the first validation", func() bool { return v.flights.waiting(key) == 1 })
	secondErr := make(chan error, 1)
	go func() {
		_, err := v.Validate(t.Context(), "tok")
		secondErr <- err
	}()
	waitFor(t, "the second validation", func() bool { return v.flights.waiting(key) == 2 })
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("cancelled caller got %v, want ErrUnavailable wrapping context.Canceled", err)
	}
	close(release)
	requireNoError(t, <-secondErr)
}

func TestValidateTimeout(t *testing.T) {
	fk := newFakeKeystone(t)
	fk.addToken("tok", userDoc("demo", "demo", time.Now().Add(time.Hour), "member"))
	v, _, _ := newTestValidator(t, fk, func(c *Config) { c.Timeout = 50 * time.Millisecond })
	never := make(chan struct{})
	fk.set(func(fk *fakeKeystone) { fk.block = never })
	_, err := v.Validate(t.Context(), "tok")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Validate against a hung Keystone = %v, want ErrUnavailable", err)
	}
}

func TestServiceTokenReauthentication(t *testing.T) {
	fk := newFakeKeystone(t)
	fk.addToken("tok", userDoc("demo", "demo", time.Now().Add(time.Hour), "member"))
	v, _, _ := newTestValidator(t, fk, func(c *Config) { c.CacheTTL = -1 })
	_, err := v.Validate(t.Context(), "tok")
	requireNoError(t, err)

	fk.rotate() // the service token expired
	_, err = v.Validate(t.Context(), "tok")
	requireNoError(t, err)
	fk.set(func(fk *fakeKeystone) {
		if fk.issued != 2 {
			t.Errorf("%d service tokens issued, want 2", fk.issued)
		}
	})

	// The service user's password changed under us: unavailable, not invalid.
	fk.set(func(fk *fakeKeystone) { fk.password = "changed" })
	fk.rotate()
	if _, err = v.Validate(t.Context(), "tok"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Validate when the service user cannot re-authenticate = %v, want ErrUnavailable", err)
	}
}

func TestEndpointFor(t *testing.T) {
	fk := newFakeKeystone(t)
	v, _, _ := newTestValidator(t, fk, nil)
	vOne, _, _ := newTestValidator(t, fk, func(c *Config) { c.RegionName = "RegionTwo" })
	for _, tc := range []struct {
		name               string
		v                  *Validator
		typ, iface, region string
		want               string
		wantErr            error
	}{
		{"public", v, "messaging", "public", "RegionOne", "http://zaqar-one:8888", nil},
		{"default interface", v, "messaging", "", "RegionOne", "http://zaqar-one:8888", nil},
		{"publicURL", v, "messaging", "publicURL", "RegionOne", "http://zaqar-one:8888", nil},
		{"internal", v, "messaging", "internal", "", "http://zaqar-internal:8888", nil},
		{"other region", v, "messaging", "public", "RegionTwo", "http://zaqar-two:8888", nil},
		{"configured region", vOne, "messaging", "public", "", "http://zaqar-two:8888", nil},
		{"identity", v, "identity", "public", "", "http://keystone/v3", nil},
		{"no admin endpoint", v, "messaging", "admin", "", "", ErrNoEndpoint},
		{"no such service", v, "orchestration", "public", "", "", ErrNoEndpoint},
		{"no such region", v, "messaging", "public", "RegionThree", "", ErrNoEndpoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.v.EndpointFor(t.Context(), tc.typ, tc.iface, tc.region)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("EndpointFor(%q, %q, %q) = %q, %v, want %q, %v", tc.typ, tc.iface, tc.region, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestCreateTrust(t *testing.T) {
	fk := newFakeKeystone(t)
	v, _, _ := newTestValidator(t, fk, nil)
	trustor := Identity{UserID: "demo-id", ProjectID: "demo-proj", Roles: []string{"member", "reader"}}
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	id, err := v.CreateTrust(t.Context(), "user-token", trustor, nil, expires)
	requireNoError(t, err)
	if id != "trust-1" {
		t.Errorf("trust id = %q, want trust-1", id)
	}
	fk.set(func(fk *fakeKeystone) {
		if fk.trustAuth != "user-token" {
			t.Errorf("trust created with X-Auth-Token %q, want the trustor's token", fk.trustAuth)
		}
		trust, _ := fk.trustBody["trust"].(map[string]any)
		for k, want := range map[string]any{
			"trustor_user_id": "demo-id", "trustee_user_id": "zaqar-id", "project_id": "demo-proj",
			"impersonation": true, "expires_at": "2030-01-02T03:04:05Z",
		} {
			if trust[k] != want {
				t.Errorf("trust %s = %v, want %v", k, trust[k], want)
			}
		}
		roles, _ := trust["roles"].([]any)
		if len(roles) != 2 {
			t.Errorf("trust roles = %v, want the trustor's two roles", roles)
		}
	})

	_, err = v.CreateTrust(t.Context(), "user-token", trustor, []string{"member"}, time.Time{})
	requireNoError(t, err)
	fk.set(func(fk *fakeKeystone) {
		trust, _ := fk.trustBody["trust"].(map[string]any)
		if roles, _ := trust["roles"].([]any); len(roles) != 1 {
			t.Errorf("trust roles = %v, want [member]", roles)
		}
		if _, ok := trust["expires_at"]; ok {
			t.Errorf("expires_at sent for a trust without expiry")
		}
	})

	for _, tc := range []struct {
		status int
		want   error
	}{{401, ErrInvalidToken}, {503, ErrUnavailable}} {
		fk.set(func(fk *fakeKeystone) { fk.trustStatus = tc.status })
		if _, err := v.CreateTrust(t.Context(), "user-token", trustor, nil, expires); !errors.Is(err, tc.want) {
			t.Errorf("CreateTrust when Keystone answers %d = %v, want %v", tc.status, err, tc.want)
		}
	}
	fk.set(func(fk *fakeKeystone) { fk.trustStatus = 403 })
	if _, err := v.CreateTrust(t.Context(), "user-token", trustor, nil, expires); err == nil ||
		errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "forced trust failure") {
		t.Errorf("CreateTrust when Keystone answers 403 = %v, want Keystone's message", err)
	}
	if _, err := v.CreateTrust(t.Context(), "user-token", Identity{}, nil, expires); err == nil {
		t.Error("CreateTrust without a trustor succeeded")
	}
}

func TestTrustToken(t *testing.T) {
	fk := newFakeKeystone(t)
	v, _, _ := newTestValidator(t, fk, nil)
	tok, expires, err := v.TrustToken(t.Context(), "trust-1")
	requireNoError(t, err)
	if tok != "trust-token-1" || time.Until(expires) < 59*time.Minute {
		t.Errorf("TrustToken = %q, %v, want trust-token-1 expiring in an hour", tok, expires)
	}
	fk.set(func(fk *fakeKeystone) {
		if fk.trustScoped != "trust-1" {
			t.Errorf("authentication scoped to trust %q, want trust-1", fk.trustScoped)
		}
	})
	_, _, err = v.TrustToken(t.Context(), "deleted")
	if err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("TrustToken(deleted) = %v, want a refusal", err)
	}
	fk.set(func(fk *fakeKeystone) { fk.authStatus = 503 })
	if _, _, err = v.TrustToken(t.Context(), "trust-1"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("TrustToken with Keystone down = %v, want ErrUnavailable", err)
	}
}
