package ws

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/policy"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/signedurl"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// tokens is a fake Authenticate hook: the real Keystone test lives with
// the app wiring. Tokens map to identities; "down" is Keystone failing.
type tokens struct {
	mu  sync.Mutex
	ids map[string]Identity
}

func (k *tokens) set(token string, id Identity) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ids[token] = id
}

func (k *tokens) authenticate(_ context.Context, token string) (Identity, error) {
	if token == "down" {
		return Identity{}, zaqar.Unavailablef(errors.New("connection refused"), "Keystone is unavailable.")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	id, ok := k.ids[token]
	if !ok {
		return Identity{}, errors.New("invalid token")
	}
	return id, nil
}

func newAuthEnv(t *testing.T, pol *policy.Enforcer) (*env, *tokens) {
	k := &tokens{ids: map[string]Identity{
		"good":   {ProjectID: "p-token", UserID: "u1", Roles: []string{"member"}, ExpiresAt: time.Now().Add(time.Hour)},
		"admin":  {ProjectID: "p-token", UserID: "u2", Roles: []string{"admin"}, ExpiresAt: time.Now().Add(time.Hour)},
		"noexp":  {ProjectID: "p-token", UserID: "u3"},
		"other":  {ProjectID: "p-other", UserID: "u4", ExpiresAt: time.Now().Add(time.Hour)},
		"member": {ProjectID: "p-token", UserID: "u5", Roles: []string{"member"}, ExpiresAt: time.Now().Add(time.Hour)},
	}}
	return newEnv(t, envOptions{signingKey: "secret", ws: Options{Authenticate: k.authenticate}, policy: pol}), k
}

var authOK = map[string]any{"message": "Authentified."}

func TestAuthentication(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	modes(t, func(t *testing.T, binary bool) {
		cl := e.dial(binary, "p-header")
		qname := "authq-json"
		if binary {
			qname = "authq-msgpack"
		}
		notAuth := map[string]any{"error": "Not authentified."}
		expect(t, "queue_list before authenticate", cl.do("queue_list", nil), http.StatusForbidden, notAuth)
		expect(t, "queue_create before authenticate", cl.do("queue_create", map[string]any{"queue_name": "q"}), http.StatusForbidden, notAuth)
		// Schema errors come first, as in Zaqar.
		expect(t, "schema before auth", cl.do("queue_get", nil), http.StatusBadRequest, map[string]any{"error": "Schema validation failed."})

		auth := func(token string) reply {
			h := map[string]any{"X-Auth-Token": token, "X-Project-ID": "p-header", "Client-ID": clientID}
			cl.send(map[string]any{"action": "authenticate", "headers": h})
			return cl.reply()
		}
		r := auth("bad")
		expect(t, "authenticate bad token", r, http.StatusUnauthorized, map[string]any{"error": "Authentication failed."})
		if want := map[string]any{"action": "authenticate", "body": map[string]any{}, "headers": map[string]any{}, "api": "v2"}; !equal(r.Request, want) {
			t.Errorf("authenticate echo = %v, want %v", r.Request, want)
		}
		expect(t, "authenticate keystone down", auth("down"), http.StatusServiceUnavailable, map[string]any{"error": "Authentication failed."})
		expect(t, "still refused", cl.do("queue_list", nil), http.StatusForbidden, notAuth)

		expect(t, "authenticate", auth("good"), http.StatusOK, authOK)
		// A request naming another project is refused, not run in the
		// token's project.
		notAuthorized := map[string]any{"error": "Not authorized", "exception": "You are not authorized to complete this action."}
		expect(t, "queue_create in another project", cl.do("queue_create", map[string]any{"queue_name": qname}), http.StatusForbidden, notAuthorized)
		for _, project := range []string{"p-token", "p-header"} {
			if _, err := e.store.Queues().Get(t.Context(), zaqar.QueueRef{Project: project, Name: qname}); err == nil {
				t.Errorf("queue created in %s by a refused request", project)
			}
		}
		cl.headers["X-Project-ID"] = "p-token"
		expect(t, "queue_create in the token's project", cl.do("queue_create", map[string]any{"queue_name": qname}), http.StatusCreated, nil)
		if _, err := e.store.Queues().Get(t.Context(), zaqar.QueueRef{Project: "p-token", Name: qname}); err != nil {
			t.Errorf("queue not created in the token's project: %v", err)
		}
		// A failed re-authentication ends the earlier one.
		expect(t, "re-authenticate bad", auth("bad"), http.StatusUnauthorized, nil)
		expect(t, "refused again", cl.do("queue_list", nil), http.StatusForbidden, notAuth)
		expect(t, "re-authenticate", auth("other"), http.StatusOK, authOK)
		cl.headers["X-Project-ID"] = "p-other"
		expect(t, "other project", cl.do("queue_list", nil), http.StatusOK, map[string]any{"queues": []any{}})
	})
}

func TestAuthenticationDisabled(t *testing.T) {
	e := newEnv(t, envOptions{})
	cl := e.dial(false, "p")
	// python-zaqarclient authenticates first whatever the server's setting.
	cl.headers["X-Auth-Token"] = "anything"
	expect(t, "authenticate", cl.do("authenticate", nil), http.StatusOK, authOK)
	expect(t, "queue_list", cl.do("queue_list", nil), http.StatusOK, nil)
}

// TestAuthenticationExpires: the server closes with 4003 when the token
// expires; a later authenticate replaces the timer.
func TestAuthenticationExpires(t *testing.T) {
	e, k := newAuthEnv(t, nil)
	auth := func(cl *client, token string) {
		t.Helper()
		cl.send(map[string]any{"action": "authenticate", "headers": map[string]any{"X-Auth-Token": token, "X-Project-ID": "p"}})
		expect(t, "authenticate "+token, cl.reply(), http.StatusOK, authOK)
	}
	k.set("short", Identity{ProjectID: "p", ExpiresAt: time.Now().Add(300 * time.Millisecond)})
	cl := e.dial(false, "p")
	auth(cl, "short")
	ce := cl.closeStatus()
	if ce.Code != StatusAuthExpired || ce.Reason != "Authentication expired." {
		t.Errorf("close = %d %q, want 4003 Authentication expired.", ce.Code, ce.Reason)
	}

	k.set("short2", Identity{ProjectID: "p", ExpiresAt: time.Now().Add(300 * time.Millisecond)})
	cl = e.dial(true, "p")
	auth(cl, "short2")
	k.set("long", Identity{ProjectID: "p", ExpiresAt: time.Now().Add(time.Hour)})
	auth(cl, "long")
	deadline := time.Now().Add(600 * time.Millisecond)
	for time.Now().Before(deadline) { // past the first token's expiry
		expect(t, "queue_list after re-authentication", cl.do("queue_list", nil), http.StatusOK, nil)
	}
}

// TestPreSigned: without a token, message actions carrying valid
// pre-signed headers run (§6); anything else stays refused.
func TestPreSigned(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	ctx := t.Context()
	cl := e.dial(false, "p-signed")
	u := signedurl.Sign("secret", "p-signed", []string{"/v2/queues/myqueue/messages"}, []string{"GET", "POST"}, time.Now().Add(time.Hour))
	signed := func(paths, methods any, sig string) {
		cl.headers = map[string]any{"Client-ID": clientID, "X-Project-ID": "p-signed",
			"URL-Signature": sig, "URL-Expires": u.Expires, "URL-Methods": methods, "URL-Paths": paths}
	}
	signed(u.Paths, u.Methods, u.Signature)
	expect(t, "message_post signed", cl.do("message_post", map[string]any{"queue_name": "myqueue", "messages": []any{map[string]any{"body": 1}}}),
		http.StatusCreated, nil)
	r := cl.do("message_list", map[string]any{"queue_name": "myqueue", "echo": true})
	expect(t, "message_list signed", r, http.StatusOK, nil)
	msgs, _ := r.obj()["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("message_list = %v", r.Body)
	}
	id := msgs[0].(map[string]any)["id"].(string)
	expect(t, "message_get signed", cl.do("message_get", map[string]any{"queue_name": "myqueue", "message_id": id}), http.StatusOK, nil)
	notAuth := map[string]any{"error": "Not authentified."}
	expect(t, "method not signed", cl.do("message_delete", map[string]any{"queue_name": "myqueue", "message_id": id}), http.StatusForbidden, notAuth)
	expect(t, "other queue", cl.do("message_list", map[string]any{"queue_name": "otherqueue"}), http.StatusForbidden, notAuth)
	expect(t, "not a message action", cl.do("queue_list", nil), http.StatusForbidden, notAuth)
	expect(t, "claims are never signed", cl.do("claim_create", map[string]any{"queue_name": "myqueue"}), http.StatusForbidden, notAuth)
	tampered := "0" + u.Signature[1:]
	if u.Signature[0] == '0' {
		tampered = "1" + u.Signature[1:]
	}
	signed(u.Paths, u.Methods, tampered)
	expect(t, "tampered signature", cl.do("message_list", map[string]any{"queue_name": "myqueue"}), http.StatusForbidden, notAuth)
	signed([]string{"/v2/queues/otherqueue/messages"}, u.Methods, u.Signature)
	expect(t, "paths changed", cl.do("message_list", map[string]any{"queue_name": "otherqueue"}), http.StatusForbidden, notAuth)
	signed("/v2/queues/myqueue/messages", "GET,POST", u.Signature)
	expect(t, "strings, not arrays", cl.do("message_list", map[string]any{"queue_name": "myqueue"}), http.StatusForbidden, notAuth)
	signed(u.Paths, u.Methods, u.Signature)
	cl.headers["X-Project-ID"] = "p-other"
	expect(t, "other project", cl.do("message_list", map[string]any{"queue_name": "myqueue"}), http.StatusForbidden, notAuth)
	if n, err := e.store.Messages().Stats(ctx, zaqar.QueueRef{Project: "p-signed", Name: "myqueue"}); err != nil || n.Total != 1 {
		t.Errorf("stats = %v, %v", n, err)
	}
}

// TestPolicy: actions obey the rules of their REST routes, with the
// token's roles.
func TestPolicy(t *testing.T) {
	rules := policy.Defaults()
	rules["queues:delete"] = "role:admin"
	pol, err := policy.New(rules)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := newAuthEnv(t, pol)
	for _, tc := range []struct {
		token  string
		status int
	}{{"member", http.StatusForbidden}, {"admin", http.StatusNoContent}} {
		cl := e.dial(false, "p-token")
		cl.send(map[string]any{"action": "authenticate", "headers": map[string]any{"X-Auth-Token": tc.token, "X-Project-ID": "p-token"}})
		expect(t, "authenticate", cl.reply(), http.StatusOK, authOK)
		r := cl.do("queue_delete", map[string]any{"queue_name": "q"})
		expect(t, "queue_delete as "+tc.token, r, tc.status, nil)
		if tc.status == http.StatusForbidden && !equal(r.Body, map[string]any{"error": "Not authorized", "exception": "You are not authorized to complete this action."}) {
			t.Errorf("refusal body = %v", r.Body)
		}
	}
}

// TestEveryActionHasARule: each action's name is a service.Op with a
// policy rule (one missing from the table would be refused to everyone).
func TestEveryActionHasARule(t *testing.T) {
	svc := service.New(memory.New(), service.Options{Limits: zaqar.DefaultLimits()})
	for name := range actions {
		if err := svc.Authorize(service.Scope{Project: "p"}, service.Op(name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
