package transport

import (
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
