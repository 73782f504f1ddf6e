// Package cloud builds the gophercloud clients heatsink talks through:
// Keystone password (or token, or application credential) auth from the
// OS_* environment or clouds.yaml (OS_CLOUD), the messaging (Zaqar v2) and
// orchestration (Heat v1) endpoints from the catalog, and Zaqar clients
// that carry a pre-signed URL instead of a token, for listeners that must
// not hold credentials.
package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
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
}

// FromEnv reads the settings the openstack CLI reads: OS_CLOUD (a
// clouds.yaml entry, TLS settings aside) when set, else OS_AUTH_URL, OS_USERNAME, OS_PASSWORD,
// OS_PROJECT_NAME/ID, OS_USER_DOMAIN_NAME/ID, OS_PROJECT_DOMAIN_NAME/ID,
// OS_REGION_NAME and OS_INTERFACE. Only main and tests call it.
func FromEnv() (Config, error) {
	if os.Getenv("OS_CLOUD") != "" {
		ao, eo, _, err := clouds.Parse()
		if err != nil {
			return Config{}, fmt.Errorf("clouds.yaml: %w", err)
		}
		ao.AllowReauth = true
		return Config{Auth: ao, Endpoint: eo}, nil
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
	return Config{Auth: ao, Endpoint: eo}, nil
}

// Provider authenticates with Keystone.
func Provider(ctx context.Context, c Config) (*gophercloud.ProviderClient, error) {
	pc, err := openstack.AuthenticatedClient(ctx, c.Auth)
	if err != nil {
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
