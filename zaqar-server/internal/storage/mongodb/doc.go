// Package mongodb is the MongoDB storage driver ([drivers] message_store =
// mongodb), built on go.mongodb.org/mongo-driver/v2. Open takes the uri and the
// other options of [drivers:message_store:mongodb] (Zaqar's names: database,
// partitions, max_attempts, max_retry_sleep, max_retry_jitter). It runs on
// MongoDB (replica sets and sharded clusters; a standalone server works but
// is as durable as its one disk) and on FerretDB v1 with its SQLite backend,
// which the tests use because Debian has no MongoDB.
//
// # What it uses, and what it does not
//
// Only what both MongoDB and FerretDB v1.24 do correctly, found by testing
// FerretDB (its handler code confirms it):
//
//   - insert and insertMany, ordered and not, with duplicate-key errors (code
//     11000) from unique compound indexes, per document: the one atomic
//     test-and-set both servers offer. Every decision two API nodes could
//     race on (a marker, a claim, a deletion, a queue or subscription
//     creation) is the insert of a document whose key only one can take.
//   - deleteOne by _id, whose deleted count says whether this call removed
//     the document; deleteMany for what nobody races on (a queue's
//     documents, expired claims and subscriptions).
//   - find with equality, $gt/$gte/$lt/$lte, $in, null (missing) equality,
//     sort, limit and projection; countDocuments; listIndexes and
//     createIndexes; listCollections; hello (for localTime); buildInfo; ping.
//   - updateOne and updateMany with $set and $unset, only where one writer
//     can change the document (queue metadata, a claim's record, a
//     subscription, a fence) or where a lost update is harmless.
//
// Not used: TTL indexes and partial indexes (FerretDB answers NotImplemented),
// transactions (FerretDB has none), update pipelines and $$NOW (rejected),
// field names with '.' or '$' (rejected), $natural order (capped collections
// only). Nor, most importantly, findAndModify or any conditional update as
// a lock: FerretDB v1 evaluates the filter when it reads the document and
// writes the computed document back by _id, so racing updates all "match"
// and the last write wins. Measured here: 50 concurrent $inc on one
// counter leave 10; one conditional update ({v: 0} -> {v: 1}) raced 50 ways
// reports 26 winners; findOneAndDelete raced 50 ways returns the document 8
// times. Zaqar's driver relies on exactly these (its marker counters and
// claims), so this driver does not copy Zaqar's algorithms; it keeps Zaqar's
// option names and message and claim ids (ObjectIds) and is not compatible
// with data Zaqar wrote.
//
// # Documents
//
// In database `database` (default "zaqar"):
//
//	queues            one per queue: _id (both names escaped, joined by '/'),
//	                  p (project), q (name), m (metadata as the JSON sent), cr
//	claims            one per claim: _id (claim id), p, q, t (TTL ms), g (grace),
//	                  ce (expiry), cr (created or renewed)
//	subscriptions     one per subscription: _id, p, q, u (subscriber, unique per
//	                  queue), t, cr, e (expiry), o (options as JSON), c (confirmed)
//	messages_p<N>     messages, the queue's partition N = crc32 of both names
//	                  (length-prefixed) modulo partitions
//
// Project and queue are always separate fields, so no name can collide with
// another (the notifier's project "\x00notify" and UUID names included).
// On a sharded cluster, shard the message collections on {p: 1, q: 1}, a
// prefix of their unique index, or leave them unsharded.
// Metadata, options and bodies are stored as the bytes sent (a body is BSON
// binary), so they come back byte for byte whatever their keys or numbers.
//
// A message is a document with v = 0 and _id = m = its id: p, q, k (its
// marker), b, t, cr, e, d (delayed until), u (client id), cs, and its batch
// (bs, be: first and last marker; bi: id of its first message). Its state
// is a chain of immutable documents at the same (p, q, k) with v = 1, 2, ...
// and _id "<id>.<v>": s (free, claimed, moved to a dead-letter queue,
// deleted), c, ce, ct, cg (the claim), n (claim count), xe, xt (the expiry
// and TTL a claim's grace extended it to), dq, dt (dead-letter target).
// The newest version is the state; a message without one is free.
//
// # Transitions
//
// The unique index (p, q, k, v) makes a state change exclusive: a call that
// read version v inserts version v+1, and of racing calls (on any API node)
// one inserts it and the others get a duplicate key and read again. So a
// claim takes a message by inserting its claimed state: two claims never
// share a message. Release, renewal, deletion, a pop and a dead-letter move
// are transitions too. A claim moves up to limit messages in one unordered
// insertMany; those lost to another claimer are replaced from spares the
// same scan read, or by another scan (a few times at most).
//
// Superseded states are deleted when a message has two newer ones and they
// are older than ten seconds, or when it has sixteen newer ones, so a
// version can only be reused by a call that slept through that much (see
// Limits). The final transition (deleted) is followed by
// the removal of the message: its message document by _id alone, whose
// deleted count tells the call that it was the one removal, then its
// states, whose versions are thereby freed. A call that read the message
// before and wins one of those freed versions later finds the message
// document gone and knows it lost (a pop does not return the message, a
// claim does not hand it out); its stray state is deleted by the next scan
// of the queue. Deleting a message with its claim is thus one read, one
// insert, a check for later markers (see Order) and two deletes.
//
// # Order
//
// Markers follow commit order, so a reader paging by marker never misses a
// message that commits later with a smaller one. A post reads the queue's
// last marker (its tail: the largest k of any of its documents) and inserts
// its batch at the next markers with one ordered insertMany; a taken marker
// is a duplicate key and the post retries from the new tail (up to
// max_attempts, sleeping as Zaqar's calculate_backoff, and at most 45 s).
// Every marker is thus inserted only after the one before it existed, and
// markers are never reused: removing a queue's newest message leaves a
// fence (a document at its marker with v = -1 and x set) until a newer
// message exists. A batch is visible once its last message is stored: a
// post that failed half way, or lost a later marker to a poster that read
// the tail in the middle of its insert (MongoDB inserts document by
// document), leaves an incomplete batch that no read shows and that expires
// like any message. Removing the last message of a batch leaves a fence too,
// so the rest of the batch stays complete.
//
// On replica sets and sharded clusters of MongoDB 5.0 and later, listings
// read with read concern "snapshot", one point in time per page; otherwise a
// page whose read yields in the middle could show a later message without
// an earlier one committed during the read. FerretDB answers a query from
// one SQLite statement, a snapshot already.
//
// Within one Store (one API node), posts to a queue take turns, and so do
// claims and pops on a queue: racing each other they would mostly lose
// their inserts and read the queue again. Different nodes still race, and
// the indexes decide.
//
// # Time
//
// Expiry, delays and claims need one clock for all API nodes. The driver
// uses the server's: at Open and every 30 s it reads localTime from hello
// and keeps the offset to this process's monotonic clock, taking the reply
// to be read halfway through the round trip. Two nodes therefore disagree
// by at most the sum of their half round trips at synchronisation (under a
// millisecond on a LAN) plus the drift of their clocks over 30 s (a few
// microseconds), never by the difference of their wall clocks; a node whose
// own clock is set wrong or jumps does not matter. The server's clock
// stepping moves every node's "now" at its next synchronisation. Zaqar
// reads each API node's own clock, so its skew is whatever NTP leaves.
//
// # Expiry and reclamation
//
// Nothing depends on a background sweeper for correctness: every read
// filters by "now", so an expired message, claim or subscription is gone
// from the millisecond it expires (stricter than Zaqar, whose TTL index lets
// expired messages show up to a minute). Storage comes back three ways:
//
//   - Deleted, popped and dead-lettered messages are removed by the call
//     that deleted them.
//   - Every Store runs a pass every gc_interval (default 5 s): up to 500
//     expired messages per collection are removed as Delete does (by
//     winning their final transition, so a claim that extends one cannot
//     race it), and expired claims and subscriptions are deleted. Fences no
//     longer needed go too, each looked at every two minutes.
//   - Scans delete the stray states of messages that are gone.
//
// # Failures
//
// Every error from the server or the network (refused connections,
// timeouts, a primary stepping down, a lost connection) is a *zaqar.Error
// of Kind Unavailable, which the transport answers with 503; no driver error
// type leaks. A call waits at most 5 s for a server (serverSelectionTimeoutMS
// in the uri changes it); the driver reconnects by itself when the server
// is back. Writes use write concern "majority" unless the uri sets w, as
// Zaqar does, so an acknowledged message survives a failover; reads go to
// the primary. The driver's retryable writes (MongoDB deduplicates them) are
// left on. An insert whose reply was lost may have been applied: a post
// retried by the client then stores its messages twice, never half; a
// claim's messages stay claimed until the claim expires.
//
// # FerretDB
//
// FerretDB v1's SQLite backend reads the whole collection for every query
// except one filtering on _id alone, and takes one writer at a time (a
// writer that finds the database locked sleeps). Two settings keep it
// fast: many partitions, so that each queue has a collection nearly to
// itself (above 64 partitions their collections and indexes are created on
// first use rather than by Open), and a small connection pool per
// API node (maxPoolSize=2 in the uri). On FerretDB the driver also reads and
// deletes known documents by _id one at a time rather than with $in.
//
// # Limits
//
//   - Deleting a queue while another client posts to it is not atomic: the
//     post's messages may go with the queue or stay (the post re-creates
//     the queue when it finds it gone; messages that stay in a queue without
//     a record are visible to reads by id and expire).
//   - A dead-letter move interrupted by a failure is finished by the next
//     claim on the source queue; until then the message is in neither queue.
//   - A call whose read of a message is more than two transitions and ten
//     seconds old, or sixteen transitions, when it writes could win a
//     version that was freed and act on a stale state (claim a claimed
//     message, say). Within a store, claims and pops of a queue take turns,
//     so their reads are at most a release behind; across stores it takes a
//     call stalled while other nodes claim and release one message again
//     and again.
package mongodb
