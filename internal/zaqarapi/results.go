package zaqarapi

import (
	"encoding/json"
	"net/url"
	"path"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// CreateQueueResult is the answer to CreateQueue.
type CreateQueueResult struct {
	gophercloud.HeaderResult
	created bool
}

// Extract reports whether the queue was created (false: it existed).
func (r CreateQueueResult) Extract() (created bool, err error) {
	return r.created, r.Err
}

// Message is a message as Zaqar lists or claims it, its body raw JSON.
type Message struct {
	ID   string          `json:"id"`
	Href string          `json:"href"`
	Age  int             `json:"age"` // seconds since it was posted, rounded down
	TTL  int             `json:"ttl"`
	Body json.RawMessage `json:"body"`
}

// MessagePage is a page of ListMessages.
type MessagePage struct {
	pagination.LinkedPageBase
	endpoint string
}

// IsEmpty reports a page without messages (Zaqar answers 204, or 200 with
// an empty list, after the last page).
func (p MessagePage) IsEmpty() (bool, error) {
	if p.StatusCode == 204 {
		return true, nil
	}
	ms, err := ExtractMessages(p)
	return len(ms) == 0, err
}

// NextPageURL follows the page's next link, which Zaqar gives relative to
// its root (/v2/queues/...).
func (p MessagePage) NextPageURL() (string, error) {
	var s struct {
		Links []gophercloud.Link `json:"links"`
	}
	if err := p.ExtractInto(&s); err != nil {
		return "", err
	}
	next, err := gophercloud.ExtractNextURL(s.Links)
	if err != nil || next == "" {
		return "", err
	}
	base, err := url.Parse(p.endpoint)
	if err != nil {
		return "", err
	}
	ref, err := url.Parse(next)
	if err != nil {
		return "", err
	}
	return base.ResolveReference(ref).String(), nil
}

// ExtractMessages reads the messages of a MessagePage.
func ExtractMessages(p pagination.Page) ([]Message, error) {
	var s struct {
		Messages []Message `json:"messages"`
	}
	err := p.(MessagePage).ExtractInto(&s)
	return s.Messages, err
}

// PostMessagesResult is the answer to PostMessages.
type PostMessagesResult struct {
	gophercloud.Result
}

// Extract returns the ids of the posted messages, in the order posted.
func (r PostMessagesResult) Extract() ([]string, error) {
	var s struct {
		Resources []string `json:"resources"`
	}
	if err := r.ExtractInto(&s); err != nil {
		return nil, err
	}
	ids := make([]string, len(s.Resources))
	for i, href := range s.Resources {
		ids[i] = path.Base(href)
	}
	return ids, nil
}

// Claim is a claim and the messages it took; ID is empty when there was
// nothing to claim.
type Claim struct {
	ID       string
	Messages []Message
}

// CreateClaimResult is the answer to CreateClaim.
type CreateClaimResult struct {
	gophercloud.Result
}

// Extract returns the claim. Zaqar gives a claimed message's id and the
// claim's only inside the message's href
// (/v2/queues/q/messages/ID?claim_id=CID); older Zaqars leave id out.
func (r CreateClaimResult) Extract() (Claim, error) {
	var s struct {
		Messages []Message `json:"messages"`
	}
	if r.Err != nil {
		return Claim{}, r.Err
	}
	if r.Body == nil { // 204: nothing to claim
		return Claim{}, nil
	}
	if err := r.ExtractInto(&s); err != nil {
		return Claim{}, err
	}
	var c Claim
	for _, m := range s.Messages {
		if u, err := url.Parse(m.Href); err == nil {
			if c.ID == "" {
				c.ID = u.Query().Get("claim_id")
			}
			if m.ID == "" {
				m.ID = path.Base(u.Path)
			}
		}
		c.Messages = append(c.Messages, m)
	}
	return c, nil
}
