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
	"sync"
	"time"

	"github.com/zaqar-go/suite/keystone"
	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/metrics"
	"github.com/zaqar-go/suite/zaqar-server/internal/notify"
	"github.com/zaqar-go/suite/zaqar-server/internal/policy"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/embedded"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/redis"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
)

// OpenStore opens the message store the configuration names, or with
// [DEFAULT] pooling the pooled store (see openPooled).
func OpenStore(ctx context.Context, cfg config.Config) (storage.Store, error) {
	return openStore(ctx, cfg, nil)
}

// wrapStore, when not nil, wraps every store that holds messages (the
// message store, each pool) as it is opened: metrics count their failures.
type wrapStore func(driver string, st storage.Store) storage.Store

func openStore(ctx context.Context, cfg config.Config, wrap wrapStore) (storage.Store, error) {
	if cfg.Pooling {
		return openPooled(ctx, cfg, wrap)
	}
	st, err := openDriver(ctx, cfg)
	if err != nil || wrap == nil {
		return st, err
	}
	return wrap(cfg.MessageStore, st), nil
}

// openDriver opens [drivers] message_store.
func openDriver(ctx context.Context, cfg config.Config) (storage.Store, error) {
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
	case "mongodb":
		return openMongo(ctx, cfg)
	}
	return nil, fmt.Errorf("[drivers] message_store: unsupported driver %q", cfg.MessageStore)
}

// trustTokens hands out trust-scoped tokens for trust+http(s)
// notifications, reusing each until a minute before it expires.
type trustTokens struct {
	v      *keystone.Validator
	mu     sync.Mutex
	tokens map[string]cachedToken
}

type cachedToken struct {
	token   string
	expires time.Time
}

func (t *trustTokens) get(ctx context.Context, trustID string) (string, error) {
	t.mu.Lock()
	tok, ok := t.tokens[trustID]
	t.mu.Unlock()
	if ok && time.Until(tok.expires) > time.Minute {
		return tok.token, nil
	}
	token, expires, err := t.v.TrustToken(ctx, trustID)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	if len(t.tokens) > 10000 {
		t.tokens = map[string]cachedToken{}
	}
	t.tokens[trustID] = cachedToken{token: token, expires: expires}
	t.mu.Unlock()
	return token, nil
}

// Notifier builds the subscriber notifier from [notification]; validator
// (nil without Keystone) makes trust+http(s) subscribers work.
// observe, when not nil, hears each delivery's outcome (metrics).
func Notifier(cfg config.Config, store storage.Store, validator *keystone.Validator, log *slog.Logger, observe func(kind string, o notify.Outcome)) *notify.Notifier {
	var trustToken func(context.Context, string) (string, error)
	if validator != nil {
		trustToken = (&trustTokens{v: validator, tokens: map[string]cachedToken{}}).get
	}
	n := cfg.Notification
	tpl := func(m map[string]string) notify.Template {
		return notify.Template{Topic: m["topic"], Body: m["body"], Sender: m["sender"]}
	}
	deny, _ := n.DeniedNetworks() // checked by config.Validate
	return notify.New(store, notify.Options{
		Logger: log, Workers: n.MaxWorkers, RequireConfirmation: n.RequireConfirmation,
		SignedURLKey: cfg.SignedURLKey, DefaultSubscriptionTTL: cfg.Limits.DefaultSubscriptionTTL,
		Timeout: n.WebhookTimeout, DeniedNetworks: deny, TrustToken: trustToken, Observe: observe,
		Mail: notify.MailOptions{Mode: n.SMTPMode, Command: n.SMTPCommand, Host: n.SMTPHost, Port: n.SMTPPort,
			User: n.SMTPUser, Password: n.SMTPPassword, TLS: n.SMTPTLS,
			ExternalConfirmationURL: n.ExternalConfirmationURL,
			Subscribe:               tpl(n.SubscribeTemplate), Unsubscribe: tpl(n.UnsubscribeTemplate)},
	})
}

// Keystone returns the token validator for auth_strategy = keystone, nil
// without authentication.
func Keystone(ctx context.Context, cfg config.Config, log *slog.Logger) (*keystone.Validator, error) {
	if cfg.AuthStrategy != "keystone" {
		return nil, nil
	}
	k := cfg.Keystone
	if k.MemcachedServers != "" {
		log.Info("[keystone_authtoken] memcached_servers is ignored: tokens are cached in process")
	}
	ttl := k.TokenCacheTime
	return keystone.New(ctx, keystone.Config{
		AuthURL: k.AuthURL, WWWAuthenticateURI: k.WWWAuthenticateURI,
		Username: k.Username, Password: k.Password,
		UserDomainName: k.UserDomainName, UserDomainID: k.UserDomainID,
		ProjectName: k.ProjectName, ProjectID: k.ProjectID,
		ProjectDomainName: k.ProjectDomainName, ProjectDomainID: k.ProjectDomainID,
		RegionName: k.RegionName, CacheTTL: ttl, Timeout: k.Timeout,
		Logger: log.With("component", "keystone"),
	})
}

// Service builds the one service layer both transports use; notifier and
// validator may be nil.
func Service(cfg config.Config, store storage.Store, notifier *notify.Notifier, validator *keystone.Validator, log *slog.Logger) (*service.Service, error) {
	pol, err := policy.Load(cfg.PolicyFile)
	if err != nil {
		return nil, err
	}
	so := service.Options{Limits: cfg.Limits, Checksum: cfg.EnableChecksum,
		EncryptionKey: cfg.EncryptionKey, PreviousKeys: cfg.EncryptionPreviousKeys,
		SignedURLKey: cfg.SignedURLKey, Notifier: notifier, Logger: log, Policy: pol}
	if validator != nil {
		so.CreateTrust = func(ctx context.Context, sc service.Scope, expires time.Time) (string, error) {
			trustor := keystone.Identity{UserID: sc.UserID, ProjectID: sc.Project, Roles: sc.Roles}
			return validator.CreateTrust(ctx, sc.Token, trustor, nil, expires)
		}
	}
	return service.New(store, so), nil
}

// Handler builds the HTTP API over store; notifier and validator may be nil.
func Handler(cfg config.Config, store storage.Store, notifier *notify.Notifier, validator *keystone.Validator, log *slog.Logger) (http.Handler, error) {
	svc, err := Service(cfg, store, notifier, validator, log)
	if err != nil {
		return nil, err
	}
	return restHandler(cfg, svc, validator, nil, log)
}

// restHandler builds the HTTP API; m (nil without [metrics]) records its
// requests.
func restHandler(cfg config.Config, svc *service.Service, validator *keystone.Validator, m *metrics.Metrics, log *slog.Logger) (http.Handler, error) {
	c := cfg.CORS
	opts := rest.Options{Logger: log, AdminMode: cfg.AdminMode, Pooling: cfg.Pooling, BodyTimeout: cfg.RequestBodyTimeout,
		CORS: &rest.CORS{AllowedOrigins: c.AllowedOrigins, AllowCredentials: c.AllowCredentials, ExposeHeaders: c.ExposeHeaders,
			MaxAge: c.MaxAge, AllowMethods: c.AllowMethods, AllowHeaders: c.AllowHeaders}}
	if m != nil {
		opts.Observe = m.Route
		opts.ConnClosed = m.ConnClosed
	}
	if validator != nil {
		opts.Authenticate = keystone.Middleware(validator, keystone.MiddlewareOptions{ContextOnly: true})
		opts.Identity = func(ctx context.Context) (string, string, []string, bool) {
			id, ok := keystone.IdentityFrom(ctx)
			return id.ProjectID, id.UserID, id.Roles, ok
		}
	}
	return rest.New(svc, opts), nil
}

// Run serves the API until ctx is done: the HTTP API and, on its own
// listener, the WebSocket API (Zaqar runs one transport per process; we
// serve both from one). ready, when not nil, receives the HTTP address
// actually bound (useful with port 0).
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, ready func(addr string)) error {
	var m *metrics.Metrics
	var wrap wrapStore
	var observe func(string, notify.Outcome)
	if cfg.Metrics.Enabled {
		m = metrics.New(metrics.Options{Logger: log.With("component", "metrics")})
		wrap, observe = m.Store, m.Notification
	}
	store, err := openStore(ctx, cfg, wrap)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing store", "err", err)
		}
	}()
	validator, err := Keystone(ctx, cfg, log)
	if err != nil {
		return err
	}
	notifier := Notifier(cfg, store, validator, log, observe)
	svc, err := Service(cfg, store, notifier, validator, log)
	if err != nil {
		return err
	}
	handler, err := restHandler(cfg, svc, validator, m, log)
	if err != nil {
		return err
	}
	if m != nil {
		m.Watch(store)
		m.Waits(func() metrics.WaitStats {
			w := svc.WaitStats()
			return metrics.WaitStats{Waiting: w.Waiting, Woken: w.Woken, TimedOut: w.TimedOut, Refused: w.Refused, Rechecks: w.Rechecks}
		})
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
	metricsSrv, err := serveMetrics(cfg, m, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer metricsSrv.Close()
	sockets, err := listenWebSocket(cfg, svc, validator, log)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	logStartup(log, cfg, ln.Addr(), sockets, metricsSrv.Addr)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	wsErrc := sockets.serve()
	select {
	case err := <-errc:
		sockets.shutdown(context.WithoutCancel(ctx))
		return err
	case err := <-wsErrc:
		srv.Close()
		sockets.shutdown(context.WithoutCancel(ctx))
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	// Long polls answer now, as at their deadline, rather than hold the
	// shutdown for up to max_wait.
	svc.ReleaseWaiters()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	wsDone := make(chan error, 1)
	go func() { wsDone <- sockets.shutdown(sctx) }()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-wsDone; err != nil {
		return fmt.Errorf("websocket shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
