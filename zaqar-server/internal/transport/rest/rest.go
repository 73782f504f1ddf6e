// Package rest serves Zaqar's v2 HTTP API with chi. Handlers only decode the
// request, call the service and encode the answer; every error goes through
// transport.Describe. Hrefs, Location headers and pagination links are
// relative paths, exactly as Zaqar builds them.
package rest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/zaqar-go/suite/zaqar-server/internal/policy"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/signedurl"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Options configure the HTTP API.
type Options struct {
	Logger    *slog.Logger
	AdminMode bool
	// Pooling serves the pools and flavors API (with AdminMode, as Zaqar).
	Pooling bool
	// Policy decides every route's rule; nil means Zaqar's defaults.
	Policy *policy.Enforcer
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
	policy *policy.Enforcer
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
	h := &handler{svc: svc, limits: svc.Limits(), log: log, admin: opts.AdminMode, pools: opts.AdminMode && opts.Pooling, policy: opts.Policy, auth: opts.Authenticate, ident: opts.Identity, failures: &transport.ErrorLog{},
		bodyTimeout: opts.BodyTimeout, connClosed: opts.ConnClosed}
	if h.policy == nil {
		h.policy, _ = policy.New(policy.Defaults())
	}
	r := chi.NewRouter()
	if opts.Observe != nil {
		r.Use(h.observe)
	}
	r.Use(h.access, corsHandler(opts.CORS), h.bodyGuard, h.recoverer, h.presigned, h.authenticate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, transport.Doc{Title: "404 Not Found"})
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
		writeJSON(w, http.StatusMethodNotAllowed, transport.Doc{Title: "405 Method Not Allowed"})
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
		r.With(h.allow("ping:get")).Get("/v2/ping", h.ping)
		r.With(h.allow("ping:get")).Head("/v2/ping", h.pingHead)
		r.With(h.allow("health:get")).Get("/v2/health", h.health)
		r.With(h.allow("queues:get_all")).Get("/v2/queues", h.listQueues)
		if h.pools {
			h.poolRoutes(r)
		}
		// Flat routes (no subrouter) so the 405 handler can match every method.
		r.Group(func(r chi.Router) {
			r.Use(h.queueName)
			r.With(h.allow("queues:create")).Put("/v2/queues/{queue}", h.createQueue)
			r.With(h.allow("queues:get")).Get("/v2/queues/{queue}", h.getQueue)
			r.With(h.allow("queues:update")).Patch("/v2/queues/{queue}", h.patchQueue)
			r.With(h.allow("queues:delete")).Delete("/v2/queues/{queue}", h.deleteQueue)
			r.With(h.allow("queues:stats")).Get("/v2/queues/{queue}/stats", h.queueStats)
			r.With(h.allow("queues:purge")).Post("/v2/queues/{queue}/purge", h.purgeQueue)
			r.With(h.allow("queues:share")).Post("/v2/queues/{queue}/share", h.shareQueue)
			r.With(h.allow("messages:create")).Post("/v2/queues/{queue}/messages", h.postMessages)
			r.With(h.allow("messages:get_all")).Get("/v2/queues/{queue}/messages", h.listMessages)
			r.With(h.allow("messages:delete_all")).Delete("/v2/queues/{queue}/messages", h.deleteMessages)
			r.With(h.allow("messages:get")).Get("/v2/queues/{queue}/messages/{message}", h.getMessage)
			r.With(h.allow("messages:delete")).Delete("/v2/queues/{queue}/messages/{message}", h.deleteMessage)
			r.With(h.allow("claims:create")).Post("/v2/queues/{queue}/claims", h.createClaim)
			r.With(h.allow("claims:get")).Get("/v2/queues/{queue}/claims/{claim}", h.getClaim)
			r.With(h.allow("claims:update")).Patch("/v2/queues/{queue}/claims/{claim}", h.updateClaim)
			r.With(h.allow("claims:delete")).Delete("/v2/queues/{queue}/claims/{claim}", h.deleteClaim)
			r.With(h.allow("subscription:get_all")).Get("/v2/queues/{queue}/subscriptions", h.listSubscriptions)
			r.With(h.allow("subscription:create")).Post("/v2/queues/{queue}/subscriptions", h.createSubscription)
			r.With(h.allow("subscription:get")).Get("/v2/queues/{queue}/subscriptions/{subscription}", h.getSubscription)
			r.With(h.allow("subscription:update")).Patch("/v2/queues/{queue}/subscriptions/{subscription}", h.updateSubscription)
			r.With(h.allow("subscription:delete")).Delete("/v2/queues/{queue}/subscriptions/{subscription}", h.deleteSubscription)
			r.With(h.allow("subscription:confirm")).Put("/v2/queues/{queue}/subscriptions/{subscription}/confirm", h.confirmSubscription)
		})
		// Topics reuse the queue handlers; topicScope makes queueOf name the
		// topic namespace (Zaqar's own topic message routes answer 500).
		r.With(h.topicScope, h.allow("topics:get_all")).Get("/v2/topics", h.listQueues)
		r.Group(func(r chi.Router) {
			r.Use(h.topicScope, h.queueName)
			r.With(h.allow("topics:create")).Put("/v2/topics/{queue}", h.createQueue)
			r.With(h.allow("topics:get")).Get("/v2/topics/{queue}", h.getQueue)
			r.With(h.allow("topics:update")).Patch("/v2/topics/{queue}", h.patchQueue)
			r.With(h.allow("topics:delete")).Delete("/v2/topics/{queue}", h.deleteQueue)
			r.With(h.allow("topics:stats")).Get("/v2/topics/{queue}/stats", h.queueStats)
			r.With(h.allow("topics:purge")).Post("/v2/topics/{queue}/purge", h.purgeQueue)
			r.With(h.allow("messages:create")).Post("/v2/topics/{queue}/messages", h.postMessages)
			r.With(h.allow("messages:get_all")).Get("/v2/topics/{queue}/messages", h.listMessages)
			r.With(h.allow("messages:delete_all")).Delete("/v2/topics/{queue}/messages", h.deleteMessages)
			r.With(h.allow("messages:get")).Get("/v2/topics/{queue}/messages/{message}", h.getMessage)
			r.With(h.allow("messages:delete")).Delete("/v2/topics/{queue}/messages/{message}", h.deleteMessage)
			r.With(h.allow("subscription:get_all")).Get("/v2/topics/{queue}/subscriptions", h.listSubscriptions)
			r.With(h.allow("subscription:create")).Post("/v2/topics/{queue}/subscriptions", h.createSubscription)
			r.With(h.allow("subscription:get")).Get("/v2/topics/{queue}/subscriptions/{subscription}", h.getSubscription)
			r.With(h.allow("subscription:update")).Patch("/v2/topics/{queue}/subscriptions/{subscription}", h.updateSubscription)
			r.With(h.allow("subscription:delete")).Delete("/v2/topics/{queue}/subscriptions/{subscription}", h.deleteSubscription)
			r.With(h.allow("subscription:confirm")).Put("/v2/topics/{queue}/subscriptions/{subscription}/confirm", h.confirmSubscription)
		})
	})
	if opts.Observe != nil {
		h.routes = newRouteTable(r, opts.Observe)
	}
	return r
}

// ---- middleware --------------------------------------------------------

// recoverer turns a panic into a Zaqar 500 with a logged stack: a bug must
// never drop the connection.
func (h *handler) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError, transport.Doc{Title: "Internal server error", Description: "An unexpected error occurred."})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type signedKey struct{}

// presigned checks pre-signed URL headers before anything else, as Zaqar
// does, and answers 404 to any failure. Unlike Zaqar, the mere presence of
// URL-Signature (even empty) never skips authentication: the request either
// verifies or is refused.
func (h *handler) presigned(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Header["Url-Signature"]; !ok {
			next.ServeHTTP(w, r)
			return
		}
		ok := h.svc.VerifySigned(signedurl.Request{
			Signature: r.Header.Get("URL-Signature"), Expires: r.Header.Get("URL-Expires"),
			Methods: r.Header.Get("URL-Methods"), Paths: r.Header.Get("URL-Paths"),
			Project: r.Header.Get("X-Project-ID"), Method: r.Method, Path: r.URL.Path,
		}, time.Now())
		if !ok {
			writeJSON(w, http.StatusNotFound, transport.Doc{Title: "404 Not Found"})
			return
		}
		// The signature, not the client, vouches for the project; roles and
		// user are never taken from a signed request.
		r.Header.Del("X-Roles")
		r.Header.Del("X-User-Id")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), signedKey{}, true)))
	})
}

func isSigned(r *http.Request) bool { v, _ := r.Context().Value(signedKey{}).(bool); return v }

// authenticate runs the configured authentication except for GET /, the
// /healthz probes and pre-signed requests.
func (h *handler) authenticate(next http.Handler) http.Handler {
	if h.auth == nil {
		return next
	}
	guarded := h.auth(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/healthz/") || isSigned(r) {
			next.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// allow enforces a policy rule (zaqar/common/policies); refusals are 403.
func (h *handler) allow(rule string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if h.policy.AllowsAll(rule) {
			return next // most of Zaqar's default rules: nothing to check per request
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sc := scopeOf(r)
			creds := policy.Creds{ProjectID: sc.Project, UserID: sc.UserID, Roles: sc.Roles}
			if !h.policy.Allowed(rule, creds, policy.Target{"project_id": sc.Project}) {
				writeJSON(w, http.StatusForbidden, transport.Doc{Title: zaqar.TitleNotAuthorized,
					Description: "You are not authorized to complete this action."})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (h *handler) nonURLEncoded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Type")))
		if r.ContentLength > 0 && ct == "application/x-www-form-urlencoded" {
			writeJSON(w, http.StatusBadRequest, transport.Doc{Title: "Invalid Content-Type",
				Description: "Endpoint does not accept `application/x-www-form-urlencoded` content; currently supported media type is `application/json`; specify proper client-side media type with the \"Content-Type\" header."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *handler) acceptsJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Accept"); a != "" && !acceptsJSON(a) {
			writeJSON(w, http.StatusNotAcceptable, transport.Doc{Title: "406 Not Acceptable",
				Description: "Endpoint only serves `application/json`; specify client-side media type support with the \"Accept\" header."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func acceptsJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch mt {
		case "*/*", "application/*", "application/json", "*":
			return true
		}
	}
	return false
}

// scope checks Client-ID and X-Project-ID and keeps them in the context.
func (h *handler) scope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sc service.Scope
		ids, ok := r.Header["Client-Id"]
		if !ok {
			writeJSON(w, http.StatusBadRequest, transport.Doc{Title: "Missing header value", Description: `The "Client-ID" header is required.`})
			return
		}
		sc.ClientID = ids[0]
		if err := h.svc.ValidateClientID(sc.ClientID); err != nil {
			h.fail(w, r, err)
			return
		}
		// An authenticated request's identity (Options.Identity), else the
		// headers.
		var project string
		haveProject := false
		if p, user, roles, ok := h.identity(r.Context()); ok {
			project, haveProject = p, p != ""
			sc.UserID, sc.Roles = user, slices.Clip(roles) // roles shared by every request with the token
		} else {
			if ps, ok := r.Header["X-Project-Id"]; ok {
				project, haveProject = ps[0], true
			}
			sc.UserID = r.Header.Get("X-User-Id")
			for _, role := range strings.Split(r.Header.Get("X-Roles"), ",") {
				if role = strings.TrimSpace(role); role != "" {
					sc.Roles = append(sc.Roles, role)
				}
			}
		}
		switch {
		case !haveProject:
			writeJSON(w, http.StatusBadRequest, transport.Doc{Title: "Project-Id Missing", Description: "The header X-PROJECT-ID was missing"})
			return
		case project == "":
			writeJSON(w, http.StatusBadRequest, transport.Doc{Title: "Empty project header not allowed",
				Description: "X-PROJECT-ID cannot be an empty string. Specify the right header X-PROJECT-ID and retry."})
			return
		}
		sc.Project = project
		noteProject(w, project)
		sc.Signed = isSigned(r)
		if h.auth != nil && !sc.Signed {
			sc.Token = r.Header.Get("X-Auth-Token") // validated by h.auth
		}
		next.ServeHTTP(w, r.WithContext(service.WithScope(r.Context(), sc)))
	})
}

// identity asks Options.Identity, when set, for the caller.
func (h *handler) identity(ctx context.Context) (project, user string, roles []string, ok bool) {
	if h.ident == nil {
		return "", "", nil, false
	}
	return h.ident(ctx)
}

func scopeOf(r *http.Request) service.Scope { return service.ScopeFrom(r.Context()) }

func (h *handler) queueName(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := queueOf(r)
		if err := service.ValidateQueue(q); err != nil {
			writeJSON(w, http.StatusBadRequest, transport.Doc{Title: "Invalid " + q.Kind() + " identification",
				Description: "The format of the submitted " + q.Kind() + " name or project id is not valid."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

type topicKey struct{}

// topicScope marks a /v2/topics request.
func (h *handler) topicScope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), topicKey{}, true)))
	})
}

func isTopic(r *http.Request) bool { v, _ := r.Context().Value(topicKey{}).(bool); return v }

// queueOf names the queue (or topic) of the request.
func queueOf(r *http.Request) zaqar.QueueRef {
	name := chi.URLParam(r, "queue")
	if isTopic(r) {
		return zaqar.TopicRef(scopeOf(r).Project, name)
	}
	return zaqar.QueueRef{Project: scopeOf(r).Project, Name: name}
}

// projectOf is the storage project of a collection request.
func projectOf(r *http.Request) string { return queueOf(r).Project }

// ---- encoding ----------------------------------------------------------

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	writeBody(w, v)
}

func writeBody(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// fail writes err as Zaqar's error document; 5xx are logged once here.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, doc := transport.Describe(err)
	if status >= 500 {
		h.failures.ErrorContext(r.Context(), h.log, "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	writeJSON(w, status, doc)
}

var errBodyRead = &zaqar.Error{Kind: zaqar.Unavailable, Title: zaqar.TitleUnavailable, Desc: "Request body could not be read."}

// readBody reads at most limit+1 bytes: callers see an oversize body as
// longer than limit and answer with their own size error.
// A request without Content-Length and without a chunked body gives nil,
// which Zaqar tells apart from an empty body ("can not be empty" versus
// "could not be parsed").
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		if _, ok := r.Header["Content-Length"]; !ok {
			return nil, nil
		}
		return []byte{}, nil
	}
	var b []byte
	var err error
	if n := r.ContentLength; n >= 0 && n <= limit {
		// The common case: read exactly what was announced, in one allocation.
		b = make([]byte, n)
		var got int
		got, err = io.ReadFull(r.Body, b)
		b = b[:got]
	} else {
		b, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return b, nil
		}
		if errors.Is(err, errBodyTimeout) {
			return nil, errBodyTimeout
		}
		return nil, errBodyRead
	}
	return b, nil
}

// ---- query parameters with Falcon's rules -------------------------------

// param returns a query value; blank values count as absent
// (keep_blank_qs_values=False).
func param(r *http.Request, name string) (string, bool) {
	vs := r.URL.Query()[name]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i] != "" {
			return vs[i], true
		}
	}
	return "", false
}

func invalidParam(name, want string) error {
	return &zaqar.Error{Kind: zaqar.Invalid, Title: "Invalid parameter",
		Desc: `The "` + name + `" parameter is invalid. ` + want}
}

func paramInt(r *http.Request, name string) (*int, error) {
	v, ok := param(r, name)
	if !ok {
		return nil, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return nil, invalidParam(name, "The value must be an integer.")
	}
	return &n, nil
}

func paramBool(r *http.Request, name string) (val, present bool, err error) {
	v, ok := param(r, name)
	if !ok {
		return false, false, nil
	}
	switch v {
	case "true", "True", "TRUE", "t", "T", "yes", "Yes", "YES", "y", "Y", "1", "on", "On", "ON":
		return true, true, nil
	case "false", "False", "FALSE", "f", "F", "no", "No", "NO", "n", "N", "0", "off", "Off", "OFF":
		return false, true, nil
	}
	return false, false, invalidParam(name, `The value of the parameter must be "true" or "false".`)
}

// page reads marker and limit, recording them for the next link in the
// order Falcon's get_param stores them.
func page(r *http.Request, next *query) (marker string, limit *int, err error) {
	if m, ok := param(r, "marker"); ok {
		marker = m
		next.set("marker", m)
	}
	if limit, err = paramInt(r, "limit"); err != nil {
		return "", nil, err
	}
	if limit != nil {
		next.set("limit", strconv.Itoa(*limit))
	}
	return marker, limit, nil
}

// detailedPage is page plus the detailed flag, recorded for the next link
// after them (queue and pool listings).
func detailedPage(r *http.Request, next *query) (marker string, limit *int, detailed bool, err error) {
	if marker, limit, err = page(r, next); err != nil {
		return "", nil, false, err
	}
	detailed, given, err := paramBool(r, "detailed")
	if err != nil {
		return "", nil, false, err
	}
	if given {
		next.set("detailed", boolStr(detailed))
	}
	return marker, limit, detailed, nil
}

// paramList splits comma-separated values (auto_parse_qs_csv=True) and
// repeated parameters; nil when absent.
func paramList(r *http.Request, name string) []string {
	vs, ok := r.URL.Query()[name]
	if !ok {
		return nil
	}
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	if out == nil {
		return nil // only blank values: absent, as in Falcon
	}
	return out
}

// query builds a query string in insertion order, as falcon.to_query_str.
type query [][2]string

func (q *query) set(k, v string) {
	for i := range *q {
		if (*q)[i][0] == k {
			(*q)[i][1] = v
			return
		}
	}
	*q = append(*q, [2]string{k, v})
}

func (q query) String() string {
	if len(q) == 0 {
		return ""
	}
	var b strings.Builder
	for i, kv := range q {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(escapeQuery(kv[0]))
		b.WriteByte('=')
		b.WriteString(escapeQuery(kv[1]))
	}
	return b.String()
}

func escapeQuery(s string) string {
	// Falcon quotes with urllib's quote(safe="/"): keep unreserved and '/'.
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}
