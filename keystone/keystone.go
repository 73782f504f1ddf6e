package keystone

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

// Errors of Validate, CreateTrust and TrustToken. Test them with errors.Is:
// the returned errors wrap them with detail (never a token).
var (
	// ErrInvalidToken: the token is missing, malformed, unknown, revoked,
	// expired or not scoped to a project. Answer 401.
	ErrInvalidToken = errors.New("invalid token")
	// ErrUnavailable: Keystone could not give an answer (unreachable, 5xx,
	// timeout, the service user cannot authenticate). Answer 503.
	ErrUnavailable = errors.New("keystone unavailable")
	// ErrNoEndpoint: the catalog has no endpoint of that type, interface and
	// region.
	ErrNoEndpoint = errors.New("no endpoint in the catalog")
)

// Defaults applied by New to zero Config fields.
const (
	DefaultCacheTTL  = 300 * time.Second // keystonemiddleware token_cache_time
	DefaultCacheSize = 10000
	DefaultTimeout   = 10 * time.Second
	// NegativeCacheTTL is how long a token Keystone rejected is rejected
	// without asking again: long enough to blunt a flood of bad tokens,
	// shorter than any sensible CacheTTL.
	NegativeCacheTTL = 5 * time.Second
	// maxTokenLen bounds what is sent to Keystone: a fernet token is about
	// 200 bytes, a JWS token about 800.
	maxTokenLen = 8192
)

// Config mirrors keystonemiddleware's [keystone_authtoken] options (names in
// comments) for password authentication of the service user.
type Config struct {
	AuthURL            string // auth_url: Keystone, e.g. http://127.0.0.1:5000/v3 (versionless works too)
	WWWAuthenticateURI string // www_authenticate_uri: sent to clients in 401s; default AuthURL

	Username          string // username
	Password          string // password
	UserDomainName    string // user_domain_name
	UserDomainID      string // user_domain_id; with neither, "default"
	ProjectName       string // project_name
	ProjectID         string // project_id (instead of project_name)
	ProjectDomainName string // project_domain_name
	ProjectDomainID   string // project_domain_id; with neither, "default"
	RegionName        string // region_name: default region of EndpointFor

	// CacheTTL bounds how long a validated token is trusted without asking
	// Keystone (token_cache_time): a revoked token is refused at most this
	// long after revocation. 0 means DefaultCacheTTL, negative disables the
	// cache. An entry never outlives its token.
	CacheTTL  time.Duration
	CacheSize int           // entries; 0 means DefaultCacheSize
	Timeout   time.Duration // per Keystone request, connection included; 0 means DefaultTimeout

	Logger *slog.Logger // nil discards
}

// Identity is what a valid token says about its bearer.
type Identity struct {
	UserID, UserName, UserDomainID, UserDomainName             string
	ProjectID, ProjectName, ProjectDomainID, ProjectDomainName string
	Roles                                                      []string  // names, implied roles included
	TrustID                                                    string    // set for trust-scoped tokens
	ExpiresAt                                                  time.Time // of the token

	// headers are what Middleware sets in header mode, built on first use
	// and kept with the cached identity: once per token, and never for a
	// server that reads the identity from the context alone.
	headers *lazyHeaders
}

// HasRole reports whether the token carries role, compared without regard to
// case as oslo.policy's role: check does.
func (id Identity) HasRole(role string) bool {
	for _, r := range id.Roles {
		if strings.EqualFold(r, role) {
			return true
		}
	}
	return false
}

// IsAdmin reports whether the token carries the admin role.
func (id Identity) IsAdmin() bool { return id.HasRole("admin") }

// Validator validates user tokens against Keystone as the service user, and
// uses that user's catalog and trusts. It is safe for concurrent use.
type Validator struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	httpClient *http.Client
	// provider holds the service token; gophercloud re-authenticates it
	// when Keystone answers 401 (expired or revoked service token).
	provider *gophercloud.ProviderClient
	identity *gophercloud.ServiceClient // Keystone v3 with the service token

	authMu      sync.Mutex // serialises the first authentication
	authed      atomic.Bool
	authErr     error     // of the last failed attempt, guarded by authMu
	authErrTime time.Time // when it failed

	cache   *cache // nil when disabled
	flights flightGroup
}

// New checks cfg and authenticates the service user. Wrong credentials are an
// error; a Keystone that cannot be reached is not (it is logged, and the
// service user authenticates on first use, requests failing with
// ErrUnavailable until then), so the server can start before Keystone.
func New(ctx context.Context, cfg Config) (*Validator, error) {
	switch {
	case cfg.AuthURL == "":
		return nil, errors.New("keystone: auth_url is not set")
	case cfg.Username == "":
		return nil, errors.New("keystone: username is not set")
	case cfg.Password == "":
		return nil, errors.New("keystone: password is not set")
	case cfg.ProjectName == "" && cfg.ProjectID == "":
		return nil, errors.New("keystone: project_name (or project_id) is not set")
	case cfg.ProjectName != "" && cfg.ProjectID != "":
		return nil, errors.New("keystone: set project_name or project_id, not both")
	}
	if cfg.UserDomainName == "" && cfg.UserDomainID == "" {
		cfg.UserDomainID = "default"
	}
	if cfg.ProjectDomainName == "" && cfg.ProjectDomainID == "" {
		cfg.ProjectDomainID = "default"
	}
	if cfg.WWWAuthenticateURI == "" {
		cfg.WWWAuthenticateURI = cfg.AuthURL
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	provider, err := openstack.NewClient(cfg.AuthURL)
	if err != nil {
		return nil, fmt.Errorf("keystone: auth_url %q: %w", cfg.AuthURL, err)
	}
	provider.HTTPClient = http.Client{Timeout: cfg.Timeout}
	provider.UserAgent.Prepend("zaqar-go-keystone")
	identity, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{})
	if err != nil {
		return nil, fmt.Errorf("keystone: auth_url %q: %w", cfg.AuthURL, err)
	}
	v := &Validator{
		cfg:        cfg,
		log:        log,
		now:        time.Now,
		httpClient: &provider.HTTPClient,
		provider:   provider,
		identity:   identity,
	}
	if cfg.CacheTTL > 0 {
		v.cache = newCache(cfg.CacheSize)
	}

	if err := v.authenticate(ctx); err != nil {
		if !errors.Is(err, ErrUnavailable) {
			return nil, err
		}
		log.Warn("keystone: cannot authenticate the service user yet; will retry on first use",
			"auth_url", cfg.AuthURL, "err", err)
	}
	return v, nil
}

// authOptions are the service user's password credentials, scoped to its
// project, or to trustID when set.
func (v *Validator) authOptions(trustID string) *tokens.AuthOptions {
	ao := &tokens.AuthOptions{
		IdentityEndpoint: v.identity.Endpoint,
		Username:         v.cfg.Username,
		Password:         v.cfg.Password,
		DomainID:         v.cfg.UserDomainID,
		DomainName:       v.cfg.UserDomainName,
	}
	if trustID != "" {
		ao.Scope = tokens.Scope{TrustID: trustID}
		return ao
	}
	ao.AllowReauth = true
	ao.Scope = tokens.Scope{ProjectID: v.cfg.ProjectID}
	if v.cfg.ProjectName != "" {
		ao.Scope = tokens.Scope{
			ProjectName: v.cfg.ProjectName,
			DomainID:    v.cfg.ProjectDomainID,
			DomainName:  v.cfg.ProjectDomainName,
		}
	}
	return ao
}

// authRetry is how long a failed first authentication is not retried:
// while Keystone is down, requests fail at once instead of queueing up for
// their turn to try.
const authRetry = time.Second

// authenticate gets the first service token. Later ones come from
// gophercloud's re-authentication on 401.
func (v *Validator) authenticate(ctx context.Context) error {
	if v.authed.Load() {
		return nil
	}
	v.authMu.Lock()
	defer v.authMu.Unlock()
	if v.authed.Load() {
		return nil
	}
	if v.authErr != nil && v.now().Sub(v.authErrTime) < authRetry {
		return v.authErr
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	err := openstack.AuthenticateV3(ctx, v.provider, v.authOptions(""), gophercloud.EndpointOpts{})
	if err != nil {
		if code, ok := statusOf(err); ok && code < 500 {
			err = fmt.Errorf("keystone: service user %q cannot authenticate at %s: Keystone answered %d",
				v.cfg.Username, v.cfg.AuthURL, code)
		} else {
			err = fmt.Errorf("%w: service user authentication: %w", ErrUnavailable, err)
		}
		v.authErr, v.authErrTime = err, v.now()
		return err
	}
	v.authed.Store(true)
	v.authErr = nil
	return nil
}

// serviceToken is the current service token's creation result.
func (v *Validator) serviceToken(ctx context.Context) (tokens.CreateResult, error) {
	if err := v.authenticate(ctx); err != nil {
		if !errors.Is(err, ErrUnavailable) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return tokens.CreateResult{}, err
	}
	r, ok := v.provider.GetAuthResult().(tokens.CreateResult)
	if !ok {
		return tokens.CreateResult{}, fmt.Errorf("%w: no service token", ErrUnavailable)
	}
	return r, nil
}

// Validate returns the identity of token, from the cache or from Keystone
// (GET /v3/auth/tokens with the service token). Errors wrap ErrInvalidToken
// or ErrUnavailable. Concurrent validations of one token share one request.
func (v *Validator) Validate(ctx context.Context, token string) (Identity, error) {
	if token == "" {
		return Identity{}, fmt.Errorf("%w: no token", ErrInvalidToken)
	}
	if !plausible(token) {
		return Identity{}, fmt.Errorf("%w: malformed token", ErrInvalidToken)
	}
	key := sha256.Sum256([]byte(token))
	if id, err, ok := v.cached(key); ok {
		return id, err
	}
	return v.flights.do(ctx, key, func(ctx context.Context) (Identity, error) {
		// A flight that landed between the lookup above and this one.
		if id, err, ok := v.cached(key); ok {
			return id, err
		}
		ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
		defer cancel()
		id, err := v.fetch(ctx, token)
		if err == nil {
			id.headers = &lazyHeaders{}
		}
		if v.cache != nil {
			now := v.now()
			switch {
			case err == nil:
				v.cache.put(key, entry{id: id, expires: minTime(now.Add(v.cfg.CacheTTL), id.ExpiresAt)})
			case errors.Is(err, ErrInvalidToken):
				v.cache.put(key, entry{err: err, expires: now.Add(min(NegativeCacheTTL, v.cfg.CacheTTL))})
			}
		}
		return id, err
	})
}

func (v *Validator) cached(key [sha256.Size]byte) (Identity, error, bool) {
	if v.cache == nil {
		return Identity{}, nil, false
	}
	e, ok := v.cache.get(key, v.now())
	if !ok {
		return Identity{}, nil, false
	}
	if e.err != nil {
		return Identity{}, e.err, true
	}
	id := e.id
	id.Roles = append([]string(nil), id.Roles...) // callers may append
	return id, nil, true
}

// tokenBody is the part of Keystone's token document we use.
type tokenBody struct {
	Token struct {
		ExpiresAt time.Time `json:"expires_at"`
		User      struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Domain struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"domain"`
		} `json:"user"`
		Project *struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Domain struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"domain"`
		} `json:"project"`
		Roles []struct {
			Name string `json:"name"`
		} `json:"roles"`
		Trust *struct {
			ID string `json:"id"`
		} `json:"OS-TRUST:trust"`
	} `json:"token"`
}

func (b *tokenBody) identity() Identity {
	t := b.Token
	id := Identity{
		UserID:         t.User.ID,
		UserName:       t.User.Name,
		UserDomainID:   t.User.Domain.ID,
		UserDomainName: t.User.Domain.Name,
		ExpiresAt:      t.ExpiresAt,
	}
	if t.Project != nil {
		id.ProjectID = t.Project.ID
		id.ProjectName = t.Project.Name
		id.ProjectDomainID = t.Project.Domain.ID
		id.ProjectDomainName = t.Project.Domain.Name
	}
	for _, r := range t.Roles {
		id.Roles = append(id.Roles, r.Name)
	}
	if t.Trust != nil {
		id.TrustID = t.Trust.ID
	}
	return id
}

// fetch asks Keystone. Its errors never carry the token nor Keystone's
// response body (which may quote the token).
func (v *Validator) fetch(ctx context.Context, token string) (Identity, error) {
	if _, err := v.serviceToken(ctx); err != nil {
		return Identity{}, err
	}
	var body tokenBody
	_, err := v.identity.Get(ctx, v.identity.ServiceURL("auth", "tokens")+"?nocatalog", &body, &gophercloud.RequestOpts{
		MoreHeaders: map[string]string{"X-Subject-Token": token},
		OkCodes:     []int{http.StatusOK, http.StatusNonAuthoritativeInfo},
	})
	if err != nil {
		var reauth *gophercloud.ErrUnableToReauthenticate
		code, ok := statusOf(err)
		switch {
		case errors.As(err, &reauth):
			return Identity{}, fmt.Errorf("%w: the service token was refused and re-authentication failed", ErrUnavailable)
		case ok && code == http.StatusNotFound:
			// Keystone's answer to unknown, revoked and expired tokens.
			return Identity{}, fmt.Errorf("%w: Keystone answered 404", ErrInvalidToken)
		case ok:
			// 401 even after re-authentication, 403, 5xx: keystonemiddleware
			// answers all of these with 503 (ServiceError).
			return Identity{}, fmt.Errorf("%w: Keystone answered %d to token validation", ErrUnavailable, code)
		default:
			return Identity{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	id := body.identity()
	switch {
	case id.UserID == "":
		return Identity{}, fmt.Errorf("%w: Keystone's answer names no user", ErrUnavailable)
	case id.ProjectID == "":
		return Identity{}, fmt.Errorf("%w: not scoped to a project", ErrInvalidToken)
	case !id.ExpiresAt.After(v.now()):
		return Identity{}, fmt.Errorf("%w: expired", ErrInvalidToken)
	}
	return id, nil
}

// statusOf is the HTTP status of a gophercloud error, through wrapping.
func statusOf(err error) (int, bool) {
	var e gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &e) {
		return e.Actual, true
	}
	var pe *gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &pe) {
		return pe.Actual, true
	}
	return 0, false
}

// plausible rejects what no Keystone issues, and what cannot travel in a
// header, without asking Keystone.
func plausible(token string) bool {
	if len(token) > maxTokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
