// Package storage defines the one storage interface every driver implements,
// split by resource like Zaqar's controllers (zaqar/storage/base.py). It holds
// no driver: app picks one from the configuration. Drivers return the
// sentinel errors below or *zaqar.Error values (Kind Unavailable for backend
// failures), never their own error types.
//
// Stores keep copies: changing a metadata, options or body value after a
// call never changes what is stored, and what a call returns is the
// caller's to change. Bodies round-trip byte for byte (no re-encoding).
//
// Time is the store's own: a driver decides "now" (an injected clock in the
// memory and embedded stores, the server's time in networked ones), and
// anything that has expired by then is invisible to every method.
package storage

import (
	"context"
	"errors"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Sentinel errors; the service turns them into client-facing *zaqar.Error values.
var (
	ErrQueueNotFound        = errors.New("queue not found")
	ErrMessageNotFound      = errors.New("message not found")
	ErrClaimNotFound        = errors.New("claim not found or expired")
	ErrMessageClaimed       = errors.New("message is claimed by another claim")
	ErrMessageNotClaimed    = errors.New("message is not claimed")
	ErrSubscriptionNotFound = errors.New("subscription not found")
	ErrSubscriptionExists   = errors.New("subscription already exists")
)

// Store is a storage driver.
type Store interface {
	Queues() QueueStore
	Messages() MessageStore
	Claims() ClaimStore
	Subscriptions() SubscriptionStore
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	// Close releases the backend; in-flight calls may fail afterwards.
	Close() error
}

// QueueStore keeps queue records and their metadata.
type QueueStore interface {
	// Create makes the queue with meta. When the queue already exists it
	// returns created=false and leaves the stored metadata alone.
	Create(ctx context.Context, q zaqar.QueueRef, meta zaqar.Metadata) (created bool, err error)
	// Get returns the stored metadata (never nil); ErrQueueNotFound when absent.
	Get(ctx context.Context, q zaqar.QueueRef) (zaqar.Metadata, error)
	// SetMetadata replaces the metadata; ErrQueueNotFound when absent.
	SetMetadata(ctx context.Context, q zaqar.QueueRef, meta zaqar.Metadata) error
	// Delete removes the queue with all its messages and claims; a missing
	// queue is not an error. Subscriptions stay, as in Zaqar.
	Delete(ctx context.Context, q zaqar.QueueRef) error
	// List returns up to opts.Limit queues of project ordered by name (byte
	// order), with names strictly greater than opts.Marker.
	List(ctx context.Context, project string, opts QueueListOptions) ([]zaqar.Queue, error)
	// Count returns how many queues project has, ignoring filters.
	Count(ctx context.Context, project string) (int, error)
}

// QueueListOptions select a page of queues.
type QueueListOptions struct {
	Marker   string
	Limit    int
	Detailed bool              // fill Queue.Metadata
	Name     string            // keep names containing this substring
	Filter   map[string]string // metadata equality filters, see MatchesFilter
}

// MessageStore keeps messages.
type MessageStore interface {
	// Post stores msgs atomically and in order, after every message already in
	// the queue, creating the queue (empty metadata) when absent. It returns
	// the new ids in the order of msgs.
	Post(ctx context.Context, q zaqar.QueueRef, msgs []zaqar.NewMessage) ([]string, error)
	// List returns up to opts.Limit live messages after opts.Marker in queue
	// order. A missing queue or a malformed marker gives an empty page.
	List(ctx context.Context, q zaqar.QueueRef, opts MessageListOptions) ([]zaqar.Message, error)
	// Get returns one message whatever its claim or delay state;
	// ErrMessageNotFound when absent, expired, malformed or the queue is missing.
	Get(ctx context.Context, q zaqar.QueueRef, id string) (zaqar.Message, error)
	// GetMany returns the messages of ids that exist, in queue order;
	// unknown and malformed ids are skipped.
	GetMany(ctx context.Context, q zaqar.QueueRef, ids []string) ([]zaqar.Message, error)
	// Delete removes one message. A missing message is not an error. With an
	// empty claimID a message under a live claim gives ErrMessageClaimed. With a
	// claimID the message must be under that live claim: ErrClaimNotFound
	// first, whenever claimID names no live claim of the queue (for an
	// unclaimed message ErrMessageNotClaimed is also acceptable); then
	// ErrMessageNotClaimed when the message has no live claim, and
	// ErrMessageClaimed when another live claim holds it.
	Delete(ctx context.Context, q zaqar.QueueRef, id, claimID string) error
	// DeleteMany removes the messages of ids, ignoring missing ones. With
	// claimIDs nil claims are ignored; otherwise every listed message that
	// exists must be under a live claim named in claimIDs, else nothing is
	// deleted and the result is ErrMessageClaimed.
	DeleteMany(ctx context.Context, q zaqar.QueueRef, ids, claimIDs []string) error
	// Pop atomically removes and returns up to limit of the oldest messages
	// that are not under a live claim (delayed ones included, as in Zaqar).
	Pop(ctx context.Context, q zaqar.QueueRef, limit int) ([]zaqar.Message, error)
	// Stats counts live messages: Claimed under a live claim, Free the rest
	// (delayed included), Oldest and Newest by queue order. A missing queue
	// gives zero stats.
	Stats(ctx context.Context, q zaqar.QueueRef) (zaqar.Stats, error)
}

// MessageListOptions select a page of messages.
type MessageListOptions struct {
	Marker         string // from zaqar.Message.Marker of the last message seen
	Limit          int
	ClientID       string // the reader; with Echo false its own messages are hidden
	Echo           bool
	IncludeClaimed bool
	IncludeDelayed bool
}

// ClaimStore keeps claims.
type ClaimStore interface {
	// Create claims up to opts.Limit of the oldest live messages that are
	// neither under a live claim nor delayed. Each claimed message's claim
	// count goes up by one, and its life is extended to the claim's expiry
	// plus grace when it would end earlier (its TTL becomes ttl+grace). With
	// dead-lettering set, a message whose claim count already reached
	// MaxClaimCount moves to the dead-letter queue instead, unclaimed. When
	// nothing is claimed it returns a zero Claim (empty ID) and no messages.
	Create(ctx context.Context, q zaqar.QueueRef, opts ClaimOptions) (zaqar.Claim, []zaqar.Message, error)
	// Get returns a live claim and its live messages; ErrClaimNotFound when the
	// claim is unknown, malformed, expired or the queue is missing.
	Get(ctx context.Context, q zaqar.QueueRef, id string) (zaqar.Claim, []zaqar.Message, error)
	// Update renews a live claim to expire ttl from now, extending its
	// messages as Create does; ErrClaimNotFound when not live.
	Update(ctx context.Context, q zaqar.QueueRef, id string, ttl, grace time.Duration) error
	// Delete releases a claim: its messages become claimable at once. An
	// unknown claim is not an error.
	Delete(ctx context.Context, q zaqar.QueueRef, id string) error
}

// ClaimOptions parameterise ClaimStore.Create.
type ClaimOptions struct {
	TTL, Grace time.Duration
	Limit      int
	// Dead-lettering is on when both MaxClaimCount > 0 and DeadLetterQueue != "".
	MaxClaimCount   int
	DeadLetterQueue string        // same project; created when absent
	DeadLetterTTL   time.Duration // >0: moved messages live this long from the move
}

// SubscriptionStore keeps subscriptions.
type SubscriptionStore interface {
	// Create stores a subscription, unconfirmed unless sub.Confirmed, with a
	// new id (sub.ID is ignored). When the queue already has a live one for
	// the same subscriber it returns that one and created=false, changing
	// nothing.
	Create(ctx context.Context, q zaqar.QueueRef, sub zaqar.Subscription) (s zaqar.Subscription, created bool, err error)
	// Get returns a live subscription; ErrSubscriptionNotFound otherwise.
	Get(ctx context.Context, q zaqar.QueueRef, id string) (zaqar.Subscription, error)
	// List returns up to limit live subscriptions of the queue ordered by id,
	// with ids strictly greater than marker.
	List(ctx context.Context, q zaqar.QueueRef, marker string, limit int) ([]zaqar.Subscription, error)
	// Update changes the fields set in u; a new TTL restarts the expiry from
	// now. ErrSubscriptionNotFound when absent, ErrSubscriptionExists when the
	// new subscriber is already subscribed to the queue.
	Update(ctx context.Context, q zaqar.QueueRef, id string, u SubscriptionUpdate) error
	// Confirm sets the confirmed flag; ErrSubscriptionNotFound when absent.
	Confirm(ctx context.Context, q zaqar.QueueRef, id string, confirmed bool) error
	// Delete removes a subscription; a missing one is not an error.
	Delete(ctx context.Context, q zaqar.QueueRef, id string) error
}

// SubscriptionUpdate lists the fields to change; nil means unchanged.
type SubscriptionUpdate struct {
	Subscriber *string
	TTL        *time.Duration
	Options    map[string]any
}
