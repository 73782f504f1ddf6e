package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/coder/websocket"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// response is an action's answer: headers.status and body.
type response struct {
	status int
	body   any
	echo   *echo // replaces the request echo (authenticate answers)
}

// errorDoc is the body of an endpoint's error: Zaqar's "error" summary and
// "exception" text, here transport.Describe's title and description.
type errorDoc struct {
	Error     string `json:"error"`
	Exception string `json:"exception,omitempty"`
}

// protocolDoc is the body of a protocol-level error, which has no exception.
type protocolDoc struct {
	Error string `json:"error"`
}

func errorResponse(status int, msg string) response {
	return response{status: status, body: protocolDoc{Error: msg}}
}

// action runs one validated request; q names the body's queue_name (empty
// for queue_list) in the caller's project.
type action func(ctx context.Context, c *conn, sc service.Scope, q zaqar.QueueRef, r *request) response

// actions maps names to handlers; the schema lists the actions Zaqar
// defines, and those absent here (pools, flavors, node actions) answer 501.
// An action's name is its service.Op, which names its policy rule.
var actions = map[string]action{
	"queue_list":          queueList,
	"queue_create":        queueCreate,
	"queue_delete":        queueDelete,
	"queue_get":           queueGet,
	"queue_get_stats":     queueGetStats,
	"queue_purge":         queuePurge,
	"message_list":        messageList,
	"message_get":         messageGet,
	"message_get_many":    messageGetMany,
	"message_post":        messagePost,
	"message_delete":      messageDelete,
	"message_delete_many": messageDeleteMany,
	"claim_create":        claimCreate,
	"claim_get":           claimGet,
	"claim_update":        claimUpdate,
	"claim_delete":        claimDelete,
	"subscription_create": subscriptionCreate,
	"subscription_get":    subscriptionGet,
	"subscription_list":   subscriptionList,
	"subscription_delete": subscriptionDelete,
}

// errBadProject refuses a project id no HTTP header could carry. JSON and
// MessagePack strings can hold any character, but internal storage
// projects (the notifier's outboxes, topics) are named with a NUL byte
// precisely because clients cannot send one.
var errBadProject = &zaqar.Error{Kind: zaqar.Invalid, Title: "Invalid project header",
	Desc: "X-PROJECT-ID may not contain control characters."}

func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// handle answers one frame; the answer is encoded like the frame.
func (c *conn) handle(ctx context.Context, data []byte, binary bool) []byte {
	r, err := decodeFrame(data, binary)
	if err != nil {
		return c.encode(noRequest, binary, errorResponse(http.StatusBadRequest, err.Error()))
	}
	c.requests++
	if c.waitCtx != nil && r.waits() {
		// A long poll runs beside the read loop, which goes on answering
		// the connection's other requests (each answer echoes its request)
		// and reading the pongs that keep the connection alive.
		c.waits.Add(1)
		go func() {
			defer c.waits.Done()
			out := c.answer(c.waitCtx, r, binary)
			typ := websocket.MessageText
			if binary {
				typ = websocket.MessageBinary
			}
			select {
			case c.out <- frame{typ: typ, data: out}:
			case <-c.done:
			}
		}()
		return nil
	}
	return c.answer(ctx, r, binary)
}

// answer runs a decoded request and encodes its response.
func (c *conn) answer(ctx context.Context, r *request, binary bool) []byte {
	resp := c.run(ctx, r)
	if c.s.log.Enabled(ctx, slog.LevelDebug) {
		c.s.log.LogAttrs(ctx, slog.LevelDebug, "websocket action", slog.String("conn", c.id),
			slog.String("action", r.action), slog.String("project", c.projectName()), slog.Int("status", resp.status))
	}
	e := r.echo
	if resp.echo != nil {
		e = *resp.echo
	}
	return c.encode(e, binary, resp)
}

// run validates, authorises and runs a request. A panic is a bug: it is
// logged with its stack and answered 500, as Zaqar's
// on_exception_sends_500 does.
func (c *conn) run(ctx context.Context, r *request) (resp response) {
	defer func() {
		if v := recover(); v != nil {
			c.s.log.Error("panic in websocket action", "conn", c.id, "action", r.action, "panic", v, "stack", string(debug.Stack()))
			resp = response{status: http.StatusInternalServerError, body: errorDoc{Error: "Unexpected error.", Exception: "An unexpected error occurred."}}
		}
	}()
	sch, ok := schemas[r.action]
	if !ok || kindOf(r.echo.Action) != kindString {
		return errorResponse(http.StatusBadRequest, actionName(r.echo.Action)+" is not a valid action")
	}
	if !sch.valid(r) {
		return errorResponse(http.StatusBadRequest, "Schema validation failed.")
	}
	if r.action == "authenticate" {
		return c.authenticate(ctx, r)
	}
	sc, ok, err := c.scope(r)
	if !ok {
		return errorResponse(http.StatusForbidden, "Not authentified.")
	}
	if err != nil {
		return c.fail(r, err)
	}
	if p := c.project.Load(); p == nil || *p != sc.Project {
		name := sc.Project // allocated only when the project changes
		c.project.Store(&name)
	}
	run, ok := actions[r.action]
	if !ok {
		return errorResponse(http.StatusNotImplemented, r.action+" is not implemented by this server.")
	}
	if sc.Project == "" {
		return c.fail(r, transport.ErrEmptyProject)
	}
	if !headerSafe(sc.Project) {
		return c.fail(r, errBadProject)
	}
	q := zaqar.QueueRef{Project: sc.Project, Name: r.str("queue_name")}
	if r.action != "queue_list" {
		// Zaqar checks names only where it creates queues; checking them
		// everywhere keeps names no queue can have away from the stores.
		if err := service.ValidateQueue(q); err != nil {
			return c.fail(r, err)
		}
	}
	if err := c.s.svc.Authorize(sc, service.Op(r.action)); err != nil {
		return c.fail(r, err)
	}
	return run(service.WithScope(ctx, sc), c, sc, q, r)
}

// actionName formats a request's action as Python's str() would.
func actionName(raw json.RawMessage) string {
	switch kindOf(raw) {
	case kindNull, kindInvalid:
		return "None"
	case kindString:
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	return string(raw)
}

// fail answers err through transport.Describe; 5xx are logged once here.
func (c *conn) fail(r *request, err error) response {
	status, doc := transport.Describe(err)
	if status >= 500 {
		c.s.failures.Error(c.s.log, "websocket request failed", "conn", c.id, "action", r.action, "status", status, "err", err)
	}
	return response{status: status, body: errorDoc{Error: doc.Title, Exception: doc.Description}}
}

// envelope is a response; members in Zaqar's order (response.py).
type envelope struct {
	Request echo `json:"request"`
	Body    any  `json:"body"`
	Headers struct {
		Status int `json:"status"`
	} `json:"headers"`
}

// encode builds the response frame, JSON or MessagePack.
func (c *conn) encode(e echo, binary bool, resp response) []byte {
	env := envelope{Request: e, Body: resp.body}
	env.Headers.Status = resp.status
	out, err := marshal(env)
	if err != nil {
		// Only a bug gets here: the body is built from our own types.
		c.s.log.Error("websocket response not encodable", "conn", c.id, "err", err)
		env.Body = errorDoc{Error: "Unexpected error.", Exception: "An unexpected error occurred."}
		env.Headers.Status = http.StatusInternalServerError
		env.Request = noRequest
		out, _ = marshal(env)
	}
	if !binary {
		return out
	}
	packed, err := jsonToMsgpack(out)
	if err == nil {
		return packed
	}
	// A stored value MessagePack cannot carry (a number beyond 64 bits,
	// posted before such bodies were refused): the action has run, so
	// the client must hear that its answer was lost rather than wait.
	c.s.log.Error("websocket response not encodable as MessagePack", "conn", c.id, "action", actionName(e.Action), "err", err)
	env.Body = errorDoc{Error: "Unexpected error.", Exception: "The response could not be encoded as MessagePack: " + err.Error()}
	env.Headers.Status = http.StatusInternalServerError
	for _, echo := range []echo{e, noRequest} {
		env.Request = echo
		if out, err = marshal(env); err == nil {
			if packed, err = jsonToMsgpack(out); err == nil {
				return packed
			}
		}
	}
	return nil // unreachable: noRequest and errorDoc always pack
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
