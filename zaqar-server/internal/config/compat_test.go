package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// TestUpstreamDevstackLines loads what Zaqar's own devstack plugin writes
// (openstack/zaqar devstack/plugin.sh, Redis backend without the SQL
// catalog): options Zaqar defines but we do not implement, and one
// (database under redis) that no driver defines, are ignored, not fatal.
func TestUpstreamDevstackLines(t *testing.T) {
	c, err := Load(writeConf(t, `
[DEFAULT]
debug = True
unreliable = True
admin_mode = True
[signed_url]
secret_key = notreallysecret
[storage]
message_pipeline = zaqar.notification.notifier
[drivers:transport:websocket]
bind = 127.0.0.1
port = 9000
[drivers]
transport = websocket
message_store = redis
[drivers:message_store:redis]
uri = redis://localhost:6379
database = zaqar
[trustee]
auth_type = password
auth_url = http://127.0.0.1/identity
username = zaqar
password = secret
user_domain_id = default
[keystone_authtoken]
memcached_servers = localhost:11211
cafile = /opt/stack/data/ca-bundle.pem
project_domain_name = Default
auth_type = password
`))
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if c.MessageStore != "redis" || c.StoreOption("uri") != "redis://localhost:6379" || c.Transport != "websocket" || !c.AdminMode {
		t.Errorf("Load = %+v", c)
	}
	want := []string{"DEFAULT.unreliable", "drivers:message_store:redis.database", "keystone_authtoken.cafile",
		"trustee.auth_type", "trustee.auth_url", "trustee.password", "trustee.user_domain_id", "trustee.username"}
	if !slices.Equal(c.Ignored, want) {
		t.Errorf("Ignored = %v, want %v", c.Ignored, want)
	}
}

func TestIgnoredAndUnknown(t *testing.T) {
	c, err := Load(writeConf(t, `
[DEFAULT]
log_config_append = /etc/zaqar/logging.conf
transport_url = rabbit://
[cache]
backend = dogpile.cache.memcached
[oslo_messaging_notifications]
driver = messagingv2
[drivers:management_store:sqlalchemy]
uri = mysql://zaqar@localhost/zaqar
[drivers:message_store:swift]
auth_url = http://keystone/v3
[storage]
message_pipeline = zaqar.notification.notifier, my.pipeline.stage
[no_such_section]
anything = at all
`))
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	want := []string{"DEFAULT.log_config_append", "DEFAULT.transport_url", "[no_such_section]", "cache.backend",
		"drivers:management_store:sqlalchemy.uri", "drivers:message_store:swift.auth_url",
		"oslo_messaging_notifications.driver", "storage.message_pipeline"}
	if !slices.Equal(c.Ignored, want) {
		t.Errorf("Ignored = %v, want %v", c.Ignored, want)
	}
	if c, err := Load(writeConf(t, "[storage]\nmessage_pipeline = zaqar.notification.notifier\n")); err != nil || len(c.Ignored) > 0 {
		t.Errorf("the notifier stage alone: Ignored = %v, err = %v", c.Ignored, err)
	}

	for _, tc := range []struct{ conf, want string }{
		{"[transport]\nmax_mesages_per_page = 5\n", `unknown option "max_mesages_per_page" (did you mean "max_messages_per_page"?)`},
		{"[drivers:message_store:redis]\nurl = x\n", `unknown option "url" (did you mean "uri"?)`},
		{"[DEFAULT]\nlog_fle = x\n", `(did you mean "log_file"?)`},
		{"[cache]\nbackend_arguments = x\n", `(did you mean "backend_argument"?)`},
		{"[keystone_authtoken]\nusernme = x\n", `(did you mean "username"?)`},
		{"[DEFAULT]\ncompletely_made_up = 1\n", `[DEFAULT]: unknown option "completely_made_up"`},
	} {
		_, err := Load(writeConf(t, tc.conf))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q) = %v, want an error with %q", tc.conf, err, tc.want)
		}
	}
	if _, err := Load(writeConf(t, "[DEFAULT]\ncompletely_made_up = 1\n")); err != nil && strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a name near nothing gets a hint: %v", err)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"uri", "url", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"debug", "debug", 0}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestManagementConfig(t *testing.T) {
	c, err := Load(writeConf(t, `
[DEFAULT]
pooling = true
[drivers]
message_store = redis
management_store = redis
[drivers:message_store:redis]
uri = redis://127.0.0.1:6379/1
[drivers:management_store:redis]
uri = redis://127.0.0.1:6379/2
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ManagementConfig().StoreOption("uri"); got != "redis://127.0.0.1:6379/2" {
		t.Errorf("catalog uri = %q", got)
	}
	if got := c.StoreOption("uri"); got != "redis://127.0.0.1:6379/1" {
		t.Errorf("message store uri = %q", got)
	}
	// Without a management section the catalog reads the message store's.
	c, err = Load(writeConf(t, "[drivers]\nmanagement_store = redis\n[drivers:message_store:redis]\nuri = redis://h/3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ManagementConfig().StoreOption("uri"); got != "redis://h/3" {
		t.Errorf("catalog uri = %q", got)
	}
}

func TestOptionTable(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range Options() {
		key := o.Section + "." + normalize(o.Name)
		if seen[key] {
			t.Errorf("%s twice in the table", key)
		}
		seen[key] = true
		if o.Help == "" || o.Type == "" || o.apply == nil {
			t.Errorf("%s lacks help, type or apply", key)
		}
		c := Default()
		if o.Default != "" {
			if err := o.apply(&c, o.Default); err != nil {
				t.Errorf("%s: default %q: %v", key, o.Default, err)
			}
		}
	}
	// The limits' defaults are written twice: as the table's text and as
	// zaqar.DefaultLimits, which the service's own tests use.
	if got, want := Default().Limits, zaqar.DefaultLimits(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default().Limits = %+v, want zaqar.DefaultLimits() %+v", got, want)
	}
}
