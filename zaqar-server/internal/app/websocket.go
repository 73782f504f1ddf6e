package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/zaqar-go/suite/keystone"
	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/ws"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// webSocket is the WebSocket transport of Run: the API on
// [drivers:transport:websocket] bind and port, and the internal listener
// (notification-bind, notification-port) that receives the webhook POSTs
// of connection-bound subscriptions and hands them to the sockets.
type webSocket struct {
	server   *ws.Server
	api      *http.Server
	apiLn    net.Listener
	notify   *http.Server
	notifyLn net.Listener
}

// listenWebSocket returns nil, serving nothing, when [drivers:transport:websocket]
// enabled is false.
func listenWebSocket(cfg config.Config, svc *service.Service, validator *keystone.Validator, log *slog.Logger) (*webSocket, error) {
	wc := cfg.WebSocket
	if !wc.Enabled {
		log.Info("websocket disabled: [drivers:transport:websocket] enabled = false")
		return nil, nil
	}
	nln, err := net.Listen("tcp", net.JoinHostPort(wc.NotificationBind, strconv.Itoa(wc.NotificationPort)))
	if err != nil {
		return nil, fmt.Errorf("[drivers:transport:websocket] notification-bind, notification-port: %w", err)
	}
	// Subscriber URLs name the listener's address, or the hostname when
	// it listens everywhere, as Zaqar does (websocket/driver.py).
	host := advertisedHost(wc.NotificationBind)
	notificationURL := "http://" + net.JoinHostPort(host, strconv.Itoa(nln.Addr().(*net.TCPAddr).Port)) + "/"
	wlog := log.With("transport", "websocket")
	server := ws.New(svc, ws.Options{Logger: wlog, Authenticate: authenticator(validator), NotificationURL: notificationURL,
		AllowedOrigins: cfg.CORS.AllowedOrigins})
	ln, err := net.Listen("tcp", net.JoinHostPort(wc.Bind, strconv.Itoa(wc.Port)))
	if err != nil {
		nln.Close()
		return nil, fmt.Errorf("[drivers:transport:websocket] bind, port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if wc.ExternalPort > 0 {
		port = wc.ExternalPort
	}
	errorLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	w := &webSocket{
		server:   server,
		api:      &http.Server{Handler: server, ReadHeaderTimeout: 30 * time.Second, ErrorLog: errorLog},
		apiLn:    ln,
		notify:   &http.Server{Handler: server.Notifications(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, ErrorLog: errorLog},
		notifyLn: nln,
	}
	wlog.Info("websocket listening", "addr", ln.Addr().String(),
		"url", "ws://"+net.JoinHostPort(advertisedHost(wc.Bind), strconv.Itoa(port))+"/",
		"notification_listener", nln.Addr().String())
	return w, nil
}

// advertisedHost is bind, or the hostname when bind means every address.
func advertisedHost(bind string) string {
	if ip := net.ParseIP(bind); bind != "" && (ip == nil || !ip.IsUnspecified()) {
		return bind
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return bind
}

// serve serves both listeners; the channel reports a listener failing
// (never, on a nil w: a disabled transport).
func (w *webSocket) serve() <-chan error {
	errc := make(chan error, 2)
	if w == nil {
		return errc
	}
	for _, s := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{w.api, w.apiLn}, {w.notify, w.notifyLn}} {
		go func() {
			if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	return errc
}

// shutdown stops accepting sockets, closes the open ones with 1001 (their
// subscriptions are deleted), then stops the notification listener.
func (w *webSocket) shutdown(ctx context.Context) error {
	if w == nil {
		return nil
	}
	return errors.Join(w.api.Shutdown(ctx), w.server.Shutdown(ctx), w.notify.Shutdown(ctx))
}

// authenticator adapts Keystone token validation to the WebSocket
// authenticate action; nil without Keystone.
func authenticator(v *keystone.Validator) func(context.Context, string) (ws.Identity, error) {
	if v == nil {
		return nil
	}
	return func(ctx context.Context, token string) (ws.Identity, error) {
		id, err := v.Validate(ctx, token)
		if errors.Is(err, keystone.ErrUnavailable) {
			return ws.Identity{}, zaqar.Unavailablef(err, "Keystone could not validate the token.")
		}
		if err != nil {
			return ws.Identity{}, err // 401
		}
		return ws.Identity{ProjectID: id.ProjectID, UserID: id.UserID, Roles: id.Roles, ExpiresAt: id.ExpiresAt}, nil
	}
}
