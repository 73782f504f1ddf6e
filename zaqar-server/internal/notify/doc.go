// Package notify delivers notifications to queue subscribers: one webhook
// POST (or one mail) per posted message and subscriber, in Zaqar's formats
// (zaqar/notification/notifier.py and tasks/), plus subscription
// confirmation requests.
//
// Guarantee: a notification is durable before the post that caused it is
// acknowledged. Enqueue writes each subscriber's notifications into an
// outbox before the messages themselves are stored; the outbox is an
// ordinary queue of the configured store, one per subscription, in an
// internal project no client can name (it contains a NUL byte, which HTTP
// headers cannot carry). Workers take outbox entries with claims, so after
// a crash, or on another API node sharing the store, an unfinished delivery
// is claimed again when its claim expires: delivery is at least once.
// Because the outbox is written first, a post that then fails (503) may
// still be notified; a client retrying it is notified twice.
//
// Order: one worker at a time per subscription on a node, taking the oldest
// entries first, so one subscriber sees notifications in post order. Several
// API nodes may interleave deliveries to the same subscriber.
//
// Retries follow Zaqar's _retry_policy (subscription option, else queue
// metadata): immediate retries, retries after minimum_delay, a backoff
// sequence, retries after maximum_delay; then the entry is dropped with an
// error log. Unlike Zaqar, 5xx, 408 and 429 replies are retried too (Zaqar's
// check never fires); other 4xx replies are final.
package notify
