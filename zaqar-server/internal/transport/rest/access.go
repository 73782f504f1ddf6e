package rest

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/zaqar-go/suite/zaqar-server/internal/logging"
)

// The access log: one INFO line per request, written after the answer, and
// the request id every other line about the request carries (through the
// context: log with InfoContext, ErrorContext, LogAttrs).
//
//	level=INFO msg=request method=GET path=/v2/queues/q/messages query="echo=true" status=200 bytes=512
//	    duration=0.000412 remote=127.0.0.1:50432 project=p client_id=3381af92-... request_id=req-...
//
// It never logs tokens or pre-signed URL signatures: those travel in
// headers (X-Auth-Token, URL-Signature), and query parameters whose names
// suggest secrets are masked (sensitiveParam).

// requestIDHeader is net/http's canonical form: Header().Set would
// canonicalise "x-openstack-request-id" on every request.
const requestIDHeader = "X-Openstack-Request-Id"

// accessWriter records what the answer was; pooled, as nothing keeps it
// past the request.
type accessWriter struct {
	http.ResponseWriter
	status  int
	bytes   int64
	project string // set by scope once the project is known
}

func (w *accessWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *accessWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *accessWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var accessWriters = sync.Pool{New: func() any { return new(accessWriter) }}

// noteProject tells the access log the request's project, found by
// unwrapping w down to the access log's writer.
func noteProject(w http.ResponseWriter, project string) {
	for {
		switch t := w.(type) {
		case *accessWriter:
			t.project = project
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return
		}
	}
}

// access gives the request its id (the x-openstack-request-id header, as
// Zaqar's oslo middleware does, and the context's request id for logging)
// and, once answered, logs the request and times it for the metrics. It
// runs outermost, so that refusals by the other middleware (401, 403, 400)
// are logged and count under their route too; a request whose handler
// aborts (http.ErrAbortHandler) is neither.
func (h *handler) access(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		w.Header()[requestIDHeader] = []string{id}
		aw := accessWriters.Get().(*accessWriter)
		*aw = accessWriter{ResponseWriter: w}
		next.ServeHTTP(aw, r.WithContext(logging.WithRequestID(r.Context(), id)))
		status := aw.status
		if status == 0 {
			status = http.StatusOK // nothing written: net/http sends 200
		}
		if h.routes != nil {
			h.routes.lookup(r)(status, time.Since(start))
		}
		// Logged with the outer context and the id as an attribute: the
		// handler then adds nothing, and the record grows once.
		if ctx := r.Context(); h.log.Enabled(ctx, slog.LevelInfo) {
			var buf [10]slog.Attr // on the stack: no allocation
			attrs := append(buf[:0], slog.String("method", r.Method), slog.String("path", r.URL.Path))
			if r.URL.RawQuery != "" {
				attrs = append(attrs, slog.String("query", redactQuery(r.URL.RawQuery)))
			}
			attrs = append(attrs, slog.Int("status", status), slog.Int64("bytes", aw.bytes),
				slog.Float64("duration", time.Since(start).Seconds()), slog.String("remote", r.RemoteAddr))
			if aw.project != "" {
				attrs = append(attrs, slog.String("project", aw.project))
			}
			if cid := r.Header.Get("Client-Id"); cid != "" {
				attrs = append(attrs, slog.String("client_id", cid))
			}
			attrs = append(attrs, slog.String("request_id", id))
			h.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
		}
		*aw = accessWriter{}
		accessWriters.Put(aw)
	})
}

// newRequestID is "req-" and a random UUID, built in one allocation.
func newRequestID() string {
	u := uuid.New()
	const hex = "0123456789abcdef"
	var b [40]byte
	copy(b[:], "req-")
	j := 4
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hex[c>>4], hex[c&15]
		j += 2
	}
	return string(b[:])
}

// redactQuery masks the values of query parameters whose names suggest a
// secret (signature, token, password, secret, key), keeping the rest
// readable; a query without such names is returned as is.
func redactQuery(q string) string {
	if q == "" || !anySensitive(q) {
		return q
	}
	out := make([]byte, 0, len(q))
	for i, part := range splitAmp(q) {
		if i > 0 {
			out = append(out, '&')
		}
		name, _, hasValue := cut(part, '=')
		if hasValue && sensitiveParam(name) {
			out = append(out, name...)
			out = append(out, "=***"...)
			continue
		}
		out = append(out, part...)
	}
	return string(out)
}

func splitAmp(q string) []string {
	var parts []string
	for {
		p, rest, more := cut(q, '&')
		parts = append(parts, p)
		if !more {
			return parts
		}
		q = rest
	}
}

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// sensitiveWords appear in the names of parameters carrying secrets:
// Zaqar's pre-signed URL fields (URL-Signature, and Signature in the
// confirmation links it mails), tokens, passwords.
var sensitiveWords = [...]string{"signature", "token", "password", "secret", "key"}

func sensitiveParam(name string) bool {
	for _, w := range sensitiveWords {
		if containsFold(name, w) {
			return true
		}
	}
	return false
}

// anySensitive is sensitiveParam over the whole query: the fast check
// that lets ordinary queries through without allocating.
func anySensitive(q string) bool { return sensitiveParam(q) }

// containsFold reports whether s contains the lowercase ASCII word w,
// ignoring ASCII case, without allocating.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		match := true
		for j := 0; j < len(w); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != w[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
