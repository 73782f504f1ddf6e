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
