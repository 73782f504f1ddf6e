package rest

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Slow and unread request bodies. net/http bounds the time to read the
// headers (ReadHeaderTimeout) but not the body, and after a handler that
// answered without reading the body (a 401, a 400 for a missing header) it
// reads up to 256 KiB of it to keep the connection. A client trickling a
// body byte by byte would hold a connection, a goroutine and its buffers
// as long as it likes, unauthenticated. bodyGuard bounds the body's read
// time and, for a request answered before its body was read (a 401, a 400
// for a bad header or an oversized body), closes the connection after at
// most drainGrace of draining.

// Reasons given to Options.ConnClosed.
const (
	ClosedBodyTimeout = "body_timeout" // the body was not received within the timeout
	ClosedUnreadBody  = "unread_body"  // answered before the body was read, e.g. a 401
)

// drainGrace is how long the rest of an unread body may take to arrive
// once the request is answered: a client that sent it at once finishes
// well within it, a trickle is cut.
const drainGrace = 2 * time.Second

var errBodyTimeout = &zaqar.Error{Kind: zaqar.Timeout, Title: "Request timeout",
	Desc: "The request body was not received in time."}

func (h *handler) bodyGuard(next http.Handler) http.Handler {
	if h.bodyTimeout <= 0 && h.connClosed == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		g := guards.Get().(*guard)
		*g = guard{body: guardedBody{ReadCloser: r.Body, conn: readDeadlinerOf(w)}}
		g.writer = guardWriter{ResponseWriter: w, g: g}
		if h.bodyTimeout > 0 && g.body.conn != nil && g.body.conn.SetReadDeadline(time.Now().Add(h.bodyTimeout)) == nil {
			g.body.deadline = true
		}
		r.Body = &g.body
		next.ServeHTTP(&g.writer, r)
		closing, timedOut, conn := g.closing, g.body.timedOut, g.body.conn
		*g = guard{}
		guards.Put(g)
		if !closing {
			return
		}
		// net/http now reads what is left of the body (up to 256 KiB) so
		// the client can finish sending and read the answer, instead of
		// a reset: give that drainGrace, not however long a trickle takes.
		if conn != nil {
			_ = conn.SetReadDeadline(time.Now().Add(drainGrace))
		}
		reason := ClosedUnreadBody
		if timedOut {
			reason = ClosedBodyTimeout
		}
		if h.connClosed != nil {
			h.connClosed(reason)
		}
	})
}

// readDeadliner is the connection's side of a ResponseWriter, found as
// http.ResponseController finds it but without allocating one per request.
type readDeadliner interface{ SetReadDeadline(time.Time) error }

func readDeadlinerOf(w http.ResponseWriter) readDeadliner {
	for {
		if d, ok := w.(readDeadliner); ok {
			return d
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
}

// guard is one guarded request's state, pooled: a post's hot path.
type guard struct {
	body    guardedBody
	writer  guardWriter
	closing bool // answered before the body was read
}

var guards = sync.Pool{New: func() any { return new(guard) }}

// guardedBody clears the read deadline once the whole body is in, so the
// connection's background read (which watches for the client leaving)
// does not end a long request, and notes a timed-out read.
type guardedBody struct {
	io.ReadCloser
	conn     readDeadliner // nil when the writer has no connection (tests)
	deadline bool
	done     bool // the whole body was read
	timedOut bool
}

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.done = true
		if b.deadline {
			_ = b.conn.SetReadDeadline(time.Time{})
			b.deadline = false
		}
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		b.timedOut = true
		err = errBodyTimeout
	}
	return n, err
}

// guardWriter asks for the connection to be closed when the answer starts
// before the body was read, so the client is told (Connection: close)
// rather than finding its next request on a closed socket.
type guardWriter struct {
	http.ResponseWriter
	g     *guard
	wrote bool
}

func (w *guardWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if !w.g.body.done {
			w.g.closing = true
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *guardWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *guardWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
