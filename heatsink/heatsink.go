// Package heatsink holds what Heat's event sinks are configured with: the
// sink type and the default message TTL. The event message itself is
// internal/heatevent's (hooks reads it too).
//
// The subpackages do the work: env reads environment files as Heat does and
// catches what Heat would silently accept, prepare creates the sink queues,
// listen claims events and runs actions, and emit copies a stack's events
// from Heat's events API into a queue for clouds whose Heat cannot reach
// Zaqar (internal/cloud builds the gophercloud clients). They talk to Zaqar
// and Heat over HTTP only (gophercloud messaging/v2 and orchestration/v1).
package heatsink

const (
	// SinkType is the only event sink type Heat ships (setup.cfg,
	// entry point group heat.event_sinks).
	SinkType = "zaqar-queue"
	// DefaultTTL is the message TTL in seconds of a sink without ttl
	// (ZaqarClientPlugin.DEFAULT_TTL).
	DefaultTTL = 3600
)
