package ws

import (
	"context"
	"net/http"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// claimCreate answers 201 with the claim id and its messages, or 204 with
// {"claim_id": null} when nothing was claimable (endpoints.py claim_create).
func claimCreate(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	claim, msgs, err := c.s.svc.CreateClaim(ctx, q, r.doc("ttl", "grace"), r.integer("limit"), r.integer("wait"))
	if err != nil {
		return c.fail(r, err)
	}
	if claim.ID == "" || len(msgs) == 0 {
		return response{status: http.StatusNoContent, body: map[string]any{"claim_id": nil}}
	}
	return response{status: http.StatusCreated, body: map[string]any{"claim_id": claim.ID, "messages": claimed(claim.ID, msgs)}}
}

// claimed formats messages of a claim: each carries the claim's id.
func claimed(id string, msgs []zaqar.Message) []messageDoc {
	out := messagesOut(msgs)
	for i := range out {
		out[i].ClaimID = &id
	}
	return out
}

func claimGet(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	id := r.str("claim_id")
	claim, msgs, err := c.s.svc.GetClaim(ctx, q, id)
	if err != nil {
		return c.fail(r, err)
	}
	return response{status: http.StatusOK, body: map[string]any{
		"age": transport.Seconds(claim.Age), "ttl": transport.Seconds(claim.TTL), "messages": claimed(id, msgs),
	}}
}

func claimUpdate(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	id := r.str("claim_id")
	doc := r.doc("ttl", "grace")
	if doc == nil {
		doc = []byte("{}") // both default, as in Zaqar
	}
	if err := c.s.svc.UpdateClaim(ctx, q, id, doc); err != nil {
		return c.fail(r, err)
	}
	return response{status: http.StatusNoContent, body: "Claim " + id + " updated."}
}

func claimDelete(ctx context.Context, c *conn, _ service.Scope, q zaqar.QueueRef, r *request) response {
	id := r.str("claim_id")
	if err := c.s.svc.DeleteClaim(ctx, q, id); err != nil {
		return c.fail(r, err)
	}
	return response{status: http.StatusNoContent, body: "Claim " + id + " deleted."}
}
