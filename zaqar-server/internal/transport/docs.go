package transport

import (
	"encoding/json"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Subscription is a subscription as both wires show it.
type Subscription struct {
	ID         string         `json:"id"`
	Source     string         `json:"source"`
	Subscriber string         `json:"subscriber"`
	TTL        int64          `json:"ttl"`
	Age        int64          `json:"age"`
	Options    map[string]any `json:"options"`
	Confirmed  bool           `json:"confirmed"`
}

// SubscriptionOf renders s; options are never null.
func SubscriptionOf(s zaqar.Subscription) Subscription {
	opts := s.Options
	if opts == nil {
		opts = map[string]any{}
	}
	return Subscription{ID: s.ID, Source: s.Source, Subscriber: s.Subscriber, TTL: Seconds(s.TTL),
		Age: Seconds(s.Age), Options: opts, Confirmed: s.Confirmed}
}

// Seconds is a duration in whole seconds, never negative, as Zaqar shows
// ttl and age.
func Seconds(d time.Duration) int64 {
	if d < 0 {
		return 0
	}
	return int64(d / time.Second)
}

// MessageStat is the oldest or newest message of queue stats as both
// wires show it: Zaqar's Redis driver (what most deployments run) gives the
// message as a reader sees it plus its creation time; its MongoDB driver
// only age and created, a subset clients written for it still accept.
// REST names the message by Href, WebSocket by ID.
type MessageStat struct {
	ID         string          `json:"id,omitempty"`
	Href       string          `json:"href,omitempty"`
	Age        int64           `json:"age"`
	Created    string          `json:"created"`
	Body       json.RawMessage `json:"body,omitempty"`
	TTL        *int64          `json:"ttl,omitempty"`
	ClaimCount *int            `json:"claim_count,omitempty"`
	ClaimID    json.RawMessage `json:"claim_id,omitempty"` // null when not claimed
	Checksum   string          `json:"checksum,omitempty"`
}

var jsonNull = json.RawMessage("null")

// MessageStatOf renders m; without its message (gone before it could be
// read) only age and created are known.
func MessageStatOf(m *zaqar.MessageStat) MessageStat {
	d := MessageStat{Age: Seconds(m.Age), Created: m.Created.UTC().Format("2006-01-02T15:04:05Z")}
	msg := m.Message
	if msg == nil {
		return d
	}
	ttl, count := Seconds(msg.TTL), msg.ClaimCount
	d.Body, d.TTL, d.ClaimCount, d.ClaimID, d.Checksum = msg.Body, &ttl, &count, jsonNull, msg.Checksum
	if len(d.Body) == 0 {
		d.Body = jsonNull
	}
	if msg.ClaimID != "" {
		d.ClaimID, _ = json.Marshal(msg.ClaimID)
	}
	return d
}

// Popped is a message removed by a pop as both wires show it: the storage
// record, as Zaqar returns it.
type Popped struct {
	ID         string          `json:"id"`
	Age        int64           `json:"age"`
	TTL        int64           `json:"ttl"`
	Body       json.RawMessage `json:"body"`
	ClaimID    *string         `json:"claim_id"`
	ClaimCount int             `json:"claim_count"`
	Checksum   string          `json:"checksum,omitempty"`
}

// PoppedOf renders popped messages; never nil, so the list is [] when empty.
func PoppedOf(msgs []zaqar.Message) []Popped {
	out := make([]Popped, len(msgs))
	for i, m := range msgs {
		body := m.Body
		if len(body) == 0 {
			body = jsonNull
		}
		out[i] = Popped{ID: m.ID, Age: Seconds(m.Age), TTL: Seconds(m.TTL), Body: body, ClaimCount: m.ClaimCount, Checksum: m.Checksum}
		if m.ClaimID != "" {
			id := m.ClaimID
			out[i].ClaimID = &id
		}
	}
	return out
}
