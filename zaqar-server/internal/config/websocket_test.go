package config

import (
	"strings"
	"testing"
)

func TestWebSocketOptions(t *testing.T) {
	c := Default()
	if c.WebSocket.Addr() != "127.0.0.1:9000" || c.WebSocket.NotificationBind != "127.0.0.1" || c.WebSocket.NotificationPort != 0 {
		t.Errorf("Default().WebSocket = %+v", c.WebSocket)
	}
	c, err := Load(writeConf(t, `
[drivers:transport:websocket]
bind = 0.0.0.0
port = 9001
external-port = 443
notification-bind = 10.0.0.5
notification-port = 9100
`))
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	want := WebSocket{Enabled: true, Listen: Listen{Bind: "0.0.0.0", Port: 9001}, ExternalPort: 443, NotificationBind: "10.0.0.5", NotificationPort: 9100}
	if c.WebSocket != want {
		t.Errorf("WebSocket = %+v, want %+v", c.WebSocket, want)
	}
	// oslo.config reads a dash in an option name as an underscore; Zaqar
	// 15's sample writes the underscore forms.
	c, err = Load(writeConf(t, "[drivers:transport:websocket]\nexternal_port = 443\nnotification_bind = 10.0.0.5\nnotification_port = 9100\n"))
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if w := c.WebSocket; w.ExternalPort != 443 || w.NotificationBind != "10.0.0.5" || w.NotificationPort != 9100 {
		t.Errorf("underscore names: WebSocket = %+v", w)
	}
	for _, key := range []string{"port", "external-port", "notification_port"} {
		_, err := Load(writeConf(t, "[drivers:transport:websocket]\n"+key+" = 70000\n"))
		if err == nil || !strings.Contains(err.Error(), normalize(key)) {
			t.Errorf("%s = 70000: Load = %v", key, err)
		}
	}
	c, err = Load(writeConf(t, "[drivers:transport:websocket]\nenabled = false\n"))
	if err != nil || c.WebSocket.Enabled {
		t.Errorf("enabled = false: Load = %+v, %v", c.WebSocket, err)
	}
}

func TestSetListeners(t *testing.T) {
	unset := ListenerFlags{Port: -1, WSPort: -1}
	withWSBind, err := Load(writeConf(t, "[drivers:transport:websocket]\nbind = 10.0.0.7\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		cfg        Config
		flags      ListenerFlags
		rest, sock string
	}{
		{"none", Default(), unset, "127.0.0.1:8888", "127.0.0.1:9000"},
		{"--bind moves both", Default(), ListenerFlags{Bind: "0.0.0.0", Port: -1, WSPort: -1}, "0.0.0.0:8888", "0.0.0.0:9000"},
		{"--bind, WebSocket bind in the file", withWSBind, ListenerFlags{Bind: "0.0.0.0", Port: -1, WSPort: -1}, "0.0.0.0:8888", "10.0.0.7:9000"},
		{"--bind and --ws-bind", Default(), ListenerFlags{Bind: "0.0.0.0", WSBind: "127.0.0.2", Port: -1, WSPort: -1}, "0.0.0.0:8888", "127.0.0.2:9000"},
		{"--ws-bind alone", Default(), ListenerFlags{WSBind: "0.0.0.0", Port: -1, WSPort: -1}, "127.0.0.1:8888", "0.0.0.0:9000"},
		{"ports", Default(), ListenerFlags{Port: 0, WSPort: 9100}, "127.0.0.1:0", "127.0.0.1:9100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			if err := c.SetListeners(tc.flags); err != nil {
				t.Fatal(err)
			}
			if c.WSGI.Addr() != tc.rest || c.WebSocket.Addr() != tc.sock {
				t.Errorf("REST %s, WebSocket %s; want %s, %s", c.WSGI.Addr(), c.WebSocket.Addr(), tc.rest, tc.sock)
			}
		})
	}
	c := Default()
	if err := c.SetListeners(ListenerFlags{Port: 70000, WSPort: -1}); err == nil || !strings.Contains(err.Error(), `"port"`) {
		t.Errorf("--port 70000: %v", err)
	}
}
