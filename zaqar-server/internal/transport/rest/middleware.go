package rest

import (
	"context"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/signedurl"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

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
				h.fail(w, r, errPanic)
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
			h.fail(w, r, errNoRoute)
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

// allow enforces the policy rule guarding op; refusals are 403.
func (h *handler) allow(op service.Op) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if h.svc.AllowsAll(op) {
			return next // most of Zaqar's default rules: nothing to check per request
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := h.svc.Authorize(scopeOf(r), op); err != nil {
				h.fail(w, r, err)
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
			h.fail(w, r, errURLEncoded)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *handler) acceptsJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Accept"); a != "" && !acceptsJSON(a) {
			h.fail(w, r, errNotAcceptable)
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
			h.fail(w, r, errNoClientID)
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
			h.fail(w, r, errNoProject)
			return
		case project == "":
			h.fail(w, r, transport.ErrEmptyProject)
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
			h.fail(w, r, errBadName(q.Kind()))
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
