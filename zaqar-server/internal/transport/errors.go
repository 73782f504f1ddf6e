// Package transport holds what both wires share: the one mapping from an
// error to a status code and Zaqar's error document, and request ids. The
// REST (rest/) and WebSocket (ws/) transports sit below it.
package transport

import (
	"errors"
	"net/http"
	"strings"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Doc is Zaqar's error document (Falcon's HTTPError JSON).
type Doc struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

var statusOf = map[zaqar.Kind]int{
	zaqar.Internal:         http.StatusInternalServerError,
	zaqar.Invalid:          http.StatusBadRequest,
	zaqar.Unauthorized:     http.StatusUnauthorized,
	zaqar.Forbidden:        http.StatusForbidden,
	zaqar.NotFound:         http.StatusNotFound,
	zaqar.Conflict:         http.StatusConflict,
	zaqar.TooLarge:         http.StatusRequestEntityTooLarge,
	zaqar.Unsupported:      http.StatusUnsupportedMediaType,
	zaqar.Unavailable:      http.StatusServiceUnavailable,
	zaqar.Timeout:          http.StatusRequestTimeout,
	zaqar.NotAcceptable:    http.StatusNotAcceptable,
	zaqar.MethodNotAllowed: http.StatusMethodNotAllowed,
}

// Describe is the only place a Kind meets a status code.
func Describe(err error) (int, Doc) {
	var ze *zaqar.Error
	if !errors.As(err, &ze) {
		return http.StatusInternalServerError, Doc{Title: "Internal server error", Description: "An unexpected error occurred."}
	}
	status, ok := statusOf[ze.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	desc := ze.Desc
	if ze.Kind == zaqar.Unavailable && !strings.HasSuffix(desc, "Please try again in a few seconds.") {
		// Zaqar appends this to every 503 (zaqar/transport/wsgi/errors.py).
		desc = strings.TrimSpace(desc + " Please try again in a few seconds.")
	}
	return status, Doc{Title: ze.Title, Description: desc}
}

// ErrEmptyProject is Zaqar's answer to an empty X-Project-ID, on both wires.
var ErrEmptyProject = &zaqar.Error{Kind: zaqar.Invalid, Title: "Empty project header not allowed",
	Desc: "X-PROJECT-ID cannot be an empty string. Specify the right header X-PROJECT-ID and retry."}
