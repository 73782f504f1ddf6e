package zaqar

import "time"

// Limits are the [transport] options that bound and default client input.
// Names follow Zaqar's (zaqar/conf/transport.py).
type Limits struct {
	DefaultMessageTTL      time.Duration
	DefaultMessageDelay    time.Duration
	DefaultClaimTTL        time.Duration
	DefaultClaimGrace      time.Duration
	DefaultSubscriptionTTL time.Duration

	MaxQueuesPerPage         int
	MaxMessagesPerPage       int
	MaxSubscriptionsPerPage  int
	MaxMessagesPerClaimOrPop int
	MaxPoolsPerPage          int
	MaxFlavorsPerPage        int

	MaxQueueMetadata    int64 // bytes
	MaxMessagesPostSize int64 // bytes
	MaxMessageTTL       time.Duration
	MaxMessageDelay     time.Duration
	MaxClaimTTL         time.Duration
	MaxClaimGrace       time.Duration

	SubscriberTypes          []string
	ClientIDUUIDSafe         string // "strict" or "off"
	MinLengthClientID        int
	MaxLengthClientID        int
	MessageDeleteWithClaimID bool

	// Long polling (wait=S on claims and listings, an extension): the
	// longest wait honoured (0 disables waiting), and how many requests may
	// wait at once on this node and per project on this node.
	MaxWait              time.Duration
	MaxWaiters           int
	MaxWaitersPerProject int
}

// Fixed minimums Zaqar keeps as code constants (zaqar/transport/validation.py).
const (
	MinMessageTTL      = 60 * time.Second
	MinClaimTTL        = 60 * time.Second
	MinClaimGrace      = 60 * time.Second
	MinSubscriptionTTL = 60 * time.Second
	MaxQueueNameLen    = 64
	MaxProjectIDLen    = 256
	DefaultPageSize    = 10
)

// DefaultLimits returns Zaqar's defaults.
func DefaultLimits() Limits {
	return Limits{
		DefaultMessageTTL:        3600 * time.Second,
		DefaultMessageDelay:      0,
		DefaultClaimTTL:          300 * time.Second,
		DefaultClaimGrace:        60 * time.Second,
		DefaultSubscriptionTTL:   3600 * time.Second,
		MaxQueuesPerPage:         20,
		MaxMessagesPerPage:       20,
		MaxSubscriptionsPerPage:  20,
		MaxMessagesPerClaimOrPop: 20,
		MaxPoolsPerPage:          20,
		MaxFlavorsPerPage:        20,
		MaxQueueMetadata:         64 * 1024,
		MaxMessagesPostSize:      256 * 1024,
		MaxMessageTTL:            1209600 * time.Second,
		MaxMessageDelay:          900 * time.Second,
		MaxClaimTTL:              43200 * time.Second,
		MaxClaimGrace:            43200 * time.Second,
		SubscriberTypes:          []string{"http", "https", "mailto", "trust+http", "trust+https"},
		ClientIDUUIDSafe:         "strict",
		MinLengthClientID:        10,
		MaxLengthClientID:        36,
		MaxWait:                  20 * time.Second,
		MaxWaiters:               10000,
		MaxWaitersPerProject:     1000,
	}
}

// Clock tells the time; stores that own their clock take one so tests can move it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }
