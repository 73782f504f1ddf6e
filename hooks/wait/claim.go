package wait

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/claims"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"

	"github.com/zaqar-go/suite/internal/consume"
)

// A claim takes up to 20 messages (Zaqar's limit) for a minute, so that two
// waiters never act on the same message; messages not acted on are given
// back at once by deleting the claim.
const (
	claimTTL   = 60
	claimLimit = 20
)

type claimedMessage struct {
	ID   string
	Body json.RawMessage
	// PostedAfter is an instant the message was surely posted after:
	// Zaqar's age is whole seconds, counted at some point of the claim
	// request.
	PostedAfter time.Time
}

// claim claims messages of queue with p (waiting on the server for them
// when p.Wait is set) and returns them with the claim id (empty when there
// were none) and p's pause before the next look.
func claim(ctx context.Context, c *gophercloud.ServiceClient, queue string, p *consume.Poller) (string, []claimedMessage, time.Duration, error) {
	opts := claims.CreateOpts{TTL: claimTTL, Grace: claimTTL, Limit: claimLimit}
	sent := time.Now()
	got, pause, err := p.Claim(ctx, c, queue, opts)
	if err != nil || len(got.Messages) == 0 {
		return "", nil, pause, err
	}
	if time.Since(sent) >= time.Second {
		// The server held the claim: the ages were counted up to the wait
		// after sent, so sent would say little of when the messages were
		// posted (Approval takes a message naming no pause only when
		// surely posted after it). Claim them again at once to learn it.
		release(ctx, c, queue, got.ID)
		sent = time.Now()
		if got, _, err = (&consume.Poller{}).Claim(ctx, c, queue, opts); err != nil || len(got.Messages) == 0 {
			return "", nil, pause, err
		}
	}
	var out []claimedMessage
	for _, m := range got.Messages {
		out = append(out, claimedMessage{ID: m.ID, Body: m.Body, PostedAfter: sent.Add(-time.Duration(m.Age+1) * time.Second)})
	}
	return got.ID, out, pause, nil
}

// release deletes the claim so its messages can be claimed again now.
func release(ctx context.Context, c *gophercloud.ServiceClient, queue, claimID string) {
	if claimID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = claims.Delete(ctx, c, queue, claimID).ExtractErr()
}

// consumeMessage returns an Ack that deletes message id under the claim and then
// gives the claim's other messages back, and the matching Release.
func consumeMessage(c *gophercloud.ServiceClient, queue, claimID, id string) (func(context.Context) error, func(context.Context)) {
	ack := func(ctx context.Context) error {
		err := messages.Delete(ctx, c, queue, id, messages.DeleteOpts{ClaimID: claimID}).ExtractErr()
		release(ctx, c, queue, claimID)
		return err
	}
	return ack, func(ctx context.Context) { release(ctx, c, queue, claimID) }
}
