package ws

import (
	"context"
	"net/http"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var errNoListener = &zaqar.Error{Kind: zaqar.Unavailable, Title: zaqar.TitleUnavailable,
	Desc: "This server has no notification listener for connection subscriptions."}

// subscriptionCreate subscribes a subscriber URI or, without one (absent
// or empty, as Zaqar's "not subscriber"), this connection. Any duplicate
// answers 409 with Zaqar's text body.
func subscriptionCreate(ctx context.Context, c *conn, sc service.Scope, q zaqar.QueueRef, r *request) response {
	var id string
	var err error
	if r.str("subscriber") != "" {
		id, err = c.s.svc.CreateSubscription(ctx, sc, q, r.doc("subscriber", "ttl", "options"))
	} else if c.s.opts.NotificationURL == "" {
		err = errNoListener
	} else {
		id, err = c.s.svc.SubscribeConnection(ctx, sc, q, c.s.opts.NotificationURL+c.id, r.doc("ttl", "options"))
		if err == nil {
			c.mu.Lock()
			c.subs = append(c.subs, subscription{q: q, id: id})
			c.mu.Unlock()
			// Notifications use the framing of the last connection
			// subscription made (protocol.py notify_in_binary).
			c.notifyBinary.Store(r.binary)
		}
	}
	if zaqar.KindOf(err) == zaqar.Conflict {
		return response{status: http.StatusConflict, body: "Subscription " + q.Name + " not created."}
	}
	if err != nil {
		return c.fail(r, err)
	}
	return response{status: http.StatusCreated, body: map[string]string{
		"subscription_id": id, "message": "Subscription " + q.Name + " created.",
	}}
}

func subscriptionGet(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	sub, err := c.s.svc.GetSubscription(ctx, q, r.str("subscription_id"))
	if err != nil {
		return c.fail(r, err)
	}
	return response{status: http.StatusOK, body: transport.SubscriptionOf(sub)}
}

func subscriptionList(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	subs, err := c.s.svc.ListSubscriptions(ctx, q, r.str("marker"), r.integer("limit"))
	if err != nil {
		return c.fail(r, err)
	}
	docs := make([]transport.Subscription, len(subs))
	for i, s := range subs {
		docs[i] = transport.SubscriptionOf(s)
	}
	return response{status: http.StatusOK, body: map[string]any{"subscriptions": docs}}
}

func subscriptionDelete(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	id := r.str("subscription_id")
	if err := c.s.svc.DeleteSubscription(ctx, q, id); err != nil {
		return c.fail(r, err)
	}
	return response{status: http.StatusNoContent, body: "Subscription " + id + " removed."}
}
