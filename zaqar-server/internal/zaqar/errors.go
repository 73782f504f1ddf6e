package zaqar

import (
	"errors"
	"fmt"
)

// Kind classifies an error; only the transport maps a Kind to a status code.
type Kind uint8

const (
	Internal         Kind = iota
	Invalid               // 400
	Forbidden             // 403
	NotFound              // 404
	Conflict              // 409
	TooLarge              // 413
	Unsupported           // 415
	Unavailable           // 503: backend down; Zaqar appends "Please try again in a few seconds."
	Unauthorized          // 401
	Timeout               // 408: the client did not send its request in time
	MethodNotAllowed      // 405
	NotAcceptable         // 406: the client accepts no JSON
)

// Error is what every layer returns for a failure a client may see.
type Error struct {
	Kind  Kind
	Title string // short summary, sent as "title"
	Desc  string // detail, sent as "description"
	Err   error  // cause, logged, never sent
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Title + ": " + e.Desc + ": " + e.Err.Error()
	}
	return e.Title + ": " + e.Desc
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err, Internal when err carries none.
func KindOf(err error) Kind {
	var ze *Error
	if errors.As(err, &ze) {
		return ze.Kind
	}
	return Internal
}

// Titles Zaqar uses for its error documents (zaqar/transport/wsgi/errors.py).
const (
	TitleInvalidAPI    = "Invalid API request"
	TitleInvalidBody   = "Invalid request body"
	TitleNotFound      = "Not found"
	TitleConflict      = "Resource conflict"
	TitleUnavailable   = "Service temporarily unavailable"
	TitleUnableDelete  = "Unable to delete"
	TitleNotAuthorized = "Not authorized"
)

// Invalidf is a 400 "Invalid API request", the title Zaqar uses for validation failures.
func Invalidf(format string, args ...any) *Error {
	return &Error{Kind: Invalid, Title: TitleInvalidAPI, Desc: fmt.Sprintf(format, args...)}
}

// BadBodyf is a 400 "Invalid request body", for documents that do not parse or have the wrong shape.
func BadBodyf(format string, args ...any) *Error {
	return &Error{Kind: Invalid, Title: TitleInvalidBody, Desc: fmt.Sprintf(format, args...)}
}

// NotFoundf is a 404 with Zaqar's title.
func NotFoundf(format string, args ...any) *Error {
	return &Error{Kind: NotFound, Title: TitleNotFound, Desc: fmt.Sprintf(format, args...)}
}

// Conflictf is a 409 with Zaqar's title.
func Conflictf(format string, args ...any) *Error {
	return &Error{Kind: Conflict, Title: TitleConflict, Desc: fmt.Sprintf(format, args...)}
}

// Unavailablef wraps a backend failure as a 503; cause is logged, never sent.
func Unavailablef(cause error, format string, args ...any) *Error {
	return &Error{Kind: Unavailable, Title: TitleUnavailable, Desc: fmt.Sprintf(format, args...), Err: cause}
}
