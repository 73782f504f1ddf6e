//go:build tempest

package tempest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/domains"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

// Defaults of a stock zaqar.conf ([transport] section) that tempest.conf
// does not name; the tests assume the deployment keeps them.
const (
	defaultMessageTTL = 3600
	defaultClaimTTL   = 300
	defaultClaimLimit = 10
	defaultPageSize   = 10

	patchMediaType = "application/openstack-messaging-v2.0-json-patch"
)

// Limits from [messaging] (zaqar-tempest-plugin's options), Zaqar's
// defaults unless configured; set once by loadCloud, before any test reads
// them (every test starts with requireCloud or a helper calling it).
var (
	maxMessageTTL       = 1209600
	maxMessagesPostSize = 262144
	maxQueueMetadata    = 65536
	maxClaimTTL         = 43200
	maxClaimGrace       = 43200
)

// cloud is the deployment under test, resolved once per test binary.
type cloud struct {
	cfg        settings
	endpoint   string // base URL ending in "/", e.g. http://127.0.0.1:8888/
	wsEndpoint string // WebSocket URL, or "" (WebSocket tests skip)
	project    string // X-Project-ID in no-auth mode; empty with Keystone
	keystone   bool

	primary *gophercloud.ProviderClient
	alt     *gophercloud.ProviderClient // second project, for isolation tests (Keystone)
	admin   *gophercloud.ProviderClient // admin role, for health, pools, flavors (Keystone)

	httpClient http.Client
	// cleanup deletes what dynamic credentials created.
	cleanup []func(context.Context) error
}

// configuredSettings reads the settings once per test binary.
var configuredSettings = sync.OnceValues(loadSettings)

var (
	loadedMu sync.Mutex
	loaded   *cloud // for teardown: the cloud loadCloud made, if any
)

// loadCloud reads the settings once. Authentication outlives any single
// test, so it runs under its own bounded context rather than t.Context().
var loadCloud = sync.OnceValues(func() (*cloud, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := configuredSettings()
	if err != nil {
		return nil, err
	}
	maxMessageTTL, maxMessagesPostSize, maxQueueMetadata = cfg.limits.maxMessageTTL, cfg.limits.maxMessagesPostSize, cfg.limits.maxQueueMetadata
	maxClaimTTL, maxClaimGrace = cfg.limits.maxClaimTTL, cfg.limits.maxClaimGrace

	c := &cloud{cfg: cfg, wsEndpoint: cfg.wsEndpoint}
	loadedMu.Lock()
	loaded = c
	loadedMu.Unlock()
	c.httpClient, err = httpClient(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.authURL == "" {
		c.project = cfg.project
		c.endpoint = gophercloud.NormalizeURL(cfg.endpoint)
		c.primary = &gophercloud.ProviderClient{HTTPClient: c.httpClient}
		c.primary.UseTokenLock()
		return c, nil
	}

	c.keystone = true
	if cfg.admin.set() {
		if c.admin, err = c.authenticate(ctx, "admin", cfg.admin); err != nil {
			return nil, err
		}
	}
	primary, alt := cfg.primary, cfg.alt
	if (!primary.set() || !alt.set()) && cfg.dynamic && c.admin != nil {
		// Tempest's dynamic credentials: a project and member user each, for
		// this run only.
		if !primary.set() {
			if primary, err = c.dynamicCredentials(ctx, "primary"); err != nil {
				return nil, err
			}
		}
		if !alt.set() {
			if alt, err = c.dynamicCredentials(ctx, "alt"); err != nil {
				return nil, err
			}
		}
	}
	if !primary.set() {
		return nil, errors.New("Keystone without credentials: set OS_USERNAME and OS_PASSWORD (or [identity] username), " +
			"or admin credentials (OS_ADMIN_* or [auth] admin_*) with [auth] use_dynamic_credentials = true")
	}
	if c.primary, err = c.authenticate(ctx, "primary", primary); err != nil {
		return nil, err
	}
	if alt.set() {
		if c.alt, err = c.authenticate(ctx, "alt", alt); err != nil {
			return nil, err
		}
	}

	eo := gophercloud.EndpointOpts{
		Region: cfg.region,
		// python-openstackclient and tempest also accept "publicURL" and friends.
		Availability: gophercloud.Availability(strings.TrimSuffix(cfg.iface, "URL")),
	}
	endpoint := cfg.endpoint
	if endpoint == "" {
		// NewMessagingV2 looks up the catalog type (Zaqar's "messaging") and
		// checks that the endpoint offers API v2.
		eo.Type = cfg.catalogType
		sc, err := openstack.NewMessagingV2(c.primary, newClientID(), eo)
		if err != nil {
			return nil, fmt.Errorf("messaging endpoint (type %s) in the catalog: %w", cfg.catalogType, err)
		}
		endpoint = sc.Endpoint
	}
	c.endpoint = gophercloud.NormalizeURL(endpoint)
	if c.wsEndpoint == "" {
		eo.Type = cfg.wsCatalogType
		eo.ApplyDefaults(cfg.wsCatalogType)
		if u, err := c.primary.EndpointLocator(eo); err == nil {
			// Zaqar's own devstack plugin registers http://host:9000.
			u = strings.Replace(strings.Replace(u, "https://", "wss://", 1), "http://", "ws://", 1)
			c.wsEndpoint = u
		}
	}
	return c, nil
})

// httpClient honours [identity] disable_ssl_certificate_validation and
// ca_certificates_file (OS_INSECURE, OS_CACERT).
func httpClient(cfg settings) (http.Client, error) {
	hc := http.Client{Timeout: 60 * time.Second}
	if !cfg.insecure && cfg.caFile == "" {
		return hc, nil
	}
	tc := &tls.Config{InsecureSkipVerify: cfg.insecure}
	if cfg.caFile != "" {
		pem, err := os.ReadFile(cfg.caFile)
		if err != nil {
			return hc, fmt.Errorf("CA file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return hc, fmt.Errorf("CA file %s: no certificates", cfg.caFile)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	hc.Transport = tr
	return hc, nil
}

// authOptions builds gophercloud's options for one user.
func (c *cloud) authOptions(cr credentials) gophercloud.AuthOptions {
	ao := gophercloud.AuthOptions{
		IdentityEndpoint: c.cfg.authURL,
		Username:         cr.username,
		UserID:           cr.userID,
		Password:         cr.password,
		AllowReauth:      true,
	}
	if cr.userID == "" {
		ao.DomainID = cr.userDomainID
		if ao.DomainID == "" {
			ao.DomainName = cr.userDomainName
			if ao.DomainName == "" {
				ao.DomainName = c.cfg.domain
			}
		}
	}
	scope := &gophercloud.AuthScope{ProjectID: cr.projectID}
	if scope.ProjectID == "" {
		scope.ProjectName = cr.projectName
		scope.DomainID = cr.projectDomainID
		if scope.DomainID == "" {
			scope.DomainName = cr.projectDomainName
			if scope.DomainName == "" {
				scope.DomainName = c.cfg.domain
			}
		}
	}
	ao.Scope = scope
	return ao
}

func (c *cloud) authenticate(ctx context.Context, who string, cr credentials) (*gophercloud.ProviderClient, error) {
	ao := c.authOptions(cr)
	p, err := openstack.NewClient(ao.IdentityEndpoint)
	if err != nil {
		return nil, fmt.Errorf("keystone client for %s: %w", ao.IdentityEndpoint, err)
	}
	p.HTTPClient = c.httpClient
	if err := openstack.Authenticate(ctx, p, ao); err != nil {
		return nil, fmt.Errorf("authenticate the %s user %s at %s: %w", who, ao.Username+ao.UserID, ao.IdentityEndpoint, err)
	}
	return p, nil
}

// dynamicCredentials creates a project and a user with [auth]
// tempest_roles in it, as tempest's dynamic credentials do; teardown
// deletes both.
func (c *cloud) dynamicCredentials(ctx context.Context, who string) (credentials, error) {
	idc, err := openstack.NewIdentityV3(c.admin, gophercloud.EndpointOpts{Region: c.cfg.region,
		Availability: gophercloud.Availability(strings.TrimSuffix(c.cfg.iface, "URL"))})
	if err != nil {
		return credentials{}, fmt.Errorf("dynamic credentials: identity endpoint: %w", err)
	}
	pages, err := domains.List(idc, domains.ListOpts{Name: c.cfg.domain}).AllPages(ctx)
	if err != nil {
		return credentials{}, fmt.Errorf("dynamic credentials: domain %s: %w", c.cfg.domain, err)
	}
	ds, err := domains.ExtractDomains(pages)
	if err != nil || len(ds) == 0 {
		return credentials{}, fmt.Errorf("dynamic credentials: no domain %s (%v)", c.cfg.domain, err)
	}
	domainID := ds[0].ID
	name := "tempest-go-" + who + "-" + randHex(4)
	p, err := projects.Create(ctx, idc, projects.CreateOpts{Name: name, DomainID: domainID,
		Description: "tempest-go dynamic credentials, deleted when the run ends"}).Extract()
	if err != nil {
		return credentials{}, fmt.Errorf("dynamic credentials: create project %s: %w", name, err)
	}
	c.cleanup = append(c.cleanup, func(ctx context.Context) error { return projects.Delete(ctx, idc, p.ID).ExtractErr() })
	password := randHex(16)
	u, err := users.Create(ctx, idc, users.CreateOpts{Name: name, DomainID: domainID, Password: password, DefaultProjectID: p.ID}).Extract()
	if err != nil {
		return credentials{}, fmt.Errorf("dynamic credentials: create user %s: %w", name, err)
	}
	c.cleanup = append(c.cleanup, func(ctx context.Context) error { return users.Delete(ctx, idc, u.ID).ExtractErr() })
	for _, role := range c.cfg.roles {
		pages, err := roles.List(idc, roles.ListOpts{Name: role}).AllPages(ctx)
		if err != nil {
			return credentials{}, fmt.Errorf("dynamic credentials: role %s: %w", role, err)
		}
		rs, err := roles.ExtractRoles(pages)
		if err != nil || len(rs) == 0 {
			return credentials{}, fmt.Errorf("dynamic credentials: no role %s (%v)", role, err)
		}
		if err := roles.Assign(ctx, idc, rs[0].ID, roles.AssignOpts{UserID: u.ID, ProjectID: p.ID}).ExtractErr(); err != nil {
			return credentials{}, fmt.Errorf("dynamic credentials: assign %s to %s: %w", role, name, err)
		}
	}
	return credentials{username: name, password: password, projectID: p.ID, userDomainID: domainID}, nil
}

// teardown deletes dynamic credentials (users first, then projects).
func teardown() error {
	loadedMu.Lock()
	c := loaded
	loadedMu.Unlock()
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	for i := len(c.cleanup) - 1; i >= 0; i-- {
		if err := c.cleanup[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func requireCloud(t *testing.T) *cloud {
	t.Helper()
	track(t)
	cfg, err := configuredSettings()
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.available {
		t.Skip("[service_available] zaqar = false in TEMPEST_CONFIG")
	}
	if !cfg.configured() {
		t.Skip("set ZAQAR_ENDPOINT (no auth), OS_AUTH_URL (Keystone) or TEMPEST_CONFIG to run tempest tests")
	}
	c, err := loadCloud()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// session is one Zaqar client: a Client-ID within a project, as one user.
type session struct {
	t        *testing.T
	cloud    *cloud
	provider *gophercloud.ProviderClient // whose token (Keystone)
	clientID string
	project  string
	roles    string // X-Roles without Keystone (Zaqar takes roles from it)
	// mc is gophercloud's messaging client for this Client-ID and project.
	mc *gophercloud.ServiceClient
}

// newSession returns a session with a fresh Client-ID in the configured
// project, as the primary user.
func newSession(t *testing.T) *session {
	t.Helper()
	c := requireCloud(t)
	return c.session(t, newClientID(), c.project)
}

func (c *cloud) session(t *testing.T, clientID, project string) *session {
	return c.sessionAs(t, c.primary, clientID, project, "")
}

func (c *cloud) sessionAs(t *testing.T, p *gophercloud.ProviderClient, clientID, project, roles string) *session {
	// The same fields openstack.NewMessagingV2 sets, without a catalog
	// lookup per session.
	mc := &gophercloud.ServiceClient{
		ProviderClient: p,
		Endpoint:       c.endpoint,
		Type:           "messaging",
		MoreHeaders:    map[string]string{"Client-ID": clientID},
	}
	if !c.keystone {
		mc.MoreHeaders["X-Project-ID"] = project
		if roles != "" {
			mc.MoreHeaders["X-Roles"] = roles
		}
	}
	return &session{t: t, cloud: c, provider: p, clientID: clientID, project: project, roles: roles, mc: mc}
}

// in returns the session bound to t, for use inside subtests.
func (s *session) in(t *testing.T) *session {
	c := *s
	c.t = t
	return &c
}

// peer returns another client (new Client-ID) of the same user and project,
// e.g. to list messages this session posted without echo.
func (s *session) peer() *session {
	return s.cloud.sessionAs(s.t, s.provider, newClientID(), s.project, s.roles)
}

// otherProject returns a session in another project than newSession's:
// a random project without auth, the alt user's project with Keystone.
func otherProject(t *testing.T) *session {
	t.Helper()
	c := requireCloud(t)
	if !c.keystone {
		return c.session(t, newClientID(), "tempest-"+randHex(6))
	}
	if c.alt == nil {
		t.Skip("needs a second project: set OS_ALT_USERNAME, OS_ALT_PASSWORD and OS_ALT_PROJECT_NAME, " +
			"or admin credentials with dynamic credentials")
	}
	return c.sessionAs(t, c.alt, newClientID(), "", "")
}

// adminSession returns a session with the admin role: the admin user's
// (Keystone), or the configured project with X-Roles: admin (no auth, where
// Zaqar and zaqar-go take roles from that header).
func adminSession(t *testing.T) *session {
	t.Helper()
	c := requireCloud(t)
	if !c.keystone {
		return c.sessionAs(t, c.primary, newClientID(), c.project, "admin")
	}
	if c.admin == nil {
		t.Skip("needs admin credentials: set OS_ADMIN_USERNAME, OS_ADMIN_PASSWORD and OS_ADMIN_PROJECT_NAME, " +
			"or [auth] admin_username, admin_password and admin_project_name in TEMPEST_CONFIG")
	}
	return c.sessionAs(t, c.admin, newClientID(), "", "")
}

// isolated returns a session in a project of its own, so that listings hold
// exactly what the test created. Only no-auth deployments let a client pick
// its project.
func isolated(t *testing.T) *session {
	t.Helper()
	c := requireCloud(t)
	if c.keystone {
		t.Skip("needs an empty project of its own; only available without Keystone")
	}
	return c.session(t, newClientID(), "tempest-"+randHex(6))
}
