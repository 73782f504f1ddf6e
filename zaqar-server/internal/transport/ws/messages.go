package ws

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// messageDoc is a message as Zaqar's WebSocket API shows it
// (zaqar/common/api/utils.py format_message): no href, no checksum.
type messageDoc struct {
	ID      string          `json:"id"`
	ClaimID *string         `json:"claim_id"`
	TTL     int64           `json:"ttl"`
	Age     int64           `json:"age"`
	Body    json.RawMessage `json:"body"`
}

// messageOut formats m. Zaqar fills claim_id only in claim answers; we
// show a message's live claim wherever the message appears.
func messageOut(m zaqar.Message) messageDoc {
	d := messageDoc{ID: m.ID, TTL: transport.Seconds(m.TTL), Age: transport.Seconds(m.Age), Body: m.Body}
	if len(d.Body) == 0 {
		d.Body = jsonNull
	}
	if m.ClaimID != "" {
		id := m.ClaimID
		d.ClaimID = &id
	}
	return d
}

func messagesOut(msgs []zaqar.Message) []messageDoc {
	out := make([]messageDoc, len(msgs))
	for i, m := range msgs {
		out[i] = messageOut(m)
	}
	return out
}

var errSchema = errorResponse(http.StatusBadRequest, "Schema validation failed.")

func messageList(ctx context.Context, c *conn, sc service.Scope, q zaqar.QueueRef, r *request) response {
	if err := c.s.svc.ValidateClientID(sc.ClientID); err != nil {
		return c.fail(r, err)
	}
	page, err := c.s.svc.ListMessages(ctx, sc, q, service.MessageListParams{
		Marker: r.str("marker"), Limit: r.integer("limit"), Echo: r.boolean("echo"),
		IncludeClaimed: r.boolean("include_claimed"), IncludeDelayed: r.boolean("include_delayed"),
		Wait: r.integer("wait"),
	})
	if err != nil {
		return c.fail(r, err)
	}
	return response{status: http.StatusOK, body: map[string]any{"messages": messagesOut(page.Messages)}}
}

// messageGet answers {"messages": <one message>}: the key is plural and
// the value an object, as in Zaqar.
func messageGet(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	m, err := c.s.svc.GetMessage(ctx, q, r.str("message_id"))
	if err != nil {
		return c.fail(r, err)
	}
	return response{status: http.StatusOK, body: map[string]any{"messages": messageOut(m)}}
}

// messageGetMany answers the messages found, possibly none: Zaqar's
// message_get_many has no 404.
func messageGetMany(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	ids, _, ok := r.strings("message_ids")
	if !ok {
		return errSchema
	}
	msgs, err := c.s.svc.GetMessages(ctx, q, ids)
	if err != nil && zaqar.KindOf(err) != zaqar.NotFound {
		return c.fail(r, err)
	}
	return response{status: http.StatusOK, body: map[string]any{"messages": messagesOut(msgs)}}
}

// messagePost posts body.messages. The size limit applies to the JSON of
// the messages array (Zaqar measures its Python repr).
func messagePost(ctx context.Context, c *conn, sc service.Scope, q zaqar.QueueRef, r *request) response {
	if err := c.s.svc.ValidateClientID(sc.ClientID); err != nil {
		return c.fail(r, err)
	}
	raw := r.body["messages"]
	doc := make([]byte, 0, len(raw)+len(`{"messages":}`))
	doc = append(append(append(doc, `{"messages":`...), raw...), '}')
	ids, err := c.s.svc.PostMessages(ctx, sc, q, doc, int64(len(raw)))
	if err != nil {
		return c.fail(r, err)
	}
	return response{status: http.StatusCreated, body: map[string]any{"message_ids": ids}}
}

func messageDelete(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	if err := c.s.svc.DeleteMessage(ctx, q, r.str("message_id"), r.str("claim_id")); err != nil {
		return c.fail(r, err)
	}
	return response{status: http.StatusNoContent, body: emptyObject}
}

// messageDeleteMany deletes by message_ids (204) or pops (200 with the
// messages); exactly one of them must be given.
func messageDeleteMany(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	ids, hasIDs, ok := r.strings("message_ids")
	if !ok {
		return errSchema
	}
	p := service.DeleteParams{Pop: r.integer("pop")}
	if hasIDs {
		p.IDs = ids
	}
	if c.s.svc.Limits().MessageDeleteWithClaimID {
		claimIDs, hasClaims, ok := r.strings("claim_ids")
		if !ok {
			return errSchema
		}
		if hasClaims {
			p.ClaimIDs = claimIDs
		}
	}
	popped, err := c.s.svc.DeleteMessages(ctx, q, p)
	if err != nil {
		return c.fail(r, err)
	}
	if p.IDs != nil {
		return response{status: http.StatusNoContent, body: emptyObject}
	}
	return response{status: http.StatusOK, body: map[string]any{"messages": transport.PoppedOf(popped)}}
}
