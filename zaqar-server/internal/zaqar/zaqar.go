package zaqar

import (
	"encoding/json"
	"time"
)

// QueueRef names a queue within a project; every queue-scoped call takes one.
type QueueRef struct {
	Project string
	Name    string
}

// Metadata is a queue's metadata document. Numbers are json.Number so integers
// survive a round trip through any store unchanged.
type Metadata map[string]any

// Queue is one entry of a queue listing.
type Queue struct {
	Name     string
	Metadata Metadata // nil unless a detailed listing asked for it
}

// NewMessage is a message as accepted by a post, after defaults are applied.
type NewMessage struct {
	Body     json.RawMessage
	TTL      time.Duration
	Delay    time.Duration
	ClientID string // the producer, for echo filtering
	Checksum string // "MD5:<hex>" when checksums are enabled
}

// Message is a stored message as a reader sees it at the time of the read.
type Message struct {
	ID         string
	Body       json.RawMessage
	TTL        time.Duration // may grow when a claim's grace extends the message's life
	Age        time.Duration // time since the message was posted
	Created    time.Time
	ClientID   string
	ClaimID    string // empty unless under a live claim
	ClaimCount int
	Checksum   string
	Marker     string // opaque position in the queue, for paging
}

// Claim is a live claim on a batch of messages.
type Claim struct {
	ID    string
	TTL   time.Duration
	Grace time.Duration
	Age   time.Duration // time since created or last renewed
}

// Subscription is a subscriber registered on a queue.
type Subscription struct {
	ID         string
	Source     string // queue name
	Subscriber string // URI
	TTL        time.Duration
	Age        time.Duration
	Options    map[string]any
	Confirmed  bool
}

// Stats are the counters of a queue at the time of the read.
type Stats struct {
	Claimed, Free, Total int
	Oldest, Newest       *MessageStat // nil when the queue is empty
}

// MessageStat locates one message for the oldest/newest entries of Stats.
type MessageStat struct {
	ID      string
	Age     time.Duration
	Created time.Time
	// Message is the message as a reader sees it (body, TTL, claim),
	// which Zaqar's Redis driver reports and clients print. Stores leave
	// it nil; the service reads it, and it stays nil when the message
	// was gone by then.
	Message *Message
}
