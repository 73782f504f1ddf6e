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
	want := WebSocket{Listen: Listen{Bind: "0.0.0.0", Port: 9001}, ExternalPort: 443, NotificationBind: "10.0.0.5", NotificationPort: 9100}
	if c.WebSocket != want {
		t.Errorf("WebSocket = %+v, want %+v", c.WebSocket, want)
	}
	for _, key := range []string{"port", "external-port", "notification-port"} {
		_, err := Load(writeConf(t, "[drivers:transport:websocket]\n"+key+" = 70000\n"))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s = 70000: Load = %v", key, err)
		}
	}
}
