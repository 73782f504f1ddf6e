package config

import (
	"strings"
	"testing"
)

func TestWebhookDeniedNetworks(t *testing.T) {
	def, err := Default().Notification.DeniedNetworks()
	if err != nil || len(def) != len(DefaultDeniedNetworks) {
		t.Fatalf("default denied networks = %v, %v", def, err)
	}
	c, err := Load(writeConf(t, "[notification]\nwebhook_denied_networks = 127.0.0.0/8, 10.0.0.0/8,fc00::/7\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := c.Notification.DeniedNetworks()
	if len(got) != 3 || got[1].String() != "10.0.0.0/8" || got[2].String() != "fc00::/7" {
		t.Errorf("denied networks = %v", got)
	}
	c, err = Load(writeConf(t, "[notification]\nblock_internal_webhooks = false\nwebhook_denied_networks = 10.0.0.0/8\n"))
	if got, _ := c.Notification.DeniedNetworks(); err != nil || got != nil {
		t.Errorf("with block_internal_webhooks off: %v, %v; want no check", got, err)
	}
	_, err = Load(writeConf(t, "[notification]\nwebhook_denied_networks = 10.0.0.0/8, 192.168.0.1\n"))
	if err == nil || !strings.Contains(err.Error(), `webhook_denied_networks`) || !strings.Contains(err.Error(), `"192.168.0.1"`) {
		t.Errorf("a bare address: %v, want an error naming the option and value", err)
	}
}
