package ws

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/signedurl"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// StatusAuthExpired closes a connection whose token expired
// (zaqar/transport/websocket/protocol.py _deauthenticate).
const StatusAuthExpired websocket.StatusCode = 4003

// authEcho is the request echo of every authenticate answer: Zaqar answers
// from a fresh request, not the one sent (protocol.py _auth_response).
var authEcho = echo{Action: json.RawMessage(`"authenticate"`), Body: emptyObject, Headers: emptyObject, API: "v2"}

var authentified = map[string]string{"message": "Authentified."}

// authenticate validates the token of an authenticate action and keeps its
// identity for the connection until it expires; sending it again replaces
// the identity and the expiry.
func (c *conn) authenticate(ctx context.Context, r *request) response {
	if c.s.opts.Authenticate == nil {
		return response{status: http.StatusOK, body: authentified, echo: &authEcho}
	}
	actx, cancel := context.WithTimeout(ctx, c.s.opts.AuthTimeout)
	id, err := c.s.opts.Authenticate(actx, r.header("X-Auth-Token"))
	cancel()
	if err != nil {
		c.setIdentity(nil)
		status := http.StatusUnauthorized
		var ze *zaqar.Error
		if errors.As(err, &ze) {
			status, _ = transport.Describe(err)
		}
		if status >= 500 {
			c.s.log.Error("websocket authentication unavailable", "conn", c.id, "status", status, "err", err)
		}
		return response{status: status, body: protocolDoc{Error: "Authentication failed."}, echo: &authEcho}
	}
	c.setIdentity(&id)
	c.mu.Lock()
	c.token = r.header("X-Auth-Token")
	c.mu.Unlock()
	return response{status: http.StatusOK, body: authentified, echo: &authEcho}
}

// setIdentity replaces the connection's identity and its expiry timer; nil
// ends the authentication.
func (c *conn) setIdentity(id *Identity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expiry != nil {
		c.expiry.Stop()
		c.expiry = nil
	}
	c.identity = id
	if id == nil {
		c.token = ""
	}
	if id == nil || id.ExpiresAt.IsZero() {
		return
	}
	c.expiry = time.AfterFunc(time.Until(id.ExpiresAt), func() {
		c.mu.Lock()
		current := c.identity == id
		if current {
			c.identity, c.token = nil, ""
		}
		c.mu.Unlock()
		if current { // not replaced by a later authenticate meanwhile
			c.s.log.Info("websocket token expired: closing the connection", "conn", c.id)
			c.kill(StatusAuthExpired, "Authentication expired.")
		}
	})
}

// errOtherProject refuses a request that names, in X-Project-ID, another
// project than the authenticated token's, as Zaqar does; running it in the
// token's project instead would let a client believe it wrote elsewhere.
var errOtherProject = &zaqar.Error{Kind: zaqar.Forbidden, Title: zaqar.TitleNotAuthorized,
	Desc: "You are not authorized to complete this action."}

// scope returns who is asking; ok is false when authentication is on and
// neither a token nor a pre-signed URL vouches for the request. err is set
// when the request is refused although authenticated.
func (c *conn) scope(r *request) (sc service.Scope, ok bool, err error) {
	sc = service.Scope{Project: r.header("X-Project-ID"), ClientID: r.header("Client-ID")}
	if c.s.opts.Authenticate == nil {
		// No authentication: like the HTTP API without auth_token, the
		// identity headers are taken as sent.
		sc.UserID = r.header("X-User-ID")
		for _, role := range strings.Split(r.header("X-Roles"), ",") {
			if role = strings.TrimSpace(role); role != "" {
				sc.Roles = append(sc.Roles, role)
			}
		}
		return sc, true, nil
	}
	c.mu.Lock()
	id, token := c.identity, c.token
	c.mu.Unlock()
	if id != nil {
		// The token's project; X-Project-ID may repeat it or be left out.
		// The token stays for trust+http(s) subscriptions, as Zaqar keeps
		// the auth environment for them.
		if sc.Project != "" && sc.Project != id.ProjectID {
			return sc, true, errOtherProject
		}
		sc.Project, sc.UserID, sc.Roles, sc.Token = id.ProjectID, id.UserID, id.Roles, token
		return sc, true, nil
	}
	if _, signed := r.headers["URL-Signature"]; signed && c.verifySigned(r) {
		sc.Signed = true
		return sc, true, nil
	}
	return sc, false, nil
}

// signedMethods are the HTTP methods the message actions stand for
// (zaqar/api/handler.py _actions_mapping); nothing else may be pre-signed.
var signedMethods = map[string]string{
	"message_list":        http.MethodGet,
	"message_get":         http.MethodGet,
	"message_get_many":    http.MethodGet,
	"message_post":        http.MethodPost,
	"message_delete":      http.MethodDelete,
	"message_delete_many": http.MethodDelete,
}

// verifySigned checks pre-signed URL headers; URL-Methods and URL-Paths
// are JSON arrays here. Unlike Zaqar, the request's queue (and message)
// must lie under a signed path, as over HTTP: a URL signed for one queue
// does not open another.
func (c *conn) verifySigned(r *request) bool {
	method, ok := signedMethods[r.action]
	if !ok {
		return false
	}
	var methods, paths []string
	if json.Unmarshal(r.headers["URL-Methods"], &methods) != nil || json.Unmarshal(r.headers["URL-Paths"], &paths) != nil {
		return false
	}
	q := zaqar.QueueRef{Project: r.header("X-Project-ID"), Name: r.str("queue_name")}
	if service.ValidateQueue(q) != nil {
		return false
	}
	path := q.Path() + "/messages"
	if r.action == "message_get" || r.action == "message_delete" {
		path += "/" + r.str("message_id")
	}
	return c.s.svc.VerifySigned(signedurl.Request{
		Signature: r.header("URL-Signature"), Expires: r.header("URL-Expires"),
		Methods: strings.Join(methods, ","), Paths: strings.Join(paths, ","),
		Project: q.Project, Method: method, Path: path,
	}, time.Now())
}
