// Package app wires the server together: it opens the configured store,
// builds the service and the transports, serves until the context ends and
// then shuts down gracefully (in-flight requests finish, the store closes).
// It is the only package that knows the concrete storage drivers.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/notify"
	"github.com/zaqar-go/suite/zaqar-server/internal/policy"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/embedded"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/redis"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
)

// OpenStore opens the message store the configuration names.
func OpenStore(ctx context.Context, cfg config.Config) (storage.Store, error) {
	switch cfg.MessageStore {
	case "memory":
		return memory.New(), nil
	case "embedded":
		path := cfg.StoreOption("path")
		if path == "" {
			path = filepath.Join("data", "zaqar.db")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("embedded store: %w", err)
		}
		return embedded.Open(ctx, path)
	case "redis":
		uri := cfg.StoreOption("uri")
		if uri == "" {
			uri = "redis://127.0.0.1:6379" // Zaqar's default (zaqar/conf/drivers_message_store_redis.py)
		}
		s, err := redis.Open(ctx, uri)
		if err != nil {
			return nil, fmt.Errorf("[drivers:message_store:redis] uri: %w", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("[drivers] message_store: unsupported driver %q", cfg.MessageStore)
}

// Notifier builds the subscriber notifier from [notification].
func Notifier(cfg config.Config, store storage.Store, log *slog.Logger) *notify.Notifier {
	n := cfg.Notification
	tpl := func(m map[string]string) notify.Template {
		return notify.Template{Topic: m["topic"], Body: m["body"], Sender: m["sender"]}
	}
	return notify.New(store, notify.Options{
		Logger: log, Workers: n.MaxWorkers, RequireConfirmation: n.RequireConfirmation,
		SignedURLKey: cfg.SignedURLKey, DefaultSubscriptionTTL: cfg.Limits.DefaultSubscriptionTTL,
		Timeout: n.WebhookTimeout, BlockInternal: n.BlockInternalWebhooks,
		Mail: notify.MailOptions{Mode: n.SMTPMode, Command: n.SMTPCommand, Host: n.SMTPHost, Port: n.SMTPPort,
			User: n.SMTPUser, Password: n.SMTPPassword, TLS: n.SMTPTLS,
			ExternalConfirmationURL: n.ExternalConfirmationURL,
			Subscribe:               tpl(n.SubscribeTemplate), Unsubscribe: tpl(n.UnsubscribeTemplate)},
	})
}

// Handler builds the HTTP API over store; notifier may be nil.
func Handler(cfg config.Config, store storage.Store, notifier *notify.Notifier, log *slog.Logger) (http.Handler, error) {
	pol, err := policy.Load(cfg.PolicyFile)
	if err != nil {
		return nil, err
	}
	svc := service.New(store, service.Options{Limits: cfg.Limits, Checksum: cfg.EnableChecksum,
		SignedURLKey: cfg.SignedURLKey, Notifier: notifier, Logger: log})
	return rest.New(svc, rest.Options{Logger: log, AdminMode: cfg.AdminMode, Policy: pol}), nil
}

// Run serves the API until ctx is done. ready, when not nil, receives the
// address actually bound (useful with port 0).
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, ready func(addr string)) error {
	store, err := OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing store", "err", err)
		}
	}()
	notifier := Notifier(cfg, store, log)
	handler, err := Handler(cfg, store, notifier, log)
	if err != nil {
		return err
	}
	// Deliveries stop only after the HTTP server has drained, so every
	// accepted post has its notifications queued first.
	nctx, stopNotifier := context.WithCancel(context.WithoutCancel(ctx))
	notifierDone := make(chan struct{})
	go func() { notifier.Run(nctx); close(notifierDone) }()
	defer func() { stopNotifier(); <-notifierDone }()
	ln, err := net.Listen("tcp", cfg.WSGI.Addr())
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("zaqar-server listening", "addr", ln.Addr().String(), "message_store", cfg.MessageStore)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
