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
	k := newRealKeystone(t)
	base := Config{AuthURL: k.url, Username: k.env("KEYSTONE_SERVICE_USERNAME"), Password: k.env("KEYSTONE_SERVICE_PASSWORD"),
		ProjectName: k.env("KEYSTONE_SERVICE_PROJECT")}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // in the error; "" for success
	}{
		{"ok with default domains", func(*Config) {}, ""},
		{"ok with project id", func(c *Config) { c.ProjectName, c.ProjectID = "", k.env("KEYSTONE_SERVICE_PROJECT_ID") }, ""},
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
	k := newRealKeystone(t)
	p := newProxy(t, k)
	token := k.token(t, "DEMO")
	p.set(func(p *proxy) { p.fail[routeAuthenticate] = http.StatusServiceUnavailable })
	v, clk, buf := k.through(t, p, nil)
	if !strings.Contains(buf.String(), "will retry") {
		t.Errorf("no warning logged: %q", buf.String())
	}
	if _, err := v.Validate(t.Context(), token); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Validate with Keystone down = %v, want ErrUnavailable", err)
	}
	p.set(func(p *proxy) { delete(p.fail, routeAuthenticate) })
	if _, err := v.Validate(t.Context(), token); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Validate right after a failed authentication = %v, want ErrUnavailable without retrying", err)
	}
	clk.Advance(authRetry)
	id, err := v.Validate(t.Context(), token)
	requireNoError(t, err)
	if want := k.env("KEYSTONE_DEMO_PROJECT_ID"); id.ProjectID != want {
		t.Errorf("ProjectID = %q, want %s", id.ProjectID, want)
	}

	// Nothing listening at all.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	v, err = New(t.Context(), Config{AuthURL: closed.URL + "/v3", Username: "zaqar", Password: "x", ProjectName: "service"})
	requireNoError(t, err)
	if _, err := v.Validate(t.Context(), token); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Validate with nothing listening = %v, want ErrUnavailable", err)
	}
}

// TestValidateRefused: what never reaches Keystone, and Keystone's
// failures (injected at the proxy) as unavailability. The identities
// Keystone gives are TestKeystoneValidate's and TestKeystoneTrust's.
func TestValidateRefused(t *testing.T) {
	k := newRealKeystone(t)
	p := newProxy(t, k)
	token := k.token(t, "DEMO")
	for _, tc := range []struct {
		name    string
		token   string
		status  int // answered by the proxy instead of Keystone
		wantErr error
		asked   bool // whether Keystone is asked
	}{
		{name: "empty", token: "", wantErr: ErrInvalidToken},
		{name: "space", token: "demo token", wantErr: ErrInvalidToken},
		{name: "newline", token: "demo\r\nX-Roles: admin", wantErr: ErrInvalidToken},
		{name: "huge", token: strings.Repeat("a", maxTokenLen+1), wantErr: ErrInvalidToken},
		{name: "keystone 500", token: token, status: 500, wantErr: ErrUnavailable, asked: true},
		{name: "keystone 503", token: token, status: 503, wantErr: ErrUnavailable, asked: true},
		{name: "service user forbidden", token: token, status: 403, wantErr: ErrUnavailable, asked: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.set(func(p *proxy) { p.fail[routeValidate], p.validations = tc.status, 0 })
			v, _, _ := k.through(t, p, nil)
			_, err := v.Validate(t.Context(), tc.token)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate = %v, want %v", err, tc.wantErr)
			}
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Errorf("error %q shows the token", err)
			}
			if asked := p.count() > 0; asked != tc.asked {
				t.Errorf("Keystone asked: %v, want %v", asked, tc.asked)
			}
		})
	}
	p.set(func(p *proxy) { p.fail[routeValidate] = 0 })
	v, _, _ := k.through(t, p, nil)
	_, err := v.Validate(t.Context(), token)
	requireNoError(t, err)
	p.set(func(p *proxy) {
		if !p.lastQuery.Has("nocatalog") || p.lastAuth != v.provider.Token() {
			t.Error("the validation did not send the service token with nocatalog")
		}
	})
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
	k := newRealKeystone(t)
	p := newProxy(t, k)
	token := k.token(t, "DEMO") // valid for an hour

	validate := func(t *testing.T, v *Validator, token string, wantErr error, wantCalls int) {
		t.Helper()
		_, err := v.Validate(t.Context(), token)
		if !errors.Is(err, wantErr) {
			t.Fatalf("Validate(%.8s...) = %v, want %v", token, err, wantErr)
		}
		if got := p.count(); got != wantCalls {
			t.Fatalf("after Validate(%.8s...): %d calls to Keystone, want %d", token, got, wantCalls)
		}
	}
	reset := func() { p.set(func(p *proxy) { p.validations, p.fail[routeValidate] = 0, 0 }) }

	t.Run("valid token cached for CacheTTL", func(t *testing.T) {
		reset()
		v, clk, _ := k.through(t, p, func(c *Config) { c.CacheTTL = 10 * time.Minute })
		validate(t, v, token, nil, 1)
		validate(t, v, token, nil, 1)
		clk.Advance(10*time.Minute - time.Second)
		validate(t, v, token, nil, 1)
		clk.Advance(time.Second)
		validate(t, v, token, nil, 2)
	})
	t.Run("never past the token's expiry", func(t *testing.T) {
		reset()
		v, clk, _ := k.through(t, p, func(c *Config) { c.CacheTTL = 3 * time.Hour })
		id, err := v.Validate(t.Context(), token)
		requireNoError(t, err)
		clk.Advance(id.ExpiresAt.Sub(clk.Now()) + time.Second)
		validate(t, v, token, ErrInvalidToken, 2)
	})
	t.Run("invalid token cached briefly", func(t *testing.T) {
		reset()
		v, clk, _ := k.through(t, p, nil)
		validate(t, v, "bad", ErrInvalidToken, 1)
		validate(t, v, "bad", ErrInvalidToken, 1)
		clk.Advance(NegativeCacheTTL)
		validate(t, v, "bad", ErrInvalidToken, 2)
	})
	t.Run("unavailability not cached", func(t *testing.T) {
		reset()
		v, _, _ := k.through(t, p, nil)
		p.set(func(p *proxy) { p.fail[routeValidate] = http.StatusServiceUnavailable })
		validate(t, v, token, ErrUnavailable, 1)
		p.set(func(p *proxy) { p.fail[routeValidate] = 0 })
		validate(t, v, token, nil, 2)
	})
	t.Run("negative CacheTTL disables the cache", func(t *testing.T) {
		reset()
		v, _, _ := k.through(t, p, func(c *Config) { c.CacheTTL = -1 })
		validate(t, v, token, nil, 1)
		validate(t, v, token, nil, 2)
		validate(t, v, "bad", ErrInvalidToken, 3)
		validate(t, v, "bad", ErrInvalidToken, 4)
	})
	t.Run("bounded", func(t *testing.T) {
		reset()
		v, _, _ := k.through(t, p, func(c *Config) { c.CacheSize = 2 })
		validate(t, v, token, nil, 1)
		validate(t, v, "a", ErrInvalidToken, 2)
		validate(t, v, "b", ErrInvalidToken, 3)
		if n := v.cache.len(); n != 2 {
			t.Errorf("cache holds %d entries, want 2", n)
		}
		validate(t, v, token, nil, 4) // evicted as least recently used
	})
	t.Run("callers cannot change the cached roles", func(t *testing.T) {
		reset()
		v, _, _ := k.through(t, p, nil)
		id, err := v.Validate(t.Context(), token)
		requireNoError(t, err)
		id.Roles[0] = "admin"
		id, err = v.Validate(t.Context(), token)
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
	k := newRealKeystone(t)
	p := newProxy(t, k)
	token := k.token(t, "DEMO")
	release := make(chan struct{})
	p.set(func(p *proxy) { p.hold = release })
	v, _, _ := k.through(t, p, nil)

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	want := k.env("KEYSTONE_DEMO_PROJECT_ID")
	for range n {
		wg.Go(func() {
			id, err := v.Validate(t.Context(), token)
			if err == nil && id.ProjectID != want {
				err = errors.New("wrong project " + id.ProjectID)
			}
			errs <- err
		})
	}
	key := sha256.Sum256([]byte(token))
	waitFor(t, "all validations to wait on one flight", func() bool { return v.flights.waiting(key) == n })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		requireNoError(t, err)
	}
	if got := p.count(); got != 1 {
		t.Errorf("%d concurrent validations made %d Keystone calls, want 1", n, got)
	}
}

func TestValidateCallerGone(t *testing.T) {
	k := newRealKeystone(t)
	p := newProxy(t, k)
	token := k.token(t, "DEMO")
	release := make(chan struct{})
	p.set(func(p *proxy) { p.hold = release })
	v, _, _ := k.through(t, p, nil)

	first, cancel := context.WithCancel(t.Context())
	firstErr := make(chan error, 1)
	go func() {
		_, err := v.Validate(first, token)
		firstErr <- err
	}()
	key := sha256.Sum256([]byte(token))
	waitFor(t, "the first validation", func() bool { return v.flights.waiting(key) == 1 })
	secondErr := make(chan error, 1)
	go func() {
		_, err := v.Validate(t.Context(), token)
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
	k := newRealKeystone(t)
	p := newProxy(t, k)
	token := k.token(t, "DEMO")
	// Long enough for the service user's authentication, which is not held.
	v, _, _ := k.through(t, p, func(c *Config) { c.Timeout = time.Second })
	never := make(chan struct{})
	p.set(func(p *proxy) { p.hold = never })
	_, err := v.Validate(t.Context(), token)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Validate against a hung Keystone = %v, want ErrUnavailable", err)
	}
}
