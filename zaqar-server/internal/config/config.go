// Package config reads zaqar.conf-style INI files (oslo.config format) with
// Zaqar's section and option names into one Config value.
//
// One table (Options) says which options zaqar-server implements, with
// their type, default and help; it drives Default, Load and the sample
// configuration (WriteSample). An option Zaqar 15 or a library it loads
// defines but the table lacks is accepted and listed in Config.Ignored, so
// an operator's existing zaqar.conf loads; an option nobody defines is an
// error that names the file, section and key, and the closest known option.
package config

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
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

	Transport       string // wsgi or websocket: both serve both APIs
	MessageStore    string // embedded (default), memory, redis, mongodb
	ManagementStore string // with pooling: where the pool catalog lives

	// VirtualPool is [pooling:catalog] enable_virtual_pool: with pooling,
	// the message store keeps serving queues that are in no pool.
	VirtualPool bool

	WSGI Listen
	CORS CORS
	// RequestBodyTimeout ([drivers:transport:wsgi] request_body_timeout,
	// ours) bounds the time to receive a REST request body; 0: unbounded.
	RequestBodyTimeout time.Duration
	WebSocket          WebSocket
	Metrics            Metrics

	Limits zaqar.Limits

	// Stores maps a driver name to its [drivers:message_store:<name>] options.
	Stores map[string]map[string]string
	// ManagementStores holds the [drivers:management_store:<name>] options
	// set in files; see ManagementConfig.
	ManagementStores map[string]map[string]string

	MessagePipeline []string
	SignedURLKey    string
	PolicyFile      string // [oslo_policy] policy_file, relative to the first config file's directory

	// [transport] message_encryption_key (Zaqar's default "AES256") and
	// ours, message_encryption_previous_keys, for key rotation.
	EncryptionKey          string
	EncryptionPreviousKeys []string
	EncryptionAlgorithm    string

	Notification Notification

	// Log is [DEFAULT]'s oslo.log options that take effect (and Debug).
	Log Log

	// Keystone is [keystone_authtoken] (keystonemiddleware's option names).
	Keystone Keystone

	// Ignored lists, as section.option, the options read from the files
	// that Zaqar or its libraries define and zaqar-server does not
	// implement, and as [section] the sections no component defines, so
	// start-up can say so once.
	Ignored []string

	set map[string]bool // section.option of each option the files set
}

// WebSocket is [drivers:transport:websocket]: where the WebSocket API
// listens, and its internal notification listener, which receives the
// webhook POSTs of connection-bound subscriptions.
type WebSocket struct {
	// Enabled is ours: false serves neither the WebSocket API nor its
	// notification listener.
	Enabled bool
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

// CORS is oslo.middleware's [cors] section, with the defaults Zaqar sets
// for it (zaqar/transport/middleware/cors.py). No allowed origin: off.
type CORS struct {
	AllowedOrigins   []string // allowed_origin; "*" allows any
	AllowCredentials bool
	ExposeHeaders    []string
	MaxAge           int // seconds; 0 sends no Access-Control-Max-Age
	AllowMethods     []string
	AllowHeaders     []string // besides oslo's simple headers (Accept, Content-Type, ...)
}

// Metrics is the [metrics] section (ours): Prometheus metrics at /metrics
// on a listener of their own, never the API's. Off by default; when on,
// loopback unless bind says otherwise.
type Metrics struct {
	Enabled bool
	Listen
}

// Log holds the oslo.log options of [DEFAULT] we honour, with oslo.log's
// names and meanings (oslo_log/_options.py): log_dir/log_file is the log
// file; neither means standard output; use_stderr adds standard error.
type Log struct {
	File      string // log_file
	Dir       string // log_dir
	JSON      bool   // use_json
	UseStderr bool   // use_stderr (default false, as in recent oslo.log)
}

// Keystone holds the options of [keystone_authtoken].
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
// REST on 127.0.0.1:8888 and WebSocket on 127.0.0.1:9000. It is the option
// table's defaults.
func Default() Config {
	c := Config{Stores: map[string]map[string]string{}, ManagementStores: map[string]map[string]string{}, set: map[string]bool{}}
	for _, o := range Options() {
		if o.Default == "" {
			continue
		}
		if err := o.apply(&c, o.Default); err != nil {
			// The table is code: TestOptionTable applies every default.
			panic(fmt.Sprintf("config: default of [%s] %s: %v", o.Section, o.Name, err))
		}
	}
	return c
}

// StoreOption returns option key of the message store driver.
func (c Config) StoreOption(key string) string { return c.Stores[c.MessageStore][key] }

// ManagementConfig is c as the pool catalog's store sees it: the
// management store as message store, its [drivers:management_store:X]
// options over those of [drivers:message_store:X].
func (c Config) ManagementConfig() Config {
	mc := c
	mc.Pooling, mc.MessageStore = false, c.ManagementStore
	if over := c.ManagementStores[c.ManagementStore]; len(over) > 0 {
		mc.Stores = maps.Clone(c.Stores)
		opts := maps.Clone(c.Stores[c.ManagementStore])
		if opts == nil {
			opts = map[string]string{}
		}
		maps.Copy(opts, over)
		mc.Stores[c.ManagementStore] = opts
	}
	return mc
}

// IsSet reports whether a configuration file set the option, so a flag
// can tell an explicit value from the default.
func (c Config) IsSet(section, name string) bool { return c.set[section+"."+normalize(name)] }

// index maps section and normalized name to the table's options.
func index() map[string]map[string]Option {
	idx := map[string]map[string]Option{}
	for _, o := range Options() {
		if idx[o.Section] == nil {
			idx[o.Section] = map[string]Option{}
		}
		idx[o.Section][normalize(o.Name)] = o
	}
	return idx
}

// Load reads files in order (later files override earlier ones, as
// oslo.config does) on top of Default, then validates. Options of the
// table take effect; options Zaqar or its libraries define that are not
// in the table, and sections no component defines, are listed in
// Config.Ignored; any other option is an error naming the file, section
// and key, with the closest known option of that section.
func Load(files ...string) (Config, error) {
	c := Default()
	c.Files = files
	opts, known := index(), knownOptions()
	ignored := map[string]bool{}
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
			if known[name] == nil {
				if len(sec.Keys()) > 0 {
					ignored["["+name+"]"] = true
				}
				continue
			}
			for _, k := range sec.Keys() {
				key := normalize(k.Name())
				o, ok := opts[name][key]
				if !ok {
					if !known[name][key] {
						return Config{}, unknownOption(file, name, k.Name(), known[name])
					}
					ignored[name+"."+key] = true
					continue
				}
				switch err := o.apply(&c, k.Value()); {
				case errors.Is(err, errIgnored):
					ignored[name+"."+key] = true
				case err != nil:
					return Config{}, fmt.Errorf("config file %s: section [%s]: option %q: %v", file, name, k.Name(), err)
				default:
					c.set[name+"."+key] = true
				}
			}
		}
	}
	c.Ignored = slices.Sorted(maps.Keys(ignored))
	// oslo.config looks for policy_file next to the configuration files.
	if c.PolicyFile != "" && !filepath.IsAbs(c.PolicyFile) && len(files) > 0 {
		c.PolicyFile = filepath.Join(filepath.Dir(files[0]), c.PolicyFile)
	}
	return c, c.Validate()
}

func unknownOption(file, section, key string, names map[string]bool) error {
	err := fmt.Errorf("config file %s: section [%s]: unknown option %q", file, section, key)
	if near := closest(normalize(key), names); near != "" {
		err = fmt.Errorf("%w (did you mean %q?)", err, near)
	}
	return err
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
	if c.Transport != "wsgi" && c.Transport != "websocket" {
		return bad("drivers", "transport", "must be wsgi or websocket (both serve both APIs), not %q", c.Transport)
	}
	if !slices.Contains(supportedStores, c.MessageStore) {
		return bad("drivers", "message_store", "must be one of %s, not %q", strings.Join(supportedStores, ", "), c.MessageStore)
	}
	if c.Pooling && !slices.Contains(catalogStores, c.ManagementStore) {
		return bad("drivers", "management_store", "with pooling it holds the pool catalog and must be one of %s, not %q",
			strings.Join(catalogStores, ", "), c.ManagementStore)
	}
	if c.WSGI.Port < 0 || c.WSGI.Port > 65535 {
		return bad("drivers:transport:wsgi", "port", "out of range: %d", c.WSGI.Port)
	}
	for _, p := range []struct {
		key string
		v   int
	}{{"port", c.WebSocket.Port}, {"external_port", c.WebSocket.ExternalPort}, {"notification_port", c.WebSocket.NotificationPort}} {
		if p.v < 0 || p.v > 65535 {
			return bad("drivers:transport:websocket", p.key, "out of range: %d", p.v)
		}
	}
	if c.RequestBodyTimeout < 0 {
		return bad("drivers:transport:wsgi", "request_body_timeout", "must be 0 (no limit) or more")
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
	if l.MaxWait < 0 || l.MaxWait > time.Hour {
		return bad("transport", "max_wait", "must be between 0 and 3600 seconds")
	}
	if l.MaxWaiters < 0 || l.MaxWaitersPerProject < 0 {
		return bad("transport", "max_waiters", "max_waiters and max_waiters_per_project may not be negative")
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

// ListenerFlags are the command line's listener overrides; empty or
// negative means not given.
type ListenerFlags struct {
	Bind, WSBind string
	Port, WSPort int
}

// SetListeners applies the command line's listener flags over the files:
// --bind moves the REST API and also the WebSocket API unless a file
// ([drivers:transport:websocket] bind) or --ws-bind places that one; --port
// and --ws-port move one listener each. The result is validated again.
func (c *Config) SetListeners(f ListenerFlags) error {
	if f.Bind != "" {
		c.WSGI.Bind = f.Bind
		if f.WSBind == "" && !c.IsSet("drivers:transport:websocket", "bind") {
			c.WebSocket.Bind = f.Bind
		}
	}
	if f.WSBind != "" {
		c.WebSocket.Bind = f.WSBind
	}
	if f.Port >= 0 {
		c.WSGI.Port = f.Port
	}
	if f.WSPort >= 0 {
		c.WebSocket.Port = f.WSPort
	}
	return c.Validate()
}
