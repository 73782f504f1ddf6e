package zaqarapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/claims"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// CreateQueue creates queue with metadata (nil: none). Zaqar leaves an
// existing queue and its metadata alone; Extract says which happened.
func CreateQueue(ctx context.Context, c *gophercloud.ServiceClient, queue string, metadata map[string]any) (r CreateQueueResult) {
	if metadata == nil {
		metadata = map[string]any{}
	}
	resp, err := c.Put(ctx, queueURL(c, queue), metadata, nil, &gophercloud.RequestOpts{
		OkCodes: []int{http.StatusCreated, http.StatusNoContent},
	})
	_, r.Header, r.Err = gophercloud.ParseResponse(resp, err)
	r.created = err == nil && resp.StatusCode == http.StatusCreated
	return
}

// ListMessages pages the messages of queue; opts as messages.List's (nil:
// Zaqar's defaults). Read the pages with ExtractMessages.
func ListMessages(c *gophercloud.ServiceClient, queue string, opts messages.ListOptsBuilder) pagination.Pager {
	url := messagesURL(c, queue)
	if opts != nil {
		q, err := opts.ToMessageListQuery()
		if err != nil {
			return pagination.Pager{Err: err}
		}
		url += q
	}
	return pagination.NewPager(c, url, func(r pagination.PageResult) pagination.Page {
		return MessagePage{LinkedPageBase: pagination.LinkedPageBase{PageResult: r}, endpoint: c.Endpoint}
	})
}

// NewMessage is a message to post. Body is anything encoding/json encodes
// (Zaqar takes any JSON value); TTL 0 is the queue's default TTL.
type NewMessage struct {
	TTL   int `json:"ttl,omitempty"`
	Delay int `json:"delay,omitempty"`
	Body  any `json:"body"`
}

// errNoMessages: Zaqar refuses an empty post (400); say so before asking.
var errNoMessages = errors.New("no messages to post")

// PostMessages posts ms to queue in one request.
func PostMessages(ctx context.Context, c *gophercloud.ServiceClient, queue string, ms ...NewMessage) (r PostMessagesResult) {
	if len(ms) == 0 {
		r.Err = errNoMessages
		return
	}
	resp, err := c.Post(ctx, messagesURL(c, queue), map[string]any{"messages": ms}, &r.Body, &gophercloud.RequestOpts{
		OkCodes: []int{http.StatusCreated},
	})
	_, r.Header, r.Err = gophercloud.ParseResponse(resp, err)
	return
}

// CreateClaim claims messages of queue; opts as claims.Create's. With
// nothing to claim Zaqar answers 204 and Extract returns an empty Claim.
func CreateClaim(ctx context.Context, c *gophercloud.ServiceClient, queue string, opts claims.CreateOptsBuilder) (r CreateClaimResult) {
	b, q, err := opts.ToClaimCreateRequest()
	if err != nil {
		r.Err = err
		return
	}
	resp, err := c.Post(ctx, claimsURL(c, queue)+q, b, &r.Body, &gophercloud.RequestOpts{
		OkCodes: []int{http.StatusCreated, http.StatusNoContent},
	})
	_, r.Header, r.Err = gophercloud.ParseResponse(resp, err)
	return
}
