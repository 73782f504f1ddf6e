package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Option is one option zaqar-server implements: where it lives in
// zaqar.conf, how its value reads, its default (as written in the file)
// and what it does. The table below is the one source of Default(), of
// Load's parsing and of the sample configuration (WriteSample).
type Option struct {
	Section, Name string
	Type          string // as oslo-config-generator names it: "string", "boolean", "integer", ...
	Default       string // "" leaves the field at its zero value
	Help          string
	apply         func(c *Config, v string) error
}

// errIgnored is returned by an apply for a value that parses but that
// zaqar-server cannot honour (a Zaqar pipeline stage it does not have):
// the option is then reported with the ignored ones, not refused.
var errIgnored = errors.New("accepted, no effect")

// Options returns the option table, in the order of the sample file.
func Options() []Option {
	limits := func(c *Config) *zaqar.Limits { return &c.Limits }
	ks := func(c *Config) *Keystone { return &c.Keystone }
	return []Option{
		strOpt("DEFAULT", "auth_strategy", "", "Authentication: empty for none (X-Project-ID is trusted), or keystone (tokens validated against [keystone_authtoken]).",
			func(c *Config) *string { return &c.AuthStrategy }),
		boolOpt("DEFAULT", "admin_mode", "false", "Serve the admin API (pools, flavors, /v2/health) to callers with the admin role.",
			func(c *Config) *bool { return &c.AdminMode }),
		boolOpt("DEFAULT", "pooling", "false", "Spread queues over the pools of the catalog kept in [drivers] management_store.",
			func(c *Config) *bool { return &c.Pooling }),
		boolOpt("DEFAULT", "enable_checksum", "false", "Store an MD5 checksum with each message and return it.",
			func(c *Config) *bool { return &c.EnableChecksum }),
		boolOpt("DEFAULT", "debug", "false", "Log at debug level.",
			func(c *Config) *bool { return &c.Debug }),
		strOpt("DEFAULT", "log_file", "", "Log file (oslo.log): with log_dir, the file log_dir/log_file; alone, this path. Reopened when moved (logrotate) and on SIGHUP. Unset with log_dir unset: standard output.",
			func(c *Config) *string { return &c.Log.File }),
		strOpt("DEFAULT", "log_dir", "", "Directory of the log file (oslo.log); alone, the file is log_dir/zaqar-server.log. The directory must exist.",
			func(c *Config) *string { return &c.Log.Dir }),
		boolOpt("DEFAULT", "use_json", "false", "Log one JSON object a line instead of key=value text.",
			func(c *Config) *bool { return &c.Log.JSON }),
		boolOpt("DEFAULT", "use_stderr", "false", "Also log to standard error (only there when no log file is set).",
			func(c *Config) *bool { return &c.Log.UseStderr }),

		{Section: "drivers", Name: "transport", Type: "string", Default: "wsgi",
			Help:  "Zaqar runs one transport per process; zaqar-server always serves both, REST on [drivers:transport:wsgi] and WebSocket on [drivers:transport:websocket], so wsgi and websocket are both accepted and mean the same.",
			apply: func(c *Config, v string) error { c.Transport = v; return nil }},
		strOpt("drivers", "message_store", "embedded", "Message store driver: embedded (one durable file), memory (lost on exit), redis or mongodb. Zaqar's default is mongodb.",
			func(c *Config) *string { return &c.MessageStore }),
		strOpt("drivers", "management_store", "embedded", "With pooling, the store of the pool and flavor catalog: embedded, memory or redis, configured by [drivers:management_store:<driver>] over [drivers:message_store:<driver>].",
			func(c *Config) *string { return &c.ManagementStore }),

		strOpt("drivers:transport:wsgi", "bind", "127.0.0.1", "Address of the REST API listener.",
			func(c *Config) *string { return &c.WSGI.Bind }),
		portOpt("drivers:transport:wsgi", "port", "8888", "Port of the REST API listener; 0 picks a free one.",
			func(c *Config) *int { return &c.WSGI.Port }),
		secondsOpt("drivers:transport:wsgi", "request_body_timeout", "60", "Time limit to receive a REST request body, in seconds; past it the answer is 408 and the connection is closed. 0: no limit (zaqar-server's).",
			func(c *Config) *time.Duration { return &c.RequestBodyTimeout }),

		boolOpt("drivers:transport:websocket", "enabled", "true", "Serve the WebSocket API and its notification listener (zaqar-server only; Zaqar runs a separate process).",
			func(c *Config) *bool { return &c.WebSocket.Enabled }),
		strOpt("drivers:transport:websocket", "bind", "127.0.0.1", "Address of the WebSocket API listener.",
			func(c *Config) *string { return &c.WebSocket.Bind }),
		portOpt("drivers:transport:websocket", "port", "9000", "Port of the WebSocket API listener; 0 picks a free one.",
			func(c *Config) *int { return &c.WebSocket.Port }),
		portOpt("drivers:transport:websocket", "external_port", "", "Port clients reach when a proxy sits in front; only changes the URL the server advertises.",
			func(c *Config) *int { return &c.WebSocket.ExternalPort }),
		strOpt("drivers:transport:websocket", "notification_bind", "127.0.0.1", "Address of the listener receiving the webhook deliveries of connection-bound subscriptions, and the host in their subscriber URLs (the hostname when unspecified, e.g. 0.0.0.0). API nodes sharing a store need an address the others reach.",
			func(c *Config) *string { return &c.WebSocket.NotificationBind }),
		portOpt("drivers:transport:websocket", "notification_port", "0", "Port of that notification listener; 0 picks a free one.",
			func(c *Config) *int { return &c.WebSocket.NotificationPort }),

		storeOpt("embedded", "path", "string", filepath.Join("data", "zaqar.db"), "File of the embedded store (created with its directory)."),
		storeOpt("redis", "uri", "string", "redis://127.0.0.1:6379", "Redis URI: redis://[:password@]host[:port][/db], rediss://, unix://, redis+sentinel:// or redis+cluster://."),
		storeOpt("mongodb", "uri", "string", "", "MongoDB URI (required with message_store = mongodb); TLS goes here (tls=true&tlsCAFile=...)."),
		storeOpt("mongodb", "database", "string", "zaqar", "Database name."),
		storeOpt("mongodb", "partitions", "integer", "2", "Number of message collections queues are hashed over; changing it hides the messages of every queue that moves."),
		storeOpt("mongodb", "max_attempts", "integer", "1000", "Attempts of a post that keeps losing its markers to other posters."),
		storeOpt("mongodb", "max_retry_sleep", "floating point", "0.1", "Longest sleep between those attempts, in seconds."),
		storeOpt("mongodb", "max_retry_jitter", "floating point", "0.005", "Random extra sleep between those attempts, at most this many seconds."),
		storeOpt("mongodb", "gc_interval", "floating point", "", "Seconds between sweeps of expired messages and claims (zaqar-server's; default 5)."),
		mgmtOpt("embedded", "path", "File of the catalog's embedded store; defaults to [drivers:message_store:embedded] path."),
		mgmtOpt("redis", "uri", "Redis URI of the catalog; defaults to [drivers:message_store:redis] uri."),

		secondsOpt("transport", "default_message_ttl", "3600", "TTL of a message posted without one, in seconds.",
			func(c *Config) *time.Duration { return &limits(c).DefaultMessageTTL }),
		secondsOpt("transport", "default_message_delay", "0", "Delay of a message posted to a queue without _default_message_delay, in seconds.",
			func(c *Config) *time.Duration { return &limits(c).DefaultMessageDelay }),
		secondsOpt("transport", "default_claim_ttl", "300", "TTL of a claim made without one, in seconds.",
			func(c *Config) *time.Duration { return &limits(c).DefaultClaimTTL }),
		secondsOpt("transport", "default_claim_grace", "60", "Grace of a claim made without one, in seconds.",
			func(c *Config) *time.Duration { return &limits(c).DefaultClaimGrace }),
		secondsOpt("transport", "default_subscription_ttl", "3600", "TTL of a subscription made without one, in seconds.",
			func(c *Config) *time.Duration { return &limits(c).DefaultSubscriptionTTL }),
		intOpt("transport", "max_queues_per_page", "20", "Largest limit of a queue listing.",
			func(c *Config) *int { return &limits(c).MaxQueuesPerPage }),
		intOpt("transport", "max_messages_per_page", "20", "Largest limit of a message listing or post.",
			func(c *Config) *int { return &limits(c).MaxMessagesPerPage }),
		intOpt("transport", "max_subscriptions_per_page", "20", "Largest limit of a subscription listing.",
			func(c *Config) *int { return &limits(c).MaxSubscriptionsPerPage }),
		intOpt("transport", "max_messages_per_claim_or_pop", "20", "Most messages one claim or pop takes.",
			func(c *Config) *int { return &limits(c).MaxMessagesPerClaimOrPop }),
		bytesOpt("transport", "max_queue_metadata", "65536", "Largest queue metadata document, in bytes.",
			func(c *Config) *int64 { return &limits(c).MaxQueueMetadata }),
		bytesOpt("transport", "max_messages_post_size", "262144", "Largest message post body, in bytes.",
			func(c *Config) *int64 { return &limits(c).MaxMessagesPostSize }),
		secondsOpt("transport", "max_message_ttl", "1209600", "Largest message TTL, in seconds.",
			func(c *Config) *time.Duration { return &limits(c).MaxMessageTTL }),
		secondsOpt("transport", "max_message_delay", "900", "Largest message delay, in seconds.",
			func(c *Config) *time.Duration { return &limits(c).MaxMessageDelay }),
		secondsOpt("transport", "max_claim_ttl", "43200", "Largest claim TTL, in seconds.",
			func(c *Config) *time.Duration { return &limits(c).MaxClaimTTL }),
		secondsOpt("transport", "max_claim_grace", "43200", "Largest claim grace, in seconds.",
			func(c *Config) *time.Duration { return &limits(c).MaxClaimGrace }),
		secondsOpt("transport", "max_wait", "20", "Longest wait=S a claim or message listing may ask for, in seconds (long polling, a zaqar-server extension); longer waits are shortened to it. 0 disables waiting: wait is then accepted and ignored.",
			func(c *Config) *time.Duration { return &limits(c).MaxWait }),
		intOpt("transport", "max_waiters", "10000", "Most requests waiting (wait=S) at once on this node; past it a request answers at once, as without wait.",
			func(c *Config) *int { return &limits(c).MaxWaiters }),
		intOpt("transport", "max_waiters_per_project", "1000", "Most requests of one project waiting (wait=S) at once on this node; past it a request answers at once, as without wait.",
			func(c *Config) *int { return &limits(c).MaxWaitersPerProject }),
		listOpt("transport", "subscriber_types", "http,https,mailto,trust+http,trust+https", "Subscriber URI schemes a subscription may use.",
			func(c *Config) *[]string { return &limits(c).SubscriberTypes }),
		intOpt("transport", "max_flavors_per_page", "20", "Largest limit of a flavor listing.",
			func(c *Config) *int { return &limits(c).MaxFlavorsPerPage }),
		intOpt("transport", "max_pools_per_page", "20", "Largest limit of a pool listing.",
			func(c *Config) *int { return &limits(c).MaxPoolsPerPage }),
		strOpt("transport", "client_id_uuid_safe", "strict", "strict: Client-ID must be a UUID; off: any string of min_length_client_id to max_length_client_id characters.",
			func(c *Config) *string { return &limits(c).ClientIDUUIDSafe }),
		intOpt("transport", "min_length_client_id", "10", "Shortest Client-ID when client_id_uuid_safe = off.",
			func(c *Config) *int { return &limits(c).MinLengthClientID }),
		intOpt("transport", "max_length_client_id", "36", "Longest Client-ID when client_id_uuid_safe = off.",
			func(c *Config) *int { return &limits(c).MaxLengthClientID }),
		boolOpt("transport", "message_delete_with_claim_id", "false", "Deleting a message (or several by id) requires its claim id.",
			func(c *Config) *bool { return &limits(c).MessageDeleteWithClaimID }),
		strOpt("transport", "message_encryption_algorithms", "AES256", "Algorithm of queues with _enable_encrypt_messages; only AES256.",
			func(c *Config) *string { return &c.EncryptionAlgorithm }),
		strOpt("transport", "message_encryption_key", "AES256", "Key of encrypted queues (any string; its SHA-256 is the AES key). Change it only with message_encryption_previous_keys.",
			func(c *Config) *string { return &c.EncryptionKey }),
		listOpt("transport", "message_encryption_previous_keys", "", "Earlier message_encryption_key values, still tried on read, so the key can be rotated (zaqar-server's).",
			func(c *Config) *[]string { return &c.EncryptionPreviousKeys }),

		{Section: "storage", Name: "message_pipeline", Type: "list",
			Help: "Zaqar's message pipeline. zaqar-server always notifies subscribers, which is what zaqar.notification.notifier adds; any other stage is reported as ignored.",
			apply: func(c *Config, v string) error {
				c.MessagePipeline = splitList(v)
				for _, s := range c.MessagePipeline {
					if s != "zaqar.notification.notifier" {
						return errIgnored
					}
				}
				return nil
			}},

		strOpt("signed_url", "secret_key", "", "Key signing pre-signed URLs; empty disables them.",
			func(c *Config) *string { return &c.SignedURLKey }),

		boolOpt("notification", "require_confirmation", "false", "New webhook and mailto subscriptions deliver nothing until confirmed.",
			func(c *Config) *bool { return &c.Notification.RequireConfirmation }),
		strOpt("notification", "external_confirmation_url", "", "Page the confirmation mail links to (it receives the signed confirmation request).",
			func(c *Config) *string { return &c.Notification.ExternalConfirmationURL }),
		intOpt("notification", "max_notifier_workers", "10", "Concurrent notification deliveries.",
			func(c *Config) *int { return &c.Notification.MaxWorkers }),
		strOpt("notification", "smtp_mode", "third_part", "How mail goes out: third_part (smtp_command) or self_local (smtp_host).",
			func(c *Config) *string { return &c.Notification.SMTPMode }),
		strOpt("notification", "smtp_host", "", "SMTP server, with smtp_mode = self_local.",
			func(c *Config) *string { return &c.Notification.SMTPHost }),
		intOpt("notification", "smtp_port", "", "SMTP port, with smtp_mode = self_local.",
			func(c *Config) *int { return &c.Notification.SMTPPort }),
		strOpt("notification", "smtp_user_name", "", "SMTP user, with smtp_mode = self_local.",
			func(c *Config) *string { return &c.Notification.SMTPUser }),
		strOpt("notification", "smtp_user_password", "", "SMTP password, with smtp_mode = self_local.",
			func(c *Config) *string { return &c.Notification.SMTPPassword }),
		strOpt("notification", "smtp_command", "/usr/sbin/sendmail -t -oi", "Command fed each mail on its standard input, with smtp_mode = third_part.",
			func(c *Config) *string { return &c.Notification.SMTPCommand }),
		strOpt("notification", "smtp_tls", "ssl", "TLS to the SMTP server: ssl (Zaqar's behaviour), starttls or none (zaqar-server's).",
			func(c *Config) *string { return &c.Notification.SMTPTLS }),
		dictOpt("notification", "subscription_confirmation_email_template", "", "Mail asking to confirm a subscription: topic, body ({0} queue, {1} project, {2} link) and sender, as topic:...,body:...,sender:...; empty for Zaqar's text.",
			func(c *Config) *map[string]string { return &c.Notification.SubscribeTemplate }),
		dictOpt("notification", "unsubscribe_confirmation_email_template", "", "Mail confirming an unsubscription, the same way.",
			func(c *Config) *map[string]string { return &c.Notification.UnsubscribeTemplate }),
		boolOpt("notification", "block_internal_webhooks", "true", "Refuse webhook targets in webhook_denied_networks for non-admin callers (zaqar-server's).",
			func(c *Config) *bool { return &c.Notification.BlockInternalWebhooks }),
		listOpt("notification", "webhook_denied_networks", strings.Join(DefaultDeniedNetworks, ","), "CIDR networks non-admin webhooks may not connect to while block_internal_webhooks is on; add private ranges (10.0.0.0/8, fc00::/7, ...) here (zaqar-server's).",
			func(c *Config) *[]string { return &c.Notification.WebhookDeniedNetworks }),
		secondsOpt("notification", "webhook_timeout", "10", "Time limit of one webhook delivery, in seconds (zaqar-server's).",
			func(c *Config) *time.Duration { return &c.Notification.WebhookTimeout }),

		boolOpt("pooling:catalog", "enable_virtual_pool", "false", "With pooling, queues in no pool live in the message store.",
			func(c *Config) *bool { return &c.VirtualPool }),

		strOpt("keystone_authtoken", "auth_url", "", "Keystone URL of the service user (required with auth_strategy = keystone).",
			func(c *Config) *string { return &ks(c).AuthURL }),
		strOpt("keystone_authtoken", "www_authenticate_uri", "", "Keystone URL named in the WWW-Authenticate header of 401 answers; defaults to auth_url.",
			func(c *Config) *string { return &ks(c).WWWAuthenticateURI }),
		strOpt("keystone_authtoken", "auth_uri", "", "Deprecated name of www_authenticate_uri.",
			func(c *Config) *string { return &ks(c).WWWAuthenticateURI }),
		strOpt("keystone_authtoken", "auth_type", "", "Authentication plugin of the service user: password (or empty).",
			func(c *Config) *string { return &ks(c).AuthType }),
		strOpt("keystone_authtoken", "auth_plugin", "", "Deprecated name of auth_type.",
			func(c *Config) *string { return &ks(c).AuthType }),
		strOpt("keystone_authtoken", "username", "", "Service user name.",
			func(c *Config) *string { return &ks(c).Username }),
		strOpt("keystone_authtoken", "user_id", "", "Service user id (instead of username).",
			func(c *Config) *string { return &ks(c).UserID }),
		strOpt("keystone_authtoken", "password", "", "Service user password.",
			func(c *Config) *string { return &ks(c).Password }),
		strOpt("keystone_authtoken", "user_domain_name", "", "Domain name of the service user.",
			func(c *Config) *string { return &ks(c).UserDomainName }),
		strOpt("keystone_authtoken", "user_domain_id", "", "Domain id of the service user.",
			func(c *Config) *string { return &ks(c).UserDomainID }),
		strOpt("keystone_authtoken", "project_name", "", "Project of the service user.",
			func(c *Config) *string { return &ks(c).ProjectName }),
		strOpt("keystone_authtoken", "project_id", "", "Project id of the service user.",
			func(c *Config) *string { return &ks(c).ProjectID }),
		strOpt("keystone_authtoken", "project_domain_name", "", "Domain name of that project.",
			func(c *Config) *string { return &ks(c).ProjectDomainName }),
		strOpt("keystone_authtoken", "project_domain_id", "", "Domain id of that project.",
			func(c *Config) *string { return &ks(c).ProjectDomainID }),
		strOpt("keystone_authtoken", "region_name", "", "Region of the catalog endpoints used.",
			func(c *Config) *string { return &ks(c).RegionName }),
		secondsOpt("keystone_authtoken", "token_cache_time", "300", "How long a validated token is cached in process, in seconds.",
			func(c *Config) *time.Duration { return &ks(c).TokenCacheTime }),
		secondsOpt("keystone_authtoken", "http_connect_timeout", "", "Time limit of a request to Keystone, in seconds (default 10).",
			func(c *Config) *time.Duration { return &ks(c).Timeout }),
		strOpt("keystone_authtoken", "memcached_servers", "", "Accepted; tokens are cached in process, and start-up says so when this is set.",
			func(c *Config) *string { return &ks(c).MemcachedServers }),

		{Section: "oslo_policy", Name: "policy_file", Type: "string",
			Help:  "Policy rules overriding the defaults (YAML or JSON), relative to the first configuration file's directory; a missing file means the defaults.",
			apply: func(c *Config, v string) error { c.PolicyFile = v; return nil }},

		listOpt("cors", "allowed_origin", "", "Origins (scheme://host[:port], or *) whose pages may call the REST API, and the only ones allowed to open WebSocket connections from a browser; empty: CORS off and any origin may open a WebSocket, as in Zaqar.",
			func(c *Config) *[]string { return &c.CORS.AllowedOrigins }),
		boolOpt("cors", "allow_credentials", "true", "Tell browsers the actual request may carry user credentials.",
			func(c *Config) *bool { return &c.CORS.AllowCredentials }),
		listOpt("cors", "expose_headers", "X-Auth-Token,X-Subject-Token,X-Service-Token,X-OpenStack-Request-ID", "Response headers a page may read (Zaqar's defaults).",
			func(c *Config) *[]string { return &c.CORS.ExposeHeaders }),
		intOpt("cors", "max_age", "3600", "How long, in seconds, browsers may cache a preflight answer; 0 sends none.",
			func(c *Config) *int { return &c.CORS.MaxAge }),
		listOpt("cors", "allow_methods", "GET,PUT,POST,DELETE,PATCH,HEAD", "Methods a page may use (Zaqar's defaults).",
			func(c *Config) *[]string { return &c.CORS.AllowMethods }),
		listOpt("cors", "allow_headers", "X-Auth-Token,X-Identity-Status,X-Roles,X-Service-Catalog,X-User-Id,X-Tenant-Id,X-OpenStack-Request-ID,X-Trace-Info,X-Trace-HMAC,Client-id",
			"Request headers a page may send besides Accept, Accept-Language, Content-Type, Cache-Control, Content-Language, Expires, Last-Modified and Pragma (Zaqar's defaults; add X-Project-ID for pages that name their project without Keystone).",
			func(c *Config) *[]string { return &c.CORS.AllowHeaders }),

		boolOpt("metrics", "enabled", "false", "Serve Prometheus metrics at /metrics on a listener of their own (zaqar-server's).",
			func(c *Config) *bool { return &c.Metrics.Enabled }),
		strOpt("metrics", "bind", "127.0.0.1", "Address of the metrics listener.",
			func(c *Config) *string { return &c.Metrics.Bind }),
		portOpt("metrics", "port", "9464", "Port of the metrics listener.",
			func(c *Config) *int { return &c.Metrics.Port }),
	}
}

func strOpt(section, name, def, help string, dst func(*Config) *string) Option {
	return Option{section, name, "string", def, help, func(c *Config, v string) error { *dst(c) = v; return nil }}
}

func boolOpt(section, name, def, help string, dst func(*Config) *bool) Option {
	return Option{section, name, "boolean", def, help, func(c *Config, v string) error {
		b, err := parseBool(v)
		*dst(c) = b
		return err
	}}
}

func intOpt(section, name, def, help string, dst func(*Config) *int) Option {
	return Option{section, name, "integer", def, help, func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		*dst(c) = n
		return nil
	}}
}

// portOpt is an integer the sample calls a port, as oslo.config's PortOpt.
func portOpt(section, name, def, help string, dst func(*Config) *int) Option {
	o := intOpt(section, name, def, help, dst)
	o.Type = "port"
	return o
}

func bytesOpt(section, name, def, help string, dst func(*Config) *int64) Option {
	return Option{section, name, "integer", def, help, func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		*dst(c) = n
		return nil
	}}
}

func secondsOpt(section, name, def, help string, dst func(*Config) *time.Duration) Option {
	return Option{section, name, "integer", def, help, func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer number of seconds: %q", v)
		}
		*dst(c) = time.Duration(n) * time.Second
		return nil
	}}
}

func listOpt(section, name, def, help string, dst func(*Config) *[]string) Option {
	return Option{section, name, "list", def, help, func(c *Config, v string) error { *dst(c) = splitList(v); return nil }}
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// dictOpt reads an oslo.config DictOpt: "key:value,key:value".
func dictOpt(section, name, def, help string, dst func(*Config) *map[string]string) Option {
	return Option{section, name, "dict", def, help, func(c *Config, v string) error {
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
	}}
}

// storeOpt is an option of [drivers:message_store:<driver>]; its value is
// kept as text in Config.Stores and read by the driver's opener.
func storeOpt(driver, name, typ, def, help string) Option {
	return Option{"drivers:message_store:" + driver, name, typ, def, help, func(c *Config, v string) error {
		if c.Stores[driver] == nil {
			c.Stores[driver] = map[string]string{}
		}
		c.Stores[driver][name] = v
		return nil
	}}
}

// mgmtOpt is an option of [drivers:management_store:<driver>]: set, it
// overrides the message store section's value for the catalog's store.
func mgmtOpt(driver, name, help string) Option {
	return Option{"drivers:management_store:" + driver, name, "string", "", help, func(c *Config, v string) error {
		if c.ManagementStores[driver] == nil {
			c.ManagementStores[driver] = map[string]string{}
		}
		c.ManagementStores[driver][name] = v
		return nil
	}}
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
