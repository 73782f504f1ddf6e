package ws

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Identity is what a valid token says about its bearer.
type Identity struct {
	ProjectID string
	UserID    string
	Roles     []string
	ExpiresAt time.Time // the connection is closed then; zero never
}

// Options configure a Server; zero values take the defaults in brackets.
type Options struct {
	Logger *slog.Logger
	// Authenticate, when set, turns authentication on: it validates a
	// token sent with the authenticate action. A *zaqar.Error result gives
	// its status (503 when Keystone is down), any other error 401.
	Authenticate func(ctx context.Context, token string) (Identity, error)
	// NotificationURL is the base URL of the internal notification listener
	// serving Notifications, ending in "/"; empty disables
	// connection-bound subscriptions.
	NotificationURL string
	SendQueue       int           // frames queued per connection [64]
	ReadLimit       int64         // largest frame read [max post or metadata size + 64 KiB]
	PingInterval    time.Duration // [30 s]
	PingTimeout     time.Duration // [20 s]
	WriteTimeout    time.Duration // per frame [10 s]
	AuthTimeout     time.Duration // per token validation [30 s]
	// AllowedOrigins ([cors] allowed_origin: scheme://host[:port], or "*")
	// are the pages that may open connections from a browser; empty: any.
	// Clients that send no Origin, and pages of the server's own host,
	// always may.
	AllowedOrigins []string
}

// envelopeAllowance is room in a frame for the envelope around the
// largest document [transport] limits allow.
const envelopeAllowance = 64 << 10

// Server serves WebSocket connections; it is an http.Handler.
type Server struct {
	svc  *service.Service
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	conns   map[string]*conn
	closing bool
	wg      sync.WaitGroup

	slow     atomic.Int64 // connections closed for falling behind
	failures transport.ErrorLog
	accept   websocket.AcceptOptions
}

// acceptOptions lets any origin connect unless origins are listed, as
// Zaqar (autobahn's default) does: credentials travel inside the protocol
// (the authenticate action), never in cookies, so a foreign page gains
// nothing from an authenticated user's browser. An operator who lists the
// origins of [cors] limits browsers to them, sockets as REST.
func acceptOptions(origins []string) websocket.AcceptOptions {
	o := websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled, InsecureSkipVerify: len(origins) == 0}
	for _, origin := range origins {
		if origin == "*" {
			o.InsecureSkipVerify = true
			continue
		}
		// coder/websocket matches the Origin's host[:port]; a listed
		// origin that is not a URL matches nothing.
		if u, err := url.Parse(origin); err == nil && u.Host != "" {
			o.OriginPatterns = append(o.OriginPatterns, u.Host)
		}
	}
	return o
}

// New returns a Server over svc.
func New(svc *service.Service, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SendQueue <= 0 {
		opts.SendQueue = 64
	}
	if opts.ReadLimit <= 0 {
		l := svc.Limits()
		opts.ReadLimit = max(l.MaxMessagesPostSize, l.MaxQueueMetadata) + envelopeAllowance
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 30 * time.Second
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = 20 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.AuthTimeout <= 0 {
		opts.AuthTimeout = 30 * time.Second
	}
	return &Server{svc: svc, opts: opts, log: opts.Logger, conns: map[string]*conn{},
		accept: acceptOptions(opts.AllowedOrigins)}
}

// frame is one outgoing WebSocket message.
type frame struct {
	typ  websocket.MessageType
	data []byte
}

// conn is one client connection.
type conn struct {
	id  string
	s   *Server
	ws  *websocket.Conn
	out chan frame
	// done closes when the connection is being torn down.
	done     chan struct{}
	killOnce sync.Once

	notifyBinary atomic.Bool // notifications as MessagePack

	// For the close line: the last request's project; requests is
	// the read loop's only.
	project  atomic.Pointer[string]
	requests int

	// waitCtx is the context of long polls (see handle), cancelled when
	// the connection goes; waits counts those running.
	waitCtx   context.Context
	stopWaits context.CancelFunc
	waits     sync.WaitGroup

	mu       sync.Mutex
	identity *Identity // nil until authenticated
	token    string    // the identity's token
	expiry   *time.Timer
	subs     []subscription // connection-bound subscriptions to delete on close
}

type subscription struct {
	q  zaqar.QueueRef
	id string
}

// ServeHTTP upgrades the request and serves the connection until it ends.
// Any path is accepted, as Zaqar's server ignores it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	// Compression costs memory per connection: off.
	ws, err := websocket.Accept(w, r, &s.accept)
	if err != nil {
		s.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	ws.SetReadLimit(s.opts.ReadLimit)
	// Requests run under a context that outlives a close, so an action in
	// flight completes; shutting down waits for it. Long polls end with
	// the connection (waitCtx).
	ctx := context.WithoutCancel(r.Context())
	c := &conn{id: uuid.NewString(), s: s, ws: ws, out: make(chan frame, s.opts.SendQueue), done: make(chan struct{})}
	c.waitCtx, c.stopWaits = context.WithCancel(ctx)
	defer c.stopWaits()
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ws.Close(websocket.StatusGoingAway, "Server shutting down.")
		return
	}
	s.conns[c.id] = c
	s.mu.Unlock()
	opened := time.Now()
	s.log.Info("websocket connection open", "conn", c.id, "remote", r.RemoteAddr)

	writerDone := make(chan struct{})
	go func() { c.writeLoop(ctx); close(writerDone) }()
	err = c.readLoop(ctx)
	c.kill(websocket.StatusNormalClosure, "")
	<-writerDone
	c.waits.Wait()

	s.mu.Lock()
	delete(s.conns, c.id)
	s.mu.Unlock()
	c.cleanup(ctx)
	s.log.Info("websocket connection closed", "conn", c.id, "remote", r.RemoteAddr, "project", c.projectName(),
		"requests", c.requests, "duration", time.Since(opened).Seconds(), "status", websocket.CloseStatus(err), "err", err)
}

// readLoop reads and answers requests in order until the connection ends.
func (c *conn) readLoop(ctx context.Context) error {
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return err
		}
		select {
		case <-c.done: // closing: later requests are not run
			return errors.New("connection closed")
		default:
		}
		binary := typ == websocket.MessageBinary
		out := c.handle(ctx, data, binary)
		if out == nil {
			continue
		}
		select {
		case c.out <- frame{typ: typ, data: out}:
		case <-c.done:
			return errors.New("connection closed")
		}
	}
}

// writeLoop writes queued frames and pings until the connection ends.
func (c *conn) writeLoop(ctx context.Context) {
	tick := time.NewTicker(c.s.opts.PingInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case f := <-c.out:
			wctx, cancel := context.WithTimeout(ctx, c.s.opts.WriteTimeout)
			err := c.ws.Write(wctx, f.typ, f.data)
			cancel()
			if err != nil {
				// coder/websocket closes the connection when a write fails or
				// times out; make sure the reader stops too.
				c.kill(websocket.StatusPolicyViolation, "Write timed out: client too slow.")
				return
			}
		case <-tick.C:
			go c.ping(ctx)
		}
	}
}

func (c *conn) ping(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, c.s.opts.PingTimeout)
	defer cancel()
	if err := c.ws.Ping(pctx); err != nil {
		select {
		case <-c.done:
		default:
			c.s.log.Info("websocket peer did not answer a ping: closing", "conn", c.id)
			c.killNow()
		}
	}
}

// notify queues a notification without waiting: a connection too far
// behind is closed instead. It reports whether the frame was queued.
func (c *conn) notify(f frame) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.out <- f:
		return true
	default:
	}
	n := c.s.slow.Add(1)
	c.s.log.Warn("websocket client too slow: send queue full, disconnecting",
		"conn", c.id, "queued", len(c.out), "slow_disconnects_total", n)
	c.kill(websocket.StatusPolicyViolation, "Send queue full: client too slow.")
	return false
}

// kill starts closing the connection with code and reason; the close
// handshake runs in the background (it may wait for a slow peer).
func (c *conn) kill(code websocket.StatusCode, reason string) {
	c.killOnce.Do(func() {
		close(c.done)
		if c.stopWaits != nil {
			c.stopWaits()
		}
		go c.ws.Close(code, reason)
	})
}

// killNow drops the connection without a close handshake (dead peer).
func (c *conn) killNow() {
	c.killOnce.Do(func() {
		close(c.done)
		if c.stopWaits != nil {
			c.stopWaits()
		}
		c.ws.CloseNow()
	})
}

func (c *conn) projectName() string {
	if p := c.project.Load(); p != nil {
		return *p
	}
	return ""
}

// cleanup deletes the connection's subscriptions and stops its timer.
func (c *conn) cleanup(ctx context.Context) {
	c.mu.Lock()
	subs := c.subs
	c.subs = nil
	if c.expiry != nil {
		c.expiry.Stop()
	}
	c.mu.Unlock()
	for _, sub := range subs {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := c.s.svc.DeleteSubscription(dctx, sub.q, sub.id); err != nil {
			c.s.log.Error("connection subscription not deleted; it lasts until its TTL",
				"conn", c.id, "project", sub.q.Project, "queue", sub.q.Name, "subscription", sub.id, "err", err)
		}
		cancel()
	}
}

// Shutdown closes every connection with 1001 "Server shutting down.",
// letting requests in flight finish, and waits until their subscriptions
// are deleted or ctx ends. New connections are refused from the start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for _, c := range s.conns {
		c.kill(websocket.StatusGoingAway, "Server shutting down.")
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SlowDisconnects returns how many connections were closed for falling
// behind since the server started.
func (s *Server) SlowDisconnects() int64 { return s.slow.Load() }

func (s *Server) lookup(id string) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[id]
}
