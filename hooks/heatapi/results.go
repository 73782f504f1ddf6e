package heatapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
)

// SignalResult is the result of Signal; call ExtractErr.
type SignalResult struct {
	gophercloud.ErrResult
}

// ActionResult is the result of Cancel; call ExtractErr.
type ActionResult struct {
	gophercloud.ErrResult
}

// Heat's error types (error.type of its fault document) that hook clients
// meet.
const (
	// InvalidBreakPointHook: the hook name is not one of the six, or the
	// hook is not pending on that resource ("The "pre-create" hook is not
	// defined on ..."), which includes already cleared.
	InvalidBreakPointHook = "InvalidBreakPointHook"
	// NotSupported: signals to a resource in DELETE or SUSPEND (so a
	// post-delete hook can never be cleared), or a cancel of a stack that
	// is not in progress.
	NotSupported = "NotSupported"
	// ResourceNotFound: no such resource in that stack (for a resource of
	// a nested stack, signal the nested stack).
	ResourceNotFound = "ResourceNotFound"
	// EntityNotFound: no such stack.
	EntityNotFound = "EntityNotFound"
)

// Fault is Heat's error document for an unexpected status:
//
//	{"code": 400, "title": "Bad Request", "explanation": "...",
//	 "error": {"type": "InvalidBreakPointHook", "message": "...", "traceback": null}}
//
// Errors from the API's router (an unknown path) have no "error" member;
// Type and Message are then empty.
type Fault struct {
	Status      int // the HTTP status
	Title       string
	Explanation string
	Type        string // error.type
	Message     string // error.message
}

// FaultOf returns Heat's fault behind an error of this package (or of any
// gophercloud call to Heat).
func FaultOf(err error) (Fault, bool) {
	var ue gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &ue) {
		return Fault{}, false
	}
	f := Fault{Status: ue.Actual, Title: http.StatusText(ue.Actual)}
	var doc struct {
		Title       string `json:"title"`
		Explanation string `json:"explanation"`
		Error       struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(ue.Body, &doc) == nil {
		if doc.Title != "" {
			f.Title = doc.Title
		}
		f.Explanation, f.Type, f.Message = doc.Explanation, doc.Error.Type, doc.Error.Message
	}
	return f, true
}

// Error describes the fault in one line.
func (f Fault) Error() string {
	switch {
	case f.Type != "":
		return f.Type + ": " + f.Message
	case f.Explanation != "":
		return f.Title + ": " + f.Explanation
	}
	return f.Title
}
