package app

import (
	"log/slog"
	"net"
	"path/filepath"

	"github.com/zaqar-go/suite/internal/version"
	"github.com/zaqar-go/suite/zaqar-server/internal/config"
)

// logStartup writes the one line an operator reads first: this build, what
// listens where, which stores, which authentication and where data lives.
func logStartup(log *slog.Logger, cfg config.Config, api net.Addr, ws *webSocket, metricsAddr string) {
	v := version.Get()
	auth := cfg.AuthStrategy
	if auth == "" {
		auth = "none"
	}
	if metricsAddr == "" {
		metricsAddr = "off"
	}
	attrs := []any{"version", v.Version, "commit", v.Commit, "api", api.String()}
	if ws != nil {
		attrs = append(attrs, "websocket", ws.apiLn.Addr().String(), "websocket_notifications", ws.notifyLn.Addr().String())
	} else {
		attrs = append(attrs, "websocket", "off")
	}
	attrs = append(attrs, "metrics", metricsAddr, "message_store", cfg.MessageStore)
	if cfg.Pooling {
		attrs = append(attrs, "pooling", true, "management_store", cfg.ManagementStore)
	}
	attrs = append(attrs, "auth_strategy", auth)
	if path := dataPath(cfg); path != "" {
		attrs = append(attrs, "data", path)
	}
	log.Info("zaqar-server started", attrs...)
}

// dataPath is the embedded store's file, absolute, when a store is
// embedded; "" otherwise.
func dataPath(cfg config.Config) string {
	if cfg.MessageStore != "embedded" && !(cfg.Pooling && cfg.ManagementStore == "embedded") {
		return ""
	}
	path := cfg.Stores["embedded"]["path"]
	if path == "" {
		path = filepath.Join("data", "zaqar.db")
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
