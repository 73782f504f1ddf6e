// Package config reads zaqar.conf-style INI files (oslo.config format) with
// Zaqar's section and option names into one Config value. Sections we do not
// own are kept for compatibility; an unknown option in a section we own is a
// start-up error naming the file, section and key.
package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/ini.v1"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Listen is a bind address and port.
type Listen struct {
	Bind string
	Port int
}

// Addr is host:port for net.Listen.
func (l Listen) Addr() string { return fmt.Sprintf("%s:%d", l.Bind, l.Port) }

// Config is the whole server configuration.
type Config struct {
	Files []string // where it was read from, for messages

	AuthStrategy   string // "" or "keystone"
	AdminMode      bool
	Pooling        bool
	Unreliable     bool
	EnableChecksum bool
	Debug          bool

	Transport       string // wsgi
	MessageStore    string // embedded (default), memory, redis, mongodb
	ManagementStore string // with pooling: where the pool catalog lives

	// VirtualPool is [pooling:catalog] enable_virtual_pool: with pooling,
	// the message store keeps serving queues that are in no pool.
	VirtualPool bool

	WSGI      Listen
	WebSocket WebSocket
	Metrics   Metrics

	Limits zaqar.Limits

	// Stores maps a driver name to its [drivers:message_store:<name>] options.
	Stores map[string]map[string]string

	MessagePipeline []string
	SignedURLKey    string
	PolicyFile      string // [oslo_policy] policy_file, relative to the first config file's directory

	// [transport] message_encryption_key (Zaqar's default "AES256") and
	// ours, message_encryption_previous_keys, for key rotation.
	EncryptionKey          string
	EncryptionPreviousKeys []string
	EncryptionAlgorithm    string

	Notification Notification

	// Keystone is [keystone_authtoken] (keystonemiddleware's option names).
	Keystone Keystone
	// Trustee is [trustee]: the user Zaqar's trust+http(s) subscriptions
	// delegate to (zaqar/conf/trustee.py names).
	Trustee Keystone

	// Ignored lists options accepted for compatibility that have no effect,
	// so start-up can say so once.
	Ignored []string
}

// WebSocket is [drivers:transport:websocket]: where the WebSocket API
// listens, and its internal notification listener, which receives the
// webhook POSTs of connection-bound subscriptions.
type WebSocket struct {
	Listen
	// ExternalPort (external-port) is the port clients reach when a proxy
	// sits in front; it only changes the URL the server advertises.
	ExternalPort int
	// NotificationBind (notification-bind) is the listener's address, and
	// the host named in subscriber URLs (the hostname when unspecified,
	// e.g. 0.0.0.0). Several API nodes sharing a store must use an address
	// the others can reach.
	NotificationBind string
	NotificationPort int // notification-port; 0 picks a free port
}

// Metrics is the [metrics] section (ours): Prometheus metrics at /metrics
// on a listener of their own, never the API's. Off by default; when on,
// loopback unless bind says otherwise.
type Metrics struct {
	Enabled bool
	Listen
}

// Keystone holds the Keystone options of [keystone_authtoken] or [trustee].
type Keystone struct {
	AuthURL, WWWAuthenticateURI        string
	AuthType                           string
	Username, Password, UserID         string
	UserDomainName, UserDomainID       string
	ProjectName, ProjectID             string
	ProjectDomainName, ProjectDomainID string
	RegionName                         string
	TokenCacheTime                     time.Duration
	Timeout                            time.Duration
	MemcachedServers                   string
}

// Notification is the [notification] section.
type Notification struct {
	RequireConfirmation     bool
	ExternalConfirmationURL string
	MaxWorkers              int
	SMTPMode                string // third_part | self_local
	SMTPHost                string
	SMTPPort                int
	SMTPUser                string
	SMTPPassword            string
	SMTPCommand             string
	SMTPTLS                 string            // ours: ssl (Zaqar's behaviour) | starttls | none
	SubscribeTemplate       map[string]string // topic, body, sender
	UnsubscribeTemplate     map[string]string
	BlockInternalWebhooks   bool // ours: refuse webhook targets in WebhookDeniedNetworks for non-admins
	// WebhookDeniedNetworks (ours: webhook_denied_networks) are the CIDRs
	// non-admin webhooks may not connect to; DefaultDeniedNetworks unless
	// set. Operators add private ranges (10.0.0.0/8, ...) here.
	WebhookDeniedNetworks []string
	WebhookTimeout        time.Duration
}

// DefaultDeniedNetworks are the webhook targets refused by default:
// loopback, link-local (where clouds serve instance metadata, e.g.
// 169.254.169.254), multicast, "this network" and unspecified, and the AWS
// IPv6 metadata address.
var DefaultDeniedNetworks = []string{"127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10",
	"224.0.0.0/4", "ff00::/8", "0.0.0.0/8", "::/128", "fd00:ec2::254/128"}

// Default returns a runnable setup: embedded store under ./data, no auth,
// 127.0.0.1:8888.
func Default() Config {
	return Config{
		Transport:       "wsgi",
		MessageStore:    "embedded",
		ManagementStore: "embedded",
		WSGI:            Listen{Bind: "127.0.0.1", Port: 8888},
		WebSocket:       WebSocket{Listen: Listen{Bind: "127.0.0.1", Port: 9000}, NotificationBind: "127.0.0.1"},
		Metrics:         Metrics{Listen: Listen{Bind: "127.0.0.1", Port: 9464}},
		Limits:          zaqar.DefaultLimits(),
		Notification: Notification{MaxWorkers: 10, SMTPMode: "third_part", SMTPCommand: "/usr/sbin/sendmail -t -oi",
			SMTPTLS: "ssl", BlockInternalWebhooks: true, WebhookDeniedNetworks: DefaultDeniedNetworks,
			WebhookTimeout: 10 * time.Second},
		Stores: map[string]map[string]string{
			"embedded": {"path": filepath.Join("data", "zaqar.db")},
		},
	}
}

// StoreOption returns option key of the message store driver.
func (c Config) StoreOption(key string) string { return c.Stores[c.MessageStore][key] }

// option is one known key of a section we own: how to apply it to Config.
type option func(c *Config, v string) error

// ignored accepts an option that exists in Zaqar or oslo but has no effect here.
func ignored(*Config, string) error { return nil }

func str(dst func(*Config) *string) option {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

func boolean(dst func(*Config) *bool) option {
	return func(c *Config, v string) error {
		b, err := parseBool(v)
		*dst(c) = b
		return err
	}
}

func integer(dst func(*Config) *int) option {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		*dst(c) = n
		return nil
	}
}

func bytesOpt(dst func(*Config) *int64) option {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		*dst(c) = n
		return nil
	}
}

func seconds(dst func(*Config) *time.Duration) option {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer number of seconds: %q", v)
		}
		*dst(c) = time.Duration(n) * time.Second
		return nil
	}
}

func list(dst func(*Config) *[]string) option {
	return func(c *Config, v string) error {
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*dst(c) = out
		return nil
	}
}

// keystoneOptions maps keystonemiddleware's (and keystoneauth's) option
// names; the ones with no effect here are accepted so existing files load.
func keystoneOptions(k func(*Config) *Keystone) map[string]option {
	o := map[string]option{
		"auth_url":             str(func(c *Config) *string { return &k(c).AuthURL }),
		"www_authenticate_uri": str(func(c *Config) *string { return &k(c).WWWAuthenticateURI }),
		"auth_uri":             str(func(c *Config) *string { return &k(c).WWWAuthenticateURI }), // deprecated alias
		"auth_type":            str(func(c *Config) *string { return &k(c).AuthType }),
		"auth_plugin":          str(func(c *Config) *string { return &k(c).AuthType }),
		"username":             str(func(c *Config) *string { return &k(c).Username }),
		"user_id":              str(func(c *Config) *string { return &k(c).UserID }),
		"password":             str(func(c *Config) *string { return &k(c).Password }),
		"user_domain_name":     str(func(c *Config) *string { return &k(c).UserDomainName }),
		"user_domain_id":       str(func(c *Config) *string { return &k(c).UserDomainID }),
		"project_name":         str(func(c *Config) *string { return &k(c).ProjectName }),
		"project_id":           str(func(c *Config) *string { return &k(c).ProjectID }),
		"project_domain_name":  str(func(c *Config) *string { return &k(c).ProjectDomainName }),
		"project_domain_id":    str(func(c *Config) *string { return &k(c).ProjectDomainID }),
		"region_name":          str(func(c *Config) *string { return &k(c).RegionName }),
		"token_cache_time":     seconds(func(c *Config) *time.Duration { return &k(c).TokenCacheTime }),
		"http_connect_timeout": seconds(func(c *Config) *time.Duration { return &k(c).Timeout }),
		"memcached_servers":    str(func(c *Config) *string { return &k(c).MemcachedServers }),
	}
	for _, name := range []string{"memcache_servers", "interface", "service_type", "delay_auth_decision",
		"include_service_catalog", "insecure", "cafile", "certfile", "keyfile", "service_token_roles",
		"service_token_roles_required", "memcache_security_strategy", "memcache_secret_key",
		"memcache_use_advanced_pool", "enforce_token_bind", "http_request_max_retries", "auth_version",
		"admin_user", "admin_password", "admin_tenant_name", "identity_uri", "system_scope", "domain_id",
		"domain_name", "trust_id", "default_domain_id", "default_domain_name", "collect_timing", "split_loggers",
		"timeout", "status_code_retries", "connect_retries", "service_type", "memcache_pool_maxsize",
		"memcache_pool_socket_timeout", "memcache_pool_unused_timeout", "memcache_pool_conn_get_timeout",
		"memcache_pool_dead_retry", "token_cache_time_jitter", "region"} {
		if _, ok := o[name]; !ok {
			o[name] = ignored
		}
	}
	return o
}

// dict reads an oslo.config DictOpt: "key:value,key:value".
func dict(dst func(*Config) *map[string]string) option {
	return func(c *Config, v string) error {
		m := map[string]string{}
		for _, part := range strings.Split(v, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			k, val, ok := strings.Cut(part, ":")
			if !ok {
				return fmt.Errorf("not a key:value pair: %q", part)
			}
			m[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
		*dst(c) = m
		return nil
	}
}

// oslo.config booleans.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on", "t", "y":
		return true, nil
	case "false", "0", "no", "off", "f", "n", "":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", v)
}

// storeOptions are the keys each store driver section accepts
// (zaqar/conf/drivers_*.py, plus "path" for our embedded store).
var storeOptions = map[string][]string{
	"embedded": {"path", "uri"},
	"memory":   {"uri"},
	"redis":    {"uri", "max_reconnect_attempts", "reconnect_sleep"},
	"mongodb": {"uri", "database", "partitions", "max_attempts", "max_retry_sleep",
		"max_retry_jitter", "max_reconnect_attempts", "reconnect_sleep", "ssl_keyfile",
		"ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs", "gc_interval", "gc_threshold"},
	"sqlalchemy": {"uri", "database"},
	"swift":      {"uri", "auth_url", "insecure", "project_domain_id", "project_domain_name", "region_name", "user_domain_id", "user_domain_name"},
}

// osloDefaults are [DEFAULT] options of oslo.log and friends that zaqar.conf
// files commonly carry; they are accepted and have no effect.
var osloDefaults = []string{"verbose", "log_file", "log_dir", "log_config_append", "use_syslog",
	"syslog_log_facility", "use_stderr", "use_journal", "use_json", "logging_context_format_string",
	"logging_default_format_string", "logging_debug_format_suffix", "logging_exception_prefix",
	"default_log_levels", "publish_errors", "instance_format", "instance_uuid_format",
	"watch_log_file", "log_date_format", "transport_url", "host", "state_path",
	"rate_limit_interval", "rate_limit_burst", "rate_limit_except_level", "fatal_deprecations",
	"log_rotation_type", "log_rotate_interval", "log_rotate_interval_type", "max_logfile_count",
	"max_logfile_size_mb", "enable_deprecated_api_versions", "unreliable"}

func sections() map[string]map[string]option {
	limits := func(c *Config) *zaqar.Limits { return &c.Limits }
	s := map[string]map[string]option{
		"DEFAULT": {
			"auth_strategy":   str(func(c *Config) *string { return &c.AuthStrategy }),
			"admin_mode":      boolean(func(c *Config) *bool { return &c.AdminMode }),
			"pooling":         boolean(func(c *Config) *bool { return &c.Pooling }),
			"enable_checksum": boolean(func(c *Config) *bool { return &c.EnableChecksum }),
			"debug":           boolean(func(c *Config) *bool { return &c.Debug }),
		},
		"drivers": {
			"transport":        str(func(c *Config) *string { return &c.Transport }),
			"message_store":    str(func(c *Config) *string { return &c.MessageStore }),
			"management_store": str(func(c *Config) *string { return &c.ManagementStore }),
		},
		"drivers:transport:wsgi": {
			"bind": str(func(c *Config) *string { return &c.WSGI.Bind }),
			"port": integer(func(c *Config) *int { return &c.WSGI.Port }),
		},
		"drivers:transport:websocket": {
			"bind":              str(func(c *Config) *string { return &c.WebSocket.Bind }),
			"port":              integer(func(c *Config) *int { return &c.WebSocket.Port }),
			"external-port":     integer(func(c *Config) *int { return &c.WebSocket.ExternalPort }),
			"notification-bind": str(func(c *Config) *string { return &c.WebSocket.NotificationBind }),
			"notification-port": integer(func(c *Config) *int { return &c.WebSocket.NotificationPort }),
		},
		"transport": {
			"default_message_ttl":              seconds(func(c *Config) *time.Duration { return &limits(c).DefaultMessageTTL }),
			"default_message_delay":            seconds(func(c *Config) *time.Duration { return &limits(c).DefaultMessageDelay }),
			"default_claim_ttl":                seconds(func(c *Config) *time.Duration { return &limits(c).DefaultClaimTTL }),
			"default_claim_grace":              seconds(func(c *Config) *time.Duration { return &limits(c).DefaultClaimGrace }),
			"default_subscription_ttl":         seconds(func(c *Config) *time.Duration { return &limits(c).DefaultSubscriptionTTL }),
			"max_queues_per_page":              integer(func(c *Config) *int { return &limits(c).MaxQueuesPerPage }),
			"max_messages_per_page":            integer(func(c *Config) *int { return &limits(c).MaxMessagesPerPage }),
			"max_subscriptions_per_page":       integer(func(c *Config) *int { return &limits(c).MaxSubscriptionsPerPage }),
			"max_messages_per_claim_or_pop":    integer(func(c *Config) *int { return &limits(c).MaxMessagesPerClaimOrPop }),
			"max_queue_metadata":               bytesOpt(func(c *Config) *int64 { return &limits(c).MaxQueueMetadata }),
			"max_messages_post_size":           bytesOpt(func(c *Config) *int64 { return &limits(c).MaxMessagesPostSize }),
			"max_message_ttl":                  seconds(func(c *Config) *time.Duration { return &limits(c).MaxMessageTTL }),
			"max_message_delay":                seconds(func(c *Config) *time.Duration { return &limits(c).MaxMessageDelay }),
			"max_claim_ttl":                    seconds(func(c *Config) *time.Duration { return &limits(c).MaxClaimTTL }),
			"max_claim_grace":                  seconds(func(c *Config) *time.Duration { return &limits(c).MaxClaimGrace }),
			"subscriber_types":                 list(func(c *Config) *[]string { return &limits(c).SubscriberTypes }),
			"client_id_uuid_safe":              str(func(c *Config) *string { return &limits(c).ClientIDUUIDSafe }),
			"min_length_client_id":             integer(func(c *Config) *int { return &limits(c).MinLengthClientID }),
			"max_length_client_id":             integer(func(c *Config) *int { return &limits(c).MaxLengthClientID }),
			"message_delete_with_claim_id":     boolean(func(c *Config) *bool { return &limits(c).MessageDeleteWithClaimID }),
			"max_flavors_per_page":             integer(func(c *Config) *int { return &limits(c).MaxFlavorsPerPage }),
			"max_pools_per_page":               integer(func(c *Config) *int { return &limits(c).MaxPoolsPerPage }),
			"max_topics_per_page":              ignored,
			"message_encryption_algorithms":    str(func(c *Config) *string { return &c.EncryptionAlgorithm }),
			"message_encryption_key":           str(func(c *Config) *string { return &c.EncryptionKey }),
			"message_encryption_previous_keys": list(func(c *Config) *[]string { return &c.EncryptionPreviousKeys }),
		},
		"storage": {
			"message_pipeline":      list(func(c *Config) *[]string { return &c.MessagePipeline }),
			"queue_pipeline":        ignored,
			"claim_pipeline":        ignored,
			"subscription_pipeline": ignored,
			"topic_pipeline":        ignored,
		},
		"signed_url": {
			"secret_key": str(func(c *Config) *string { return &c.SignedURLKey }),
		},
		"notification": {
			"require_confirmation":      boolean(func(c *Config) *bool { return &c.Notification.RequireConfirmation }),
			"external_confirmation_url": str(func(c *Config) *string { return &c.Notification.ExternalConfirmationURL }),
			"max_notifier_workers":      integer(func(c *Config) *int { return &c.Notification.MaxWorkers }),
			"smtp_mode":                 str(func(c *Config) *string { return &c.Notification.SMTPMode }),
			"smtp_host":                 str(func(c *Config) *string { return &c.Notification.SMTPHost }),
			"smtp_port":                 integer(func(c *Config) *int { return &c.Notification.SMTPPort }),
			"smtp_user_name":            str(func(c *Config) *string { return &c.Notification.SMTPUser }),
			"smtp_user_password":        str(func(c *Config) *string { return &c.Notification.SMTPPassword }),
			"smtp_command":              str(func(c *Config) *string { return &c.Notification.SMTPCommand }),
			"smtp_tls":                  str(func(c *Config) *string { return &c.Notification.SMTPTLS }),
			"subscription_confirmation_email_template": dict(func(c *Config) *map[string]string { return &c.Notification.SubscribeTemplate }),
			"unsubscribe_confirmation_email_template":  dict(func(c *Config) *map[string]string { return &c.Notification.UnsubscribeTemplate }),
			"block_internal_webhooks":                  boolean(func(c *Config) *bool { return &c.Notification.BlockInternalWebhooks }),
			"webhook_timeout":                          seconds(func(c *Config) *time.Duration { return &c.Notification.WebhookTimeout }),
			"webhook_denied_networks":                  list(func(c *Config) *[]string { return &c.Notification.WebhookDeniedNetworks }),
		},
		"metrics": {
			"enabled": boolean(func(c *Config) *bool { return &c.Metrics.Enabled }),
			"bind":    str(func(c *Config) *string { return &c.Metrics.Bind }),
			"port":    integer(func(c *Config) *int { return &c.Metrics.Port }),
		},
		"pooling:catalog": {
			"enable_virtual_pool": boolean(func(c *Config) *bool { return &c.VirtualPool }),
		},
		"keystone_authtoken": keystoneOptions(func(c *Config) *Keystone { return &c.Keystone }),
		"trustee":            keystoneOptions(func(c *Config) *Keystone { return &c.Trustee }),
		"oslo_policy": {
			"policy_file":          str(func(c *Config) *string { return &c.PolicyFile }),
			"enforce_scope":        ignored,
			"enforce_new_defaults": ignored,
			"policy_default_rule":  ignored,
			"policy_dirs":          ignored,
		},
	}
	for _, k := range osloDefaults {
		s["DEFAULT"][k] = ignored
	}
	return s
}

// Load reads files in order (later files override earlier ones, as
// oslo.config does) on top of Default, then validates.
func Load(files ...string) (Config, error) {
	c := Default()
	c.Files = files
	known := sections()
	for _, file := range files {
		f, err := ini.LoadSources(ini.LoadOptions{
			// oslo.config has no inline comments: "# x" after a value is part of it.
			Insensitive: false, AllowPythonMultilineValues: true, IgnoreInlineComment: true,
		}, file)
		if err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", file, err)
		}
		for _, sec := range f.Sections() {
			name := sec.Name()
			if name == ini.DefaultSection {
				name = "DEFAULT"
			}
			opts, owned := known[name]
			driver, isStore := storeSection(name)
			if isStore {
				allowed, ok := storeOptions[driver]
				if !ok {
					return Config{}, fmt.Errorf("config file %s: section [%s]: unknown storage driver %q", file, name, driver)
				}
				if c.Stores[driver] == nil {
					c.Stores[driver] = map[string]string{}
				}
				for _, k := range sec.Keys() {
					if !contains(allowed, k.Name()) {
						return Config{}, fmt.Errorf("config file %s: section [%s]: unknown option %q", file, name, k.Name())
					}
					c.Stores[driver][k.Name()] = k.Value()
				}
				continue
			}
			if !owned {
				continue // not ours (yet): kept for compatibility
			}
			for _, k := range sec.Keys() {
				apply, ok := opts[k.Name()]
				if !ok {
					return Config{}, fmt.Errorf("config file %s: section [%s]: unknown option %q", file, name, k.Name())
				}
				if err := apply(&c, k.Value()); err != nil {
					return Config{}, fmt.Errorf("config file %s: section [%s]: option %q: %v", file, name, k.Name(), err)
				}
			}
		}
	}
	// oslo.config looks for policy_file next to the configuration files.
	if c.PolicyFile != "" && !filepath.IsAbs(c.PolicyFile) && len(files) > 0 {
		c.PolicyFile = filepath.Join(filepath.Dir(files[0]), c.PolicyFile)
	}
	return c, c.Validate()
}

// storeSection recognises [drivers:message_store:X] and [drivers:management_store:X].
func storeSection(name string) (string, bool) {
	for _, p := range []string{"drivers:message_store:", "drivers:management_store:"} {
		if strings.HasPrefix(name, p) {
			return strings.TrimPrefix(name, p), true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Validate checks values that parse but make no sense; errors name the option.
func (c Config) Validate() error {
	where := "defaults"
	if len(c.Files) > 0 {
		where = "config file " + strings.Join(c.Files, ", ")
	}
	bad := func(section, key, format string, args ...any) error {
		return fmt.Errorf("%s: section [%s]: option %q: %s", where, section, key, fmt.Sprintf(format, args...))
	}
	switch c.AuthStrategy {
	case "", "noauth":
	case "keystone":
		k := c.Keystone
		if k.AuthURL == "" {
			return bad("keystone_authtoken", "auth_url", "required with auth_strategy = keystone")
		}
		if k.AuthType != "" && k.AuthType != "password" && k.AuthType != "v3password" {
			return bad("keystone_authtoken", "auth_type", "only password is supported, not %q", k.AuthType)
		}
		if k.Username == "" && k.UserID == "" {
			return bad("keystone_authtoken", "username", "the service user is required with auth_strategy = keystone")
		}
	default:
		return bad("DEFAULT", "auth_strategy", "must be empty or keystone, not %q", c.AuthStrategy)
	}
	if c.Transport != "wsgi" {
		return bad("drivers", "transport", "only wsgi is supported, not %q", c.Transport)
	}
	if !contains(supportedStores, c.MessageStore) {
		return bad("drivers", "message_store", "must be one of %s, not %q", strings.Join(supportedStores, ", "), c.MessageStore)
	}
	if c.Pooling && !contains(catalogStores, c.ManagementStore) {
		return bad("drivers", "management_store", "with pooling it holds the pool catalog and must be one of %s, not %q",
			strings.Join(catalogStores, ", "), c.ManagementStore)
	}
	if c.WSGI.Port < 0 || c.WSGI.Port > 65535 {
		return bad("drivers:transport:wsgi", "port", "out of range: %d", c.WSGI.Port)
	}
	for _, p := range []struct {
		key string
		v   int
	}{{"port", c.WebSocket.Port}, {"external-port", c.WebSocket.ExternalPort}, {"notification-port", c.WebSocket.NotificationPort}} {
		if p.v < 0 || p.v > 65535 {
			return bad("drivers:transport:websocket", p.key, "out of range: %d", p.v)
		}
	}
	if c.Metrics.Port < 0 || c.Metrics.Port > 65535 {
		return bad("metrics", "port", "out of range: %d", c.Metrics.Port)
	}
	l := c.Limits
	for _, p := range []struct {
		key string
		v   int
	}{{"max_queues_per_page", l.MaxQueuesPerPage}, {"max_messages_per_page", l.MaxMessagesPerPage},
		{"max_subscriptions_per_page", l.MaxSubscriptionsPerPage}, {"max_messages_per_claim_or_pop", l.MaxMessagesPerClaimOrPop},
		{"max_pools_per_page", l.MaxPoolsPerPage}, {"max_flavors_per_page", l.MaxFlavorsPerPage}} {
		if p.v < 1 {
			return bad("transport", p.key, "must be at least 1")
		}
	}
	if l.MaxMessagesPostSize < 1 || l.MaxQueueMetadata < 1 {
		return bad("transport", "max_messages_post_size", "sizes must be at least 1 byte")
	}
	if l.MaxMessageTTL < zaqar.MinMessageTTL || l.DefaultMessageTTL < zaqar.MinMessageTTL || l.DefaultMessageTTL > l.MaxMessageTTL {
		return bad("transport", "default_message_ttl", "must be between 60 and max_message_ttl")
	}
	if l.MaxClaimTTL < zaqar.MinClaimTTL || l.MaxClaimGrace < zaqar.MinClaimGrace {
		return bad("transport", "max_claim_ttl", "claim ttl and grace maxima must be at least 60")
	}
	if a := c.EncryptionAlgorithm; a != "" && a != "AES256" {
		return bad("transport", "message_encryption_algorithms", "only AES256 is supported, not %q", a)
	}
	switch c.Notification.SMTPMode {
	case "third_part", "self_local":
	default:
		return bad("notification", "smtp_mode", "must be third_part or self_local, not %q", c.Notification.SMTPMode)
	}
	switch c.Notification.SMTPTLS {
	case "ssl", "starttls", "none":
	default:
		return bad("notification", "smtp_tls", "must be ssl, starttls or none, not %q", c.Notification.SMTPTLS)
	}
	if _, err := c.Notification.DeniedNetworks(); err != nil {
		return bad("notification", "webhook_denied_networks", "%v", err)
	}
	if c.Notification.MaxWorkers < 1 {
		return bad("notification", "max_notifier_workers", "must be at least 1")
	}
	if l.ClientIDUUIDSafe != "strict" && l.ClientIDUUIDSafe != "off" {
		return bad("transport", "client_id_uuid_safe", "must be strict or off, not %q", l.ClientIDUUIDSafe)
	}
	return nil
}

// catalogStores can keep the pool catalog ([drivers] management_store).
var catalogStores = []string{"embedded", "memory", "redis"}

var supportedStores = func() []string {
	s := []string{"embedded", "memory", "mongodb", "redis"}
	sort.Strings(s)
	return s
}()

// DeniedNetworks parses WebhookDeniedNetworks; none while
// block_internal_webhooks is off.
func (n Notification) DeniedNetworks() ([]netip.Prefix, error) {
	if !n.BlockInternalWebhooks {
		return nil, nil
	}
	var out []netip.Prefix
	for _, s := range n.WebhookDeniedNetworks {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("not a CIDR network (such as 10.0.0.0/8 or fc00::/7): %q", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
