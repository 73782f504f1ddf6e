package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/metrics"
)

// serveMetrics serves /metrics on [metrics] bind and port, a listener of
// its own: the API listener never exposes them, and a firewall or a
// loopback bind keeps them from clients. It returns a server whose Close
// is safe to call when metrics are off (m nil).
func serveMetrics(cfg config.Config, m *metrics.Metrics, log *slog.Logger) (*http.Server, error) {
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if m == nil {
		return srv, nil
	}
	ln, err := net.Listen("tcp", cfg.Metrics.Addr())
	if err != nil {
		return nil, fmt.Errorf("[metrics] bind, port: %w", err)
	}
	srv.Handler, srv.Addr = m.Handler(), ln.Addr().String()
	log.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener failed", "err", err)
		}
	}()
	return srv, nil
}
