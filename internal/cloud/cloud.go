// Package cloud builds the gophercloud clients heatsink and hooks talk through:
// Keystone password (or token, or application credential) auth from the
// OS_* environment or clouds.yaml (OS_CLOUD), the messaging (Zaqar v2) and
// orchestration (Heat v1) endpoints from the catalog, and Zaqar clients
// that carry a pre-signed URL instead of a token, for listeners that must
// not hold credentials.
package cloud

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
)

// Config is where to authenticate and which endpoints to pick.
type Config struct {
	Auth     gophercloud.AuthOptions
	Endpoint gophercloud.EndpointOpts
	// TLS verifies the servers (Keystone and every endpoint): the CA
	// bundle and insecure setting of the openstack CLI. nil: the system's.
	TLS *tls.Config
}

// TLSOptions are the openstack CLI's --os-cacert and --insecure; they win
// over OS_CACERT, OS_INSECURE and clouds.yaml's cacert and verify.
type TLSOptions struct {
	CACert   string
	Insecure bool
}

// FromEnv reads the settings the openstack CLI reads: OS_CLOUD (a
// clouds.yaml entry, its cacert and verify too) when set, else OS_AUTH_URL, OS_USERNAME, OS_PASSWORD,
// OS_PROJECT_NAME/ID, OS_USER_DOMAIN_NAME/ID, OS_PROJECT_DOMAIN_NAME/ID,
// OS_REGION_NAME and OS_INTERFACE. Only main and tests call it.
func FromEnv(o TLSOptions) (Config, error) {
	insecure := o.Insecure || truthy(os.Getenv("OS_INSECURE"))
	if name := os.Getenv("OS_CLOUD"); name != "" {
		var opts []clouds.ParseOption
		if o.CACert != "" {
			opts = append(opts, clouds.WithCACertPath(o.CACert))
		}
		if insecure {
			opts = append(opts, clouds.WithInsecure(true))
		}
		// Without $HOME (a systemd unit, a container) the per-user
		// clouds.yaml cannot be found; say so instead of gophercloud's
		// "failed to get the user home directory".
		if os.Getenv("HOME") == "" && os.Getenv("XDG_CONFIG_HOME") == "" && os.Getenv("OS_CLIENT_CONFIG_FILE") == "" {
			return Config{}, fmt.Errorf("OS_CLOUD=%s, but $HOME is not set, so ~/.config/openstack/clouds.yaml cannot be found: "+
				"set HOME, or OS_CLIENT_CONFIG_FILE to the clouds.yaml, or use OS_* variables instead", name)
		}
		ao, eo, tc, err := clouds.Parse(opts...)
		if err != nil {
			return Config{}, fmt.Errorf("clouds.yaml (OS_CLOUD=%s): %w", name, err)
		}
		ao.AllowReauth = true
		return Config{Auth: ao, Endpoint: eo, TLS: tc}, nil
	}
	// Not openstack.AuthOptionsFromEnv: it refuses the usual openrc
	// (OS_PROJECT_NAME with OS_USER_DOMAIN_NAME and OS_PROJECT_DOMAIN_NAME
	// but no OS_DOMAIN_*) and has no project domain.
	get := func(names ...string) string {
		for _, n := range names {
			if v := os.Getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	ao := gophercloud.AuthOptions{
		IdentityEndpoint:            get("OS_AUTH_URL"),
		UserID:                      get("OS_USER_ID", "OS_USERID"),
		Username:                    get("OS_USERNAME"),
		Password:                    get("OS_PASSWORD"),
		TenantID:                    get("OS_PROJECT_ID", "OS_TENANT_ID"),
		TenantName:                  get("OS_PROJECT_NAME", "OS_TENANT_NAME"),
		DomainID:                    get("OS_USER_DOMAIN_ID", "OS_DOMAIN_ID"),
		DomainName:                  get("OS_USER_DOMAIN_NAME", "OS_DOMAIN_NAME"),
		ApplicationCredentialID:     get("OS_APPLICATION_CREDENTIAL_ID"),
		ApplicationCredentialName:   get("OS_APPLICATION_CREDENTIAL_NAME"),
		ApplicationCredentialSecret: get("OS_APPLICATION_CREDENTIAL_SECRET"),
	}
	switch {
	case ao.IdentityEndpoint == "":
		return Config{}, errors.New("OS_AUTH_URL is not set (source an openrc file, or set OS_CLOUD)")
	case ao.ApplicationCredentialID == "" && ao.ApplicationCredentialName == "" && ao.Password == "":
		return Config{}, errors.New("OS_PASSWORD (or OS_APPLICATION_CREDENTIAL_*) is not set")
	case ao.ApplicationCredentialID == "" && ao.UserID == "" && ao.Username == "":
		return Config{}, errors.New("OS_USERNAME or OS_USER_ID is not set")
	}
	// The user's domain and the project's domain may differ: scope
	// explicitly.
	if ao.TenantID != "" {
		ao.Scope = &gophercloud.AuthScope{ProjectID: ao.TenantID}
	} else if ao.TenantName != "" {
		ao.Scope = &gophercloud.AuthScope{ProjectName: ao.TenantName,
			DomainID: get("OS_PROJECT_DOMAIN_ID"), DomainName: get("OS_PROJECT_DOMAIN_NAME")}
		if ao.Scope.DomainID == "" && ao.Scope.DomainName == "" {
			ao.Scope.DomainID, ao.Scope.DomainName = ao.DomainID, ao.DomainName
		}
	}
	if ao.ApplicationCredentialID != "" || ao.ApplicationCredentialName != "" {
		ao.Scope = nil // an application credential carries its scope
	}
	ao.AllowReauth = true // listeners run for longer than a token lives
	eo := gophercloud.EndpointOpts{Region: os.Getenv("OS_REGION_NAME")}
	if i := os.Getenv("OS_INTERFACE"); i != "" {
		eo.Availability = gophercloud.Availability(strings.TrimSuffix(i, "URL"))
	}
	tc, err := TLSConfig(cmp.Or(o.CACert, os.Getenv("OS_CACERT")), insecure)
	if err != nil {
		return Config{}, err
	}
	return Config{Auth: ao, Endpoint: eo, TLS: tc}, nil
}

func truthy(v string) bool {
	b, _ := strconv.ParseBool(v)
	return b
}

// TLSConfig trusts the CA bundle in caCert (PEM) when given, and skips
// verification when insecure; nil when neither (the system's roots).
func TLSConfig(caCert string, insecure bool) (*tls.Config, error) {
	if caCert == "" && !insecure {
		return nil, nil
	}
	tc := &tls.Config{InsecureSkipVerify: insecure}
	if caCert != "" {
		pem, err := os.ReadFile(caCert)
		if err != nil {
			return nil, fmt.Errorf("CA bundle (--os-cacert, OS_CACERT): %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA bundle %s: no PEM certificate in it", caCert)
		}
	}
	return tc, nil
}

// HTTPClient is an HTTP client that verifies servers as tc says (the
// default client when tc is nil).
func HTTPClient(tc *tls.Config) http.Client {
	if tc == nil {
		return http.Client{}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = tc
	return http.Client{Transport: t}
}

// Provider authenticates with Keystone.
func Provider(ctx context.Context, c Config) (*gophercloud.ProviderClient, error) {
	pc, err := openstack.NewClient(c.Auth.IdentityEndpoint)
	if err != nil {
		return nil, fmt.Errorf("keystone at %s: %w", c.Auth.IdentityEndpoint, err)
	}
	pc.HTTPClient = HTTPClient(c.TLS)
	if err := openstack.Authenticate(ctx, pc, c.Auth); err != nil {
		return nil, fmt.Errorf("keystone at %s: %w", c.Auth.IdentityEndpoint, err)
	}
	return pc, nil
}

// Messaging returns a Zaqar v2 client for the catalog's messaging
// endpoint, with a fresh Client-ID.
func Messaging(pc *gophercloud.ProviderClient, eo gophercloud.EndpointOpts) (*gophercloud.ServiceClient, error) {
	sc, err := openstack.NewMessagingV2(pc, uuid.NewString(), eo)
	if err != nil {
		return nil, fmt.Errorf("messaging endpoint in the catalog: %w", err)
	}
	return sc, nil
}

// MessagingAt returns a Zaqar v2 client for endpoint instead of the
// catalog's, authenticated by pc.
func MessagingAt(pc *gophercloud.ProviderClient, endpoint string) *gophercloud.ServiceClient {
	return &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: gophercloud.NormalizeURL(endpoint), Type: "messaging",
		MoreHeaders: map[string]string{"Client-ID": uuid.NewString()}}
}

// Orchestration returns a Heat v1 client for the catalog's orchestration
// endpoint.
func Orchestration(pc *gophercloud.ProviderClient, eo gophercloud.EndpointOpts) (*gophercloud.ServiceClient, error) {
	sc, err := openstack.NewOrchestrationV1(pc, eo)
	if err != nil {
		return nil, fmt.Errorf("orchestration endpoint in the catalog: %w", err)
	}
	return sc, nil
}

// SignedURL is a pre-signed grant as POST /v2/queues/{q}/share answers it,
// plus the Zaqar endpoint and queue it is for (what `heatsink share`
// writes).
type SignedURL struct {
	Endpoint  string   `json:"endpoint"`
	Queue     string   `json:"queue"`
	Project   string   `json:"project"`
	Paths     []string `json:"paths"`
	Methods   []string `json:"methods"`
	Expires   string   `json:"expires"`
	Signature string   `json:"signature"`
}

// ReadSignedURL reads a SignedURL from a JSON file.
func ReadSignedURL(path string) (SignedURL, error) {
	var u SignedURL
	data, err := os.ReadFile(path)
	if err != nil {
		return u, err
	}
	if err := json.Unmarshal(data, &u); err != nil {
		return u, fmt.Errorf("%s: %w", path, err)
	}
	if u.Endpoint == "" || u.Queue == "" || u.Project == "" || u.Signature == "" || len(u.Paths) == 0 || len(u.Methods) == 0 || u.Expires == "" {
		return u, fmt.Errorf("%s: a signed URL needs endpoint, queue, project, paths, methods, expires and signature", path)
	}
	return u, nil
}

// Signed returns a Zaqar v2 client that sends u's URL-* headers and
// X-Project-ID instead of a token. Zaqar answers 404 to anything the
// signature does not cover.
func Signed(u SignedURL) *gophercloud.ServiceClient {
	pc := &gophercloud.ProviderClient{HTTPClient: http.Client{Timeout: 60 * time.Second}}
	return &gophercloud.ServiceClient{
		ProviderClient: pc,
		Endpoint:       gophercloud.NormalizeURL(u.Endpoint),
		Type:           "messaging",
		MoreHeaders: map[string]string{
			"Client-ID":     uuid.NewString(),
			"X-Project-ID":  u.Project,
			"URL-Signature": u.Signature,
			"URL-Expires":   u.Expires,
			"URL-Methods":   strings.Join(u.Methods, ","),
			"URL-Paths":     strings.Join(u.Paths, ","),
		},
	}
}

// NoAuth returns a Zaqar v2 client for a server without authentication
// (auth_strategy empty): every request names its project in X-Project-ID.
func NoAuth(endpoint, project string) *gophercloud.ServiceClient {
	pc := &gophercloud.ProviderClient{HTTPClient: http.Client{Timeout: 60 * time.Second}}
	return &gophercloud.ServiceClient{
		ProviderClient: pc,
		Endpoint:       gophercloud.NormalizeURL(endpoint),
		Type:           "messaging",
		MoreHeaders:    map[string]string{"Client-ID": uuid.NewString(), "X-Project-ID": project},
	}
}
