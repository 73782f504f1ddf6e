package rest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

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
// Every error answer of the REST API, middleware's included, comes here.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, doc := transport.Describe(err)
	if status >= 500 && !errors.Is(err, errPanic) {
		h.failures.ErrorContext(r.Context(), h.log, "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	writeJSON(w, status, doc)
}

// Errors the router and middleware answer with, in Zaqar's (Falcon's)
// words.
var (
	errNoRoute    = &zaqar.Error{Kind: zaqar.NotFound, Title: "404 Not Found"}
	errNoMethod   = &zaqar.Error{Kind: zaqar.MethodNotAllowed, Title: "405 Method Not Allowed"}
	errPanic      = &zaqar.Error{Kind: zaqar.Internal, Title: "Internal server error", Desc: "An unexpected error occurred."} // logged with its stack
	errURLEncoded = &zaqar.Error{Kind: zaqar.Invalid, Title: "Invalid Content-Type",
		Desc: "Endpoint does not accept `application/x-www-form-urlencoded` content; currently supported media type is `application/json`; specify proper client-side media type with the \"Content-Type\" header."}
	errNotAcceptable = &zaqar.Error{Kind: zaqar.NotAcceptable, Title: "406 Not Acceptable",
		Desc: "Endpoint only serves `application/json`; specify client-side media type support with the \"Accept\" header."}
	errNoClientID = &zaqar.Error{Kind: zaqar.Invalid, Title: "Missing header value", Desc: `The "Client-ID" header is required.`}
	errNoProject  = &zaqar.Error{Kind: zaqar.Invalid, Title: "Project-Id Missing", Desc: "The header X-PROJECT-ID was missing"}
)

// errBadName is Zaqar's answer to a queue or topic name (or project id)
// it cannot take.
func errBadName(kind string) error {
	return &zaqar.Error{Kind: zaqar.Invalid, Title: "Invalid " + kind + " identification",
		Desc: "The format of the submitted " + kind + " name or project id is not valid."}
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
