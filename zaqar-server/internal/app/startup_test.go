package app

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/logging"
)

// TestStartupLine: the line names every listener, the store, the
// authentication and the data file.
func TestStartupLine(t *testing.T) {
	cfg := config.Default()
	cfg.WSGI.Port, cfg.WebSocket.Port = 0, 0
	data := filepath.Join(t.TempDir(), "zaqar.db")
	cfg.Stores["embedded"] = map[string]string{"path": data}
	var out testenv.SyncBuffer
	l, err := logging.New(logging.Options{JSON: true}, "zaqar-server", &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var api string
	if err := Run(ctx, cfg, l.Logger, func(a string) { api = a; cancel() }); err != nil {
		t.Fatal(err)
	}
	l.Close()
	var started map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if m["msg"] == "zaqar-server started" {
			started = m
		}
	}
	if started == nil {
		t.Fatalf("no start-up line in:\n%s", out.String())
	}
	for k, v := range map[string]any{"api": api, "message_store": "embedded", "auth_strategy": "none", "data": data, "metrics": "off"} {
		if started[k] != v {
			t.Errorf("start-up line %s = %v, want %v", k, started[k], v)
		}
	}
	for _, k := range []string{"websocket", "websocket_notifications", "version", "commit"} {
		if s, _ := started[k].(string); s == "" {
			t.Errorf("start-up line has no %s: %v", k, started)
		}
	}
}
