package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConf(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "zaqar.conf")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultIsRunnable(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if c.WSGI.Addr() != "127.0.0.1:8888" || c.MessageStore != "embedded" {
		t.Errorf("Default() = %+v", c)
	}
}

func TestLoad(t *testing.T) {
	p := writeConf(t, `
[DEFAULT]
auth_strategy =
debug = True
log_file = /var/log/zaqar/zaqar.log

[drivers]
transport = wsgi
message_store = memory
management_store = memory

[drivers:transport:wsgi]
bind = 0.0.0.0
port = 8889

[transport]
max_messages_per_page = 5
default_message_ttl = 120
subscriber_types = http, https

[drivers:message_store:redis]
uri = redis://127.0.0.1:6379/0

[keystone_authtoken]
auth_url = http://keystone
`)
	c, err := Load(p)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if !c.Debug || c.MessageStore != "memory" || c.WSGI.Addr() != "0.0.0.0:8889" {
		t.Errorf("Load = %+v", c)
	}
	if c.Limits.MaxMessagesPerPage != 5 || c.Limits.DefaultMessageTTL != 120*time.Second {
		t.Errorf("limits = %+v", c.Limits)
	}
	if got := strings.Join(c.Limits.SubscriberTypes, ","); got != "http,https" {
		t.Errorf("subscriber_types = %q", got)
	}
	if c.Stores["redis"]["uri"] != "redis://127.0.0.1:6379/0" {
		t.Errorf("redis uri = %q", c.Stores["redis"]["uri"])
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string // substrings of the error
	}{
		{"typo in owned section", "[transport]\nmax_mesages_per_page = 5\n", []string{"zaqar.conf", "[transport]", `"max_mesages_per_page"`}},
		{"typo in DEFAULT", "[DEFAULT]\nauth_stratgy = keystone\n", []string{"[DEFAULT]", `"auth_stratgy"`}},
		{"typo in store section", "[drivers:message_store:redis]\nurl = x\n", []string{"[drivers:message_store:redis]", `"url"`}},
		{"bad int", "[drivers:transport:wsgi]\nport = eighty\n", []string{`"port"`, "not an integer"}},
		{"bad bool", "[DEFAULT]\ndebug = sure\n", []string{`"debug"`, "boolean"}},
		{"unknown driver", "[drivers]\nmessage_store = cassandra\n", []string{`"message_store"`, "cassandra"}},
		{"bad limit", "[transport]\nmax_messages_per_page = 0\n", []string{`"max_messages_per_page"`}},
		{"bad uuid mode", "[transport]\nclient_id_uuid_safe = loose\n", []string{`"client_id_uuid_safe"`}},
		{"typo in metrics", "[metrics]\nenable = true\n", []string{"[metrics]", `"enable"`}},
		{"bad metrics port", "[metrics]\nport = 70000\n", []string{"[metrics]", `"port"`, "out of range"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConf(t, tc.body))
			if err == nil {
				t.Fatalf("Load(%q) succeeded, want error", tc.body)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.conf")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

// TestDocSamples keeps every zaqar.conf sample of the README and docs/
// loadable and free of options that would have no effect. systemd unit
// snippets, also marked ini, are left out.
func TestDocSamples(t *testing.T) {
	files, err := filepath.Glob("../../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	samples := 0
	for _, file := range append(files, "../../../README.md") {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rest := string(b)
		for {
			var sample string
			var ok bool
			if _, rest, ok = strings.Cut(rest, "```ini\n"); !ok {
				break
			}
			if sample, rest, ok = strings.Cut(rest, "```"); !ok {
				t.Fatalf("%s: an ini block is not closed", file)
			}
			if strings.Contains(sample, "[Service]") || strings.Contains(sample, "[Unit]") {
				continue
			}
			samples++
			first, _, _ := strings.Cut(sample, "\n")
			c, err := Load(writeConf(t, sample))
			if err != nil {
				t.Errorf("%s: the sample starting %q: %v", filepath.Base(file), first, err)
				continue
			}
			if len(c.Ignored) > 0 {
				t.Errorf("%s: the sample starting %q sets options with no effect: %v", filepath.Base(file), first, c.Ignored)
			}
		}
	}
	if samples < 5 {
		t.Errorf("found %d zaqar.conf samples in the README and docs/, want at least 5", samples)
	}
}

func TestInlineHashIsPartOfValue(t *testing.T) {
	c, err := Load(writeConf(t, "[signed_url]\nsecret_key = abc # def\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SignedURLKey != "abc # def" {
		t.Errorf("secret_key = %q, want oslo.config's literal value", c.SignedURLKey)
	}
}

func TestMetricsSection(t *testing.T) {
	if m := Default().Metrics; m.Enabled || m.Addr() != "127.0.0.1:9464" {
		t.Errorf("default [metrics] = %+v, want off on 127.0.0.1:9464", m)
	}
	c, err := Load(writeConf(t, "[metrics]\nenabled = true\nbind = 0.0.0.0\nport = 9100\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Metrics.Enabled || c.Metrics.Addr() != "0.0.0.0:9100" {
		t.Errorf("[metrics] = %+v", c.Metrics)
	}
}
