//go:build tempest

package tempest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/ini.v1"
	"gopkg.in/yaml.v3"
)

// settings is what the suite is pointed at. It comes from a tempest.conf-style
// file named by TEMPEST_CONFIG, if any, then from the environment, which
// wins value by value. See README.md for every key.
type settings struct {
	available bool // [service_available] zaqar

	endpoint   string // ZAQAR_ENDPOINT, [messaging] endpoint: overrides the catalog
	wsEndpoint string // ZAQAR_WEBSOCKET_ENDPOINT, [messaging] websocket_endpoint
	project    string // ZAQAR_PROJECT_ID, [messaging] project_id: X-Project-ID without Keystone

	catalogType   string // [messaging] catalog_type
	wsCatalogType string // [messaging] websocket_catalog_type

	authURL, region, iface string
	insecure               bool
	caFile                 string

	primary, alt, admin credentials
	dynamic             bool     // [auth] use_dynamic_credentials
	roles               []string // [auth] tempest_roles, for dynamic credentials
	domain              string   // [auth] default_credentials_domain_name

	limits limits

	// blockInternalWebhooks says whether the server refuses webhooks to
	// loopback and link-local addresses from non-admin subscribers
	// (zaqar-go's [notification] block_internal_webhooks; Zaqar has no such
	// guard).
	blockInternalWebhooks bool
	notifications         bool   // deliveries expected (Zaqar needs the notifier in [storage] message_pipeline)
	receiverBind          string // where the test's webhook receiver listens
	receiverHost          string // the host the server is given to reach it
	poolURI               string // a store URI the server can use for a test pool
}

// credentials is one Keystone user and its project.
type credentials struct {
	username, userID, password         string
	projectName, projectID             string
	userDomainName, userDomainID       string
	projectDomainName, projectDomainID string
}

func (c credentials) set() bool { return c.username != "" || c.userID != "" }

// limits are the deployment's [transport] limits the tests lean on, with
// Zaqar's defaults; zaqar-tempest-plugin's [messaging] options name them.
type limits struct {
	maxQueuesPerPage    int
	maxQueueMetadata    int
	maxMessagesPerPage  int
	maxMessagesPostSize int
	maxMessagesPerClaim int
	maxMessageTTL       int
	maxClaimTTL         int
	maxClaimGrace       int
	maxWait             int // zaqar-go's [transport] max_wait (long polling)
}

func defaultSettings() settings {
	return settings{
		available:             true,
		project:               "tempest",
		catalogType:           "messaging",
		wsCatalogType:         "messaging-websocket",
		dynamic:               true,
		roles:                 []string{"member"},
		domain:                "Default",
		blockInternalWebhooks: true,
		notifications:         true,
		receiverBind:          "127.0.0.1:0",
		limits: limits{
			maxQueuesPerPage: 20, maxQueueMetadata: 65536, maxMessagesPerPage: 20,
			maxMessagesPostSize: 262144, maxMessagesPerClaim: 20, maxMessageTTL: 1209600,
			maxClaimTTL: 43200, maxClaimGrace: 43200, maxWait: 20,
		},
	}
}

// loadSettings reads TEMPEST_CONFIG (if set), then the environment.
func loadSettings() (settings, error) {
	s := defaultSettings()
	if path := os.Getenv("TEMPEST_CONFIG"); path != "" {
		if err := s.readFile(path); err != nil {
			return s, err
		}
	}
	if err := s.readEnv(); err != nil {
		return s, err
	}
	return s, nil
}

// configured says whether anything points the suite at a deployment.
func (s settings) configured() bool { return s.endpoint != "" || s.authURL != "" }

// readFile reads a tempest.conf: [identity], [auth], [messaging] and
// [service_available] as tempest and zaqar-tempest-plugin name them, plus
// tempest-go's own keys in [messaging].
func (s *settings) readFile(path string) error {
	f, err := ini.LoadSources(ini.LoadOptions{IgnoreInlineComment: true, AllowPythonMultilineValues: true}, path)
	if err != nil {
		return fmt.Errorf("TEMPEST_CONFIG %s: %w", path, err)
	}
	var errs []string
	get := func(section, key string) string { return strings.TrimSpace(f.Section(section).Key(key).String()) }
	has := func(section, key string) bool { return f.Section(section).HasKey(key) }
	setStr := func(dst *string, section, key string) {
		if v := get(section, key); v != "" {
			*dst = v
		}
	}
	setBool := func(dst *bool, section, key string) {
		if !has(section, key) {
			return
		}
		b, err := parseBool(get(section, key))
		if err != nil {
			errs = append(errs, fmt.Sprintf("[%s] %s: %v", section, key, err))
		}
		*dst = b
	}
	setInt := func(dst *int, section, key string) {
		if !has(section, key) {
			return
		}
		n, err := strconv.Atoi(get(section, key))
		if err != nil {
			errs = append(errs, fmt.Sprintf("[%s] %s: not an integer: %q", section, key, get(section, key)))
		}
		*dst = n
	}

	setBool(&s.available, "service_available", "zaqar")

	setStr(&s.authURL, "identity", "uri")
	setStr(&s.authURL, "identity", "uri_v3")
	setStr(&s.region, "identity", "region")
	setStr(&s.iface, "identity", "v3_endpoint_type")
	setBool(&s.insecure, "identity", "disable_ssl_certificate_validation")
	setStr(&s.caFile, "identity", "ca_certificates_file")
	// Tempest's legacy static credentials (before accounts files).
	setStr(&s.primary.username, "identity", "username")
	setStr(&s.primary.password, "identity", "password")
	setStr(&s.primary.projectName, "identity", "project_name")
	setStr(&s.primary.projectName, "identity", "tenant_name")
	setStr(&s.alt.username, "identity", "alt_username")
	setStr(&s.alt.password, "identity", "alt_password")
	setStr(&s.alt.projectName, "identity", "alt_project_name")
	setStr(&s.alt.projectName, "identity", "alt_tenant_name")

	setStr(&s.admin.username, "auth", "admin_username")
	setStr(&s.admin.password, "auth", "admin_password")
	setStr(&s.admin.projectName, "auth", "admin_project_name")
	setStr(&s.admin.userDomainName, "auth", "admin_domain_name")
	setStr(&s.admin.projectDomainName, "auth", "admin_domain_name")
	setStr(&s.admin.userDomainName, "auth", "admin_user_domain_name")
	setStr(&s.admin.projectDomainName, "auth", "admin_project_domain_name")
	setBool(&s.dynamic, "auth", "use_dynamic_credentials")
	setStr(&s.domain, "auth", "default_credentials_domain_name")
	if v := get("auth", "tempest_roles"); v != "" {
		s.roles = splitList(v)
	}
	if accounts := get("auth", "test_accounts_file"); accounts != "" {
		if !filepath.IsAbs(accounts) {
			accounts = filepath.Join(filepath.Dir(path), accounts)
		}
		if err := s.readAccounts(accounts); err != nil {
			errs = append(errs, err.Error())
		}
	}

	setStr(&s.catalogType, "messaging", "catalog_type")
	setInt(&s.limits.maxQueuesPerPage, "messaging", "max_queues_per_page")
	setInt(&s.limits.maxQueueMetadata, "messaging", "max_queue_metadata")
	setInt(&s.limits.maxMessagesPerPage, "messaging", "max_messages_per_page")
	setInt(&s.limits.maxMessagesPostSize, "messaging", "max_message_size")
	setInt(&s.limits.maxMessagesPerClaim, "messaging", "max_messages_per_claim")
	setInt(&s.limits.maxMessageTTL, "messaging", "max_message_ttl")
	setInt(&s.limits.maxClaimTTL, "messaging", "max_claim_ttl")
	setInt(&s.limits.maxClaimGrace, "messaging", "max_claim_grace")
	setInt(&s.limits.maxWait, "messaging", "max_wait")
	setStr(&s.endpoint, "messaging", "endpoint")
	setStr(&s.wsEndpoint, "messaging", "websocket_endpoint")
	setStr(&s.wsCatalogType, "messaging", "websocket_catalog_type")
	setStr(&s.project, "messaging", "project_id")
	setBool(&s.blockInternalWebhooks, "messaging", "block_internal_webhooks")
	setBool(&s.notifications, "messaging", "notifications")
	setStr(&s.receiverBind, "messaging", "receiver_bind")
	setStr(&s.receiverHost, "messaging", "receiver_host")
	setStr(&s.poolURI, "messaging", "pool_uri")

	if len(errs) > 0 {
		return fmt.Errorf("TEMPEST_CONFIG %s: %s", path, strings.Join(errs, "; "))
	}
	return nil
}

// readAccounts reads tempest's accounts.yaml: the first account with the
// admin type or role is admin, the first two others primary and alt.
func (s *settings) readAccounts(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("test_accounts_file: %w", err)
	}
	var accounts []struct {
		Username          string   `yaml:"username"`
		Password          string   `yaml:"password"`
		ProjectName       string   `yaml:"project_name"`
		TenantName        string   `yaml:"tenant_name"`
		DomainName        string   `yaml:"domain_name"`
		UserDomainName    string   `yaml:"user_domain_name"`
		ProjectDomainName string   `yaml:"project_domain_name"`
		Roles             []string `yaml:"roles"`
		Types             []string `yaml:"types"`
	}
	if err := yaml.Unmarshal(b, &accounts); err != nil {
		return fmt.Errorf("test_accounts_file %s: %w", path, err)
	}
	var users []credentials
	for _, a := range accounts {
		c := credentials{username: a.Username, password: a.Password, projectName: a.ProjectName,
			userDomainName: a.UserDomainName, projectDomainName: a.ProjectDomainName}
		if c.projectName == "" {
			c.projectName = a.TenantName
		}
		if c.userDomainName == "" {
			c.userDomainName = a.DomainName
		}
		if c.projectDomainName == "" {
			c.projectDomainName = a.DomainName
		}
		isAdmin := false
		for _, r := range append(a.Roles, a.Types...) {
			isAdmin = isAdmin || r == "admin"
		}
		if isAdmin {
			if !s.admin.set() {
				s.admin = c
			}
			continue
		}
		users = append(users, c)
	}
	if len(users) > 0 && !s.primary.set() {
		s.primary = users[0]
	}
	if len(users) > 1 && !s.alt.set() {
		s.alt = users[1]
	}
	return nil
}

// readEnv applies the environment over the file.
func (s *settings) readEnv() error {
	env := func(dst *string, names ...string) {
		for _, n := range names {
			if v := os.Getenv(n); v != "" {
				*dst = v
				return
			}
		}
	}
	var errs []string
	setBool := func(dst *bool, name string) {
		if v := os.Getenv(name); v != "" {
			b, err := parseBool(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			}
			*dst = b
		}
	}
	env(&s.endpoint, "ZAQAR_ENDPOINT")
	env(&s.wsEndpoint, "ZAQAR_WEBSOCKET_ENDPOINT")
	env(&s.project, "ZAQAR_PROJECT_ID")
	env(&s.authURL, "OS_AUTH_URL")
	env(&s.region, "OS_REGION_NAME")
	env(&s.iface, "OS_INTERFACE", "OS_ENDPOINT_TYPE")
	setBool(&s.insecure, "OS_INSECURE")
	env(&s.caFile, "OS_CACERT")
	envCredentials(&s.primary, "OS_")
	envCredentials(&s.alt, "OS_ALT_")
	envCredentials(&s.admin, "OS_ADMIN_")
	for _, c := range []*credentials{&s.alt, &s.admin} {
		// Domains default to the primary user's, as in one cloud's openrc files.
		if c.userDomainName == "" && c.userDomainID == "" {
			c.userDomainName, c.userDomainID = s.primary.userDomainName, s.primary.userDomainID
		}
		if c.projectDomainName == "" && c.projectDomainID == "" {
			c.projectDomainName, c.projectDomainID = s.primary.projectDomainName, s.primary.projectDomainID
		}
	}
	setBool(&s.blockInternalWebhooks, "ZAQAR_BLOCK_INTERNAL_WEBHOOKS")
	setBool(&s.notifications, "TEMPEST_NOTIFICATIONS")
	env(&s.receiverBind, "TEMPEST_RECEIVER_BIND")
	env(&s.receiverHost, "TEMPEST_RECEIVER_HOST")
	env(&s.poolURI, "ZAQAR_POOL_URI")
	if len(errs) > 0 {
		return fmt.Errorf("environment: %s", strings.Join(errs, "; "))
	}
	return nil
}

// envCredentials reads <prefix>USERNAME, <prefix>PASSWORD, ... as
// python-openstackclient names them (OS_USER_DOMAIN_NAME, ...; OS_DOMAIN_*
// for both domains).
func envCredentials(c *credentials, prefix string) {
	get := func(names ...string) string {
		for _, n := range names {
			if v := os.Getenv(prefix + n); v != "" {
				return v
			}
		}
		return ""
	}
	set := func(dst *string, names ...string) {
		if v := get(names...); v != "" {
			*dst = v
		}
	}
	set(&c.username, "USERNAME")
	set(&c.userID, "USER_ID", "USERID")
	set(&c.password, "PASSWORD")
	set(&c.projectName, "PROJECT_NAME", "TENANT_NAME")
	set(&c.projectID, "PROJECT_ID", "TENANT_ID")
	set(&c.userDomainName, "USER_DOMAIN_NAME", "DOMAIN_NAME")
	set(&c.userDomainID, "USER_DOMAIN_ID", "DOMAIN_ID")
	set(&c.projectDomainName, "PROJECT_DOMAIN_NAME", "DOMAIN_NAME")
	set(&c.projectDomainID, "PROJECT_DOMAIN_ID", "DOMAIN_ID")
}

// parseBool reads oslo.config's booleans.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on", "t", "y":
		return true, nil
	case "false", "0", "no", "off", "f", "n":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", v)
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// TestSettingsFile reads a tempest.conf with an accounts file, then lets
// the environment override it (no deployment needed).
func TestSettingsFile(t *testing.T) {
	track(t)
	for _, prefix := range []string{"OS_", "OS_ALT_", "OS_ADMIN_"} {
		for _, k := range []string{"USERNAME", "USER_ID", "USERID", "PASSWORD", "PROJECT_NAME", "TENANT_NAME", "PROJECT_ID",
			"TENANT_ID", "USER_DOMAIN_NAME", "DOMAIN_NAME", "USER_DOMAIN_ID", "DOMAIN_ID", "PROJECT_DOMAIN_NAME", "PROJECT_DOMAIN_ID"} {
			t.Setenv(prefix+k, "")
		}
	}
	for _, k := range []string{"ZAQAR_ENDPOINT", "ZAQAR_WEBSOCKET_ENDPOINT", "ZAQAR_PROJECT_ID", "OS_AUTH_URL", "OS_REGION_NAME",
		"OS_INTERFACE", "OS_ENDPOINT_TYPE", "OS_INSECURE", "OS_CACERT", "ZAQAR_BLOCK_INTERNAL_WEBHOOKS", "TEMPEST_NOTIFICATIONS",
		"TEMPEST_RECEIVER_BIND", "TEMPEST_RECEIVER_HOST", "ZAQAR_POOL_URI"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("accounts.yaml", `
- username: boss
  project_name: admin
  password: b
  types: [admin]
- username: one
  project_name: p1
  password: s1
  domain_name: D
- username: two
  tenant_name: p2
  password: s2
  roles: [member]
`)
	t.Setenv("TEMPEST_CONFIG", write("tempest.conf", `
[identity]
uri_v3 = http://keystone.example/v3
region = R2
v3_endpoint_type = internalURL
[auth]
use_dynamic_credentials = false
test_accounts_file = accounts.yaml
tempest_roles = member, creator
[service_available]
zaqar = true
[messaging]
catalog_type = queues
max_message_ttl = 7200
max_claim_ttl = 600
websocket_endpoint = ws://ws.example:9000/
block_internal_webhooks = false
notifications = off
receiver_host = 192.0.2.7
`))
	t.Setenv("OS_REGION_NAME", "R3")
	t.Setenv("OS_ALT_PASSWORD", "from-env")
	s, err := loadSettings()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"auth URL", s.authURL, "http://keystone.example/v3"},
		{"region (environment wins)", s.region, "R3"},
		{"interface", s.iface, "internalURL"},
		{"dynamic", s.dynamic, false},
		{"roles", strings.Join(s.roles, ","), "member,creator"},
		{"admin", s.admin.username + "/" + s.admin.projectName, "boss/admin"},
		{"primary", s.primary.username + "/" + s.primary.projectName + "/" + s.primary.userDomainName, "one/p1/D"},
		{"alt", s.alt.username + "/" + s.alt.projectName, "two/p2"},
		{"alt password (environment wins)", s.alt.password, "from-env"},
		{"catalog type", s.catalogType, "queues"},
		{"max message ttl", s.limits.maxMessageTTL, 7200},
		{"max claim ttl", s.limits.maxClaimTTL, 600},
		{"max claim grace (default)", s.limits.maxClaimGrace, 43200},
		{"websocket endpoint", s.wsEndpoint, "ws://ws.example:9000/"},
		{"block internal webhooks", s.blockInternalWebhooks, false},
		{"notifications", s.notifications, false},
		{"receiver host", s.receiverHost, "192.0.2.7"},
		{"configured", s.configured(), true},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}

	t.Setenv("TEMPEST_CONFIG", write("bad.conf", "[messaging]\nmax_claim_ttl = lots\n[auth]\nuse_dynamic_credentials = maybe\n"))
	if _, err := loadSettings(); err == nil || !strings.Contains(err.Error(), "max_claim_ttl") || !strings.Contains(err.Error(), "use_dynamic_credentials") {
		t.Errorf("a bad file loaded with error %v, want one naming both keys", err)
	}
}
