package zaqarapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

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

// ListMessages pages the messages of queue; opts as messages.List's, or
// ListMessagesOpts to wait (nil: Zaqar's defaults). Read the pages with
// ExtractMessages.
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

// CreateClaim claims messages of queue; opts as claims.Create's, or
// CreateClaimOpts to wait. With nothing to claim Zaqar answers 204 and
// Extract returns an empty Claim.
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

// Long polling is zaqar-server's extension (docs/long-polling.md): with
// wait=S a claim or a listing that finds nothing is held up to S seconds
// (the server's [transport] max_wait at most) and answered as soon as
// something arrives. Zaqar ignores the parameter and answers at once.

// errNegativeWait: the server would refuse it (400); say so before asking.
var errNegativeWait = errors.New("wait must not be negative")

// CreateClaimOpts are claims.CreateOpts plus Wait.
type CreateClaimOpts struct {
	claims.CreateOpts
	// Wait asks the server to hold the request up to Wait seconds while
	// there is nothing to claim; 0 does not send the parameter.
	Wait int
}

// ToClaimCreateRequest implements claims.CreateOptsBuilder.
func (o CreateClaimOpts) ToClaimCreateRequest() (map[string]any, string, error) {
	if o.Wait < 0 {
		return nil, "", errNegativeWait
	}
	b, q, err := o.CreateOpts.ToClaimCreateRequest()
	return b, withWait(q, o.Wait), err
}

// ListMessagesOpts are messages.ListOpts plus Wait.
type ListMessagesOpts struct {
	messages.ListOpts
	// Wait asks the server to hold the first page up to Wait seconds while
	// it would be empty; 0 does not send the parameter. Zaqar's next links
	// do not carry it: later pages never wait.
	Wait int
}

// ToMessageListQuery implements messages.ListOptsBuilder.
func (o ListMessagesOpts) ToMessageListQuery() (string, error) {
	if o.Wait < 0 {
		return "", errNegativeWait
	}
	q, err := o.ListOpts.ToMessageListQuery()
	return withWait(q, o.Wait), err
}

// withWait adds wait to query ("" or "?..."), when set.
func withWait(query string, wait int) string {
	if wait == 0 {
		return query
	}
	if query == "" {
		return "?wait=" + strconv.Itoa(wait)
	}
	return query + "&wait=" + strconv.Itoa(wait)
}
