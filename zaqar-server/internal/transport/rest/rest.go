// Package rest serves Zaqar's v2 HTTP API with chi. Handlers only decode the
// request, call the service and encode the answer; every error goes through
// transport.Describe. Hrefs, Location headers and pagination links are
// relative paths, exactly as Zaqar builds them.
package rest

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Options configure the HTTP API.
type Options struct {
	Logger    *slog.Logger
	AdminMode bool
	// Pooling serves the pools and flavors API (with AdminMode, as Zaqar).
	Pooling bool
	// Authenticate, when set, guards every request except GET / and those a
	// valid pre-signed URL authorises (keystone auth_token middleware). It
	// must leave the caller's project, user and roles in the X-Project-Id,
	// X-User-Id and X-Roles headers, or where Identity finds them.
	Authenticate func(http.Handler) http.Handler
	// Identity, when set, is asked first for the caller's project, user and
	// roles (an authenticated request's, from its context); when it reports
	// none, they come from the headers. It lets Authenticate leave them in
	// the context alone.
	Identity func(ctx context.Context) (project, user string, roles []string, ok bool)
	// Observe, when set, is asked once per route (its pattern, such as
	// /v2/queues/{queue}, and method; "unmatched" for requests that match
	// none) for a function that is then called after every request to
	// that route with its status and duration: metrics.
	Observe func(route, method string) func(code int, elapsed time.Duration)
	// BodyTimeout bounds the time to read a request body (408 past it);
	// 0 leaves it unbounded. See bodyGuard.
	BodyTimeout time.Duration
	// CORS, when it names allowed origins, lets their pages call the API.
	CORS *CORS
	// ConnClosed, when set, is told each time a connection is closed
	// because of its request body (ClosedBodyTimeout, ClosedUnreadBody):
	// metrics.
	ConnClosed func(reason string)
}

type handler struct {
	svc    *service.Service
	limits zaqar.Limits
	log    *slog.Logger
	admin  bool
	pools  bool
	auth   func(http.Handler) http.Handler
	ident  func(ctx context.Context) (project, user string, roles []string, ok bool)
	routes *routeTable // with Options.Observe
	// failures keeps a storage outage from flooding the log (5xx lines).
	failures    *transport.ErrorLog
	bodyTimeout time.Duration
	connClosed  func(reason string)
}

// New returns the HTTP handler of the v2 API.
func New(svc *service.Service, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{svc: svc, limits: svc.Limits(), log: log, admin: opts.AdminMode, pools: opts.AdminMode && opts.Pooling, auth: opts.Authenticate, ident: opts.Identity, failures: &transport.ErrorLog{},
		bodyTimeout: opts.BodyTimeout, connClosed: opts.ConnClosed}
	r := chi.NewRouter()
	r.Use(h.access, corsHandler(opts.CORS), h.bodyGuard, h.recoverer, h.presigned, h.authenticate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, errNoRoute)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		// chi drops its Allow header when the handler is ours; Falcon sends one.
		var allowed []string
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
			if r.Match(chi.NewRouteContext(), m, req.URL.Path) {
				allowed = append(allowed, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		h.fail(w, req, errNoMethod)
	})
	r.Get("/", h.versions)
	// Probes for load balancers and orchestrators, outside Zaqar's API.
	r.Get("/healthz/live", h.live)
	r.Get("/healthz/ready", h.ready)
	r.Group(func(r chi.Router) {
		// Zaqar's hooks run only for matched routes, in this order
		// (zaqar/transport/wsgi/driver.py before hooks).
		r.Use(h.nonURLEncoded, h.acceptsJSON, h.scope)
		r.Get("/v2", h.home)
		r.Get("/v2/", h.home)
		r.With(h.allow(service.PingNode)).Get("/v2/ping", h.ping)
		r.With(h.allow(service.PingNode)).Head("/v2/ping", h.pingHead)
		r.With(h.allow(service.CheckNodeHealth)).Get("/v2/health", h.health)
		r.With(h.allow(service.QueueList)).Get("/v2/queues", h.listQueues)
		if h.pools {
			h.poolRoutes(r)
		}
		// Flat routes (no subrouter) so the 405 handler can match every method.
		r.Group(func(r chi.Router) {
			r.Use(h.queueName)
			r.With(h.allow(service.QueueCreate)).Put("/v2/queues/{queue}", h.createQueue)
			r.With(h.allow(service.QueueGet)).Get("/v2/queues/{queue}", h.getQueue)
			r.With(h.allow(service.QueueUpdate)).Patch("/v2/queues/{queue}", h.patchQueue)
			r.With(h.allow(service.QueueDelete)).Delete("/v2/queues/{queue}", h.deleteQueue)
			r.With(h.allow(service.QueueGetStats)).Get("/v2/queues/{queue}/stats", h.queueStats)
			r.With(h.allow(service.QueuePurge)).Post("/v2/queues/{queue}/purge", h.purgeQueue)
			r.With(h.allow(service.QueueShare)).Post("/v2/queues/{queue}/share", h.shareQueue)
			r.With(h.allow(service.MessagePost)).Post("/v2/queues/{queue}/messages", h.postMessages)
			r.With(h.allow(service.MessageList)).Get("/v2/queues/{queue}/messages", h.listMessages)
			r.With(h.allow(service.MessageDeleteMany)).Delete("/v2/queues/{queue}/messages", h.deleteMessages)
			r.With(h.allow(service.MessageGet)).Get("/v2/queues/{queue}/messages/{message}", h.getMessage)
			r.With(h.allow(service.MessageDelete)).Delete("/v2/queues/{queue}/messages/{message}", h.deleteMessage)
			r.With(h.allow(service.ClaimCreate)).Post("/v2/queues/{queue}/claims", h.createClaim)
			r.With(h.allow(service.ClaimGet)).Get("/v2/queues/{queue}/claims/{claim}", h.getClaim)
			r.With(h.allow(service.ClaimUpdate)).Patch("/v2/queues/{queue}/claims/{claim}", h.updateClaim)
			r.With(h.allow(service.ClaimDelete)).Delete("/v2/queues/{queue}/claims/{claim}", h.deleteClaim)
			r.With(h.allow(service.SubscriptionList)).Get("/v2/queues/{queue}/subscriptions", h.listSubscriptions)
			r.With(h.allow(service.SubscriptionCreate)).Post("/v2/queues/{queue}/subscriptions", h.createSubscription)
			r.With(h.allow(service.SubscriptionGet)).Get("/v2/queues/{queue}/subscriptions/{subscription}", h.getSubscription)
			r.With(h.allow(service.SubscriptionUpdate)).Patch("/v2/queues/{queue}/subscriptions/{subscription}", h.updateSubscription)
			r.With(h.allow(service.SubscriptionDelete)).Delete("/v2/queues/{queue}/subscriptions/{subscription}", h.deleteSubscription)
			r.With(h.allow(service.SubscriptionConfirm)).Put("/v2/queues/{queue}/subscriptions/{subscription}/confirm", h.confirmSubscription)
		})
		// Topics reuse the queue handlers; topicScope makes queueOf name the
		// topic namespace (Zaqar's own topic message routes answer 500).
		r.With(h.topicScope, h.allow(service.TopicList)).Get("/v2/topics", h.listQueues)
		r.Group(func(r chi.Router) {
			r.Use(h.topicScope, h.queueName)
			r.With(h.allow(service.TopicCreate)).Put("/v2/topics/{queue}", h.createQueue)
			r.With(h.allow(service.TopicGet)).Get("/v2/topics/{queue}", h.getQueue)
			r.With(h.allow(service.TopicUpdate)).Patch("/v2/topics/{queue}", h.patchQueue)
			r.With(h.allow(service.TopicDelete)).Delete("/v2/topics/{queue}", h.deleteQueue)
			r.With(h.allow(service.TopicGetStats)).Get("/v2/topics/{queue}/stats", h.queueStats)
			r.With(h.allow(service.TopicPurge)).Post("/v2/topics/{queue}/purge", h.purgeQueue)
			r.With(h.allow(service.MessagePost)).Post("/v2/topics/{queue}/messages", h.postMessages)
			r.With(h.allow(service.MessageList)).Get("/v2/topics/{queue}/messages", h.listMessages)
			r.With(h.allow(service.MessageDeleteMany)).Delete("/v2/topics/{queue}/messages", h.deleteMessages)
			r.With(h.allow(service.MessageGet)).Get("/v2/topics/{queue}/messages/{message}", h.getMessage)
			r.With(h.allow(service.MessageDelete)).Delete("/v2/topics/{queue}/messages/{message}", h.deleteMessage)
			r.With(h.allow(service.SubscriptionList)).Get("/v2/topics/{queue}/subscriptions", h.listSubscriptions)
			r.With(h.allow(service.SubscriptionCreate)).Post("/v2/topics/{queue}/subscriptions", h.createSubscription)
			r.With(h.allow(service.SubscriptionGet)).Get("/v2/topics/{queue}/subscriptions/{subscription}", h.getSubscription)
			r.With(h.allow(service.SubscriptionUpdate)).Patch("/v2/topics/{queue}/subscriptions/{subscription}", h.updateSubscription)
			r.With(h.allow(service.SubscriptionDelete)).Delete("/v2/topics/{queue}/subscriptions/{subscription}", h.deleteSubscription)
			r.With(h.allow(service.SubscriptionConfirm)).Put("/v2/topics/{queue}/subscriptions/{subscription}/confirm", h.confirmSubscription)
		})
	})
	if opts.Observe != nil {
		h.routes = newRouteTable(r, opts.Observe)
	}
	return r
}
