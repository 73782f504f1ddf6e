package keystone

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
)

// MiddlewareOptions tune Middleware.
type MiddlewareOptions struct {
	// Skip exempts a request from token validation; it sees the request as
	// the client sent it. The handler then authorises the request itself
	// (GET /, pre-signed URLs): IdentityFrom reports no identity, and of the
	// identity headers only X-Project-Id is left, as the client's claim.
	Skip func(*http.Request) bool
	// ContextOnly leaves the validated identity only in the request context
	// (IdentityFrom): forged identity headers are still removed, but none
	// are set. For handlers that read IdentityFrom, it spares building a
	// header map per request (a tenth of a cached request's cost).
	ContextOnly bool
}

// identityHeaders are the headers keystonemiddleware's auth_token sets and
// therefore removes from every request first, so that a client cannot
// forge them (keystonemiddleware/auth_token/_request.py).
var identityHeaders = []string{
	"X-Identity-Status", "X-Service-Identity-Status", "X-Is-Admin-Project",
	"X-Service-Catalog", "OpenStack-System-Scope",
	"X-Domain-Id", "X-Domain-Name",
	"X-Project-Id", "X-Project-Name", "X-Project-Domain-Id", "X-Project-Domain-Name",
	"X-User-Id", "X-User-Name", "X-User-Domain-Id", "X-User-Domain-Name", "X-Roles",
	"X-Service-Domain-Id", "X-Service-Domain-Name",
	"X-Service-Project-Id", "X-Service-Project-Name",
	"X-Service-Project-Domain-Id", "X-Service-Project-Domain-Name",
	"X-Service-User-Id", "X-Service-User-Name",
	"X-Service-User-Domain-Id", "X-Service-User-Domain-Name", "X-Service-Roles",
	// deprecated names, still set by keystonemiddleware
	"X-Role", "X-User", "X-Tenant-Id", "X-Tenant-Name", "X-Tenant",
	"X-Trust-Id",
}

// Middleware authenticates requests like keystonemiddleware's auth_token:
// the X-Auth-Token header is validated with v; on success the Identity is put
// in the request context (IdentityFrom) and the identity headers (X-Project-Id,
// X-User-Id, X-Roles, ...) are replaced by the token's, so that code reading
// X-Project-ID gets the token's project. A missing or invalid token is
// answered 401 with WWW-Authenticate: Keystone uri="<www_authenticate_uri>";
// Keystone being unavailable is answered 503. No request passes unchecked
// unless opts.Skip says so.
func Middleware(v *Validator, opts MiddlewareOptions) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if opts.Skip != nil && opts.Skip(r) {
				project := r.Header.Values("X-Project-Id")
				removeIdentityHeaders(r.Header)
				if len(project) > 0 {
					r.Header["X-Project-Id"] = project
				}
				next.ServeHTTP(w, r)
				return
			}
			removeIdentityHeaders(r.Header)
			token := r.Header.Get("X-Auth-Token")
			if token == "" {
				v.unauthorized(w)
				return
			}
			id, err := v.Validate(r.Context(), token)
			switch {
			case errors.Is(err, ErrInvalidToken):
				// A client error: not worth more than a debug line.
				v.log.Debug("keystone: rejected token", "method", r.Method, "path", r.URL.Path, "reason", err)
				v.unauthorized(w)
				return
			case err != nil:
				if r.Context().Err() == nil { // else the client is gone: nothing to report
					v.log.Error("keystone: cannot validate token", "method", r.Method, "path", r.URL.Path, "err", err)
				}
				writeError(w, http.StatusServiceUnavailable, "Service Unavailable",
					"The Keystone service is temporarily unavailable.")
				return
			}
			r = r.WithContext(ContextWithIdentity(r.Context(), id))
			if !opts.ContextOnly {
				r.Header = withIdentityHeaders(r.Header, id)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// identityHeaderSet holds identityHeaders in http.Header's canonical form.
var identityHeaderSet = func() map[string]bool {
	m := make(map[string]bool, len(identityHeaders))
	for _, name := range identityHeaders {
		m[http.CanonicalHeaderKey(name)] = true
	}
	return m
}()

// removeIdentityHeaders walks the request's few headers rather than
// deleting each of the 33 names: this runs on every request.
func removeIdentityHeaders(h http.Header) {
	for k := range h {
		if identityHeaderSet[k] {
			delete(h, k)
		}
	}
}

// headerValue is one identity header, its key canonical and its value a
// one-element slice shared by every request with the same token (cap 1, so
// an Add copies rather than writes into it).
type headerValue struct {
	key string
	val []string
}

// lazyHeaders holds an identity's headers once built (Identity.headers).
type lazyHeaders struct {
	once sync.Once
	v    []headerValue
}

// identityHeaderValues builds the headers Middleware sets.
func identityHeaderValues(id Identity) []headerValue {
	roles := strings.Join(id.Roles, ",")
	var out []headerValue
	for _, kv := range [...][2]string{
		{"X-Identity-Status", "Confirmed"},
		{"X-User-Id", id.UserID},
		{"X-User-Name", id.UserName},
		{"X-User-Domain-Id", id.UserDomainID},
		{"X-User-Domain-Name", id.UserDomainName},
		{"X-Project-Id", id.ProjectID},
		{"X-Project-Name", id.ProjectName},
		{"X-Project-Domain-Id", id.ProjectDomainID},
		{"X-Project-Domain-Name", id.ProjectDomainName},
		{"X-Roles", roles},
		{"X-Trust-Id", id.TrustID},
		{"X-Role", roles},
		{"X-User", id.UserName},
		{"X-Tenant-Id", id.ProjectID},
		{"X-Tenant-Name", id.ProjectName},
		{"X-Tenant", id.ProjectName},
	} {
		if kv[1] != "" {
			out = append(out, headerValue{http.CanonicalHeaderKey(kv[0]), []string{kv[1]}})
		}
	}
	return out
}

// withIdentityHeaders returns h's headers plus the identity's, in a new map
// sized for both: adding sixteen keys to the request's own map grew it
// twice, the biggest cost of a cached token.
func withIdentityHeaders(h http.Header, id Identity) http.Header {
	var hv []headerValue
	if lh := id.headers; lh != nil {
		lh.once.Do(func() { lh.v = identityHeaderValues(id) })
		hv = lh.v
	} else {
		hv = identityHeaderValues(id)
	}
	out := make(http.Header, len(h)+len(hv))
	for k, v := range h {
		out[k] = v
	}
	for _, v := range hv {
		out[v.key] = v.val
	}
	return out
}

// unauthorized answers like keystonemiddleware's auth_token.
func (v *Validator) unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Keystone uri="`+v.cfg.WWWAuthenticateURI+`"`)
	writeError(w, http.StatusUnauthorized, "Unauthorized", "The request you have made requires authentication.")
}

// writeError writes keystonemiddleware's error document.
func writeError(w http.ResponseWriter, code int, title, message string) {
	var doc struct {
		Error struct {
			Code    int    `json:"code"`
			Title   string `json:"title"`
			Message string `json:"message"`
		} `json:"error"`
	}
	doc.Error.Code, doc.Error.Title, doc.Error.Message = code, title, message
	body, _ := json.Marshal(doc)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

type identityKey struct{}

// ContextWithIdentity returns ctx carrying id, as Middleware does; for
// callers that authenticate a request another way, and for tests.
func ContextWithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity Middleware validated for this request.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}
