// Package redis is the Redis storage driver ([drivers] message_store =
// redis), built on github.com/redis/go-redis/v9. Open takes the uri of
// [drivers:message_store:redis]: one server (redis://, rediss://, a unix
// socket), Sentinel (redis+sentinel://, or Zaqar's redis://...?master=) or
// Redis Cluster (redis+cluster://); see ParseURI.
//
// # Key layout
//
// Every key of a queue carries the hash tag {<project>/<queue>} (with '/',
// '{', '}' and '%' percent-encoded in the names), so Redis Cluster puts
// them in one slot and a script may use them all:
//
//	zq:{p/q}          hash: meta (JSON document), ctr (last marker), ix (1 once indexed),
//	                  kexp (expiry given to the data keys), ch and chx (claim hint: every
//	                  message up to marker ch is claimed until at least chx), gct (when
//	                  the GC is due next)
//	zq:{p/q}:ord      sorted set: message id scored by marker (the queue order)
//	zq:{p/q}:msg      hash: message id -> the message (cmsgpack: marker, created, expiry,
//	                  ttl, delay end, claim id, claim expiry, claim count, client id,
//	                  checksum, then the body as posted), read and written whole
//	zq:{p/q}:exp      sorted set: message id scored by expiry (+inf: never), for the GC
//	zq:{p/q}:clm      hash: claim id -> cmsgpack {expiry, ttl, grace, message ids...}
//	zq:{p/q}:clx      sorted set: claim id scored by expiry, for the GC
//	zq:{p/q}:out      hash: dead-letter outbox, message id -> {target queue, state, body}
//	zq:{p/q}:rx       sorted set: ids received as dead letters, scored by expiry
//	zq:{p/q}:sub      hash: subscription id -> cmsgpack {subscriber, ttl, start,
//	                  expiry, confirmed, options JSON}
//	zq:{p/q}:sub:by   hash: subscriber -> subscription id (one per subscriber)
//	zq:{p/q}:sub:exp  sorted set: subscription id scored by expiry
//	zq:{p}:queues     sorted set (all scores 0, so ordered by name): the project's
//	                  queue index, with its own tag
//	zq:layout         the layout of the data, "2"
//
// Layout 1 kept bodies in a hash of their own (zq:{p/q}:body). Open refuses
// a database marked with another layout, or unmarked and holding such a
// key (one SCAN per master, until the mark is written), with an error
// naming it: drain those queues with the previous release first.
//
// A queue exists while its record zq:{p/q} does; deleting it UNLINKs the
// record and the message, claim and dead-letter keys in one script, and
// leaves the subscription keys, as Zaqar does. The marker counter lives in
// the record, so a re-created queue starts again from 1.
//
// # Scripts and round trips
//
// The Lua scripts in lua/ are embedded with go:embed and run with EVALSHA;
// when Redis answers NOSCRIPT (after a restart or SCRIPT FLUSH) go-redis
// sends the source with EVAL, which caches it again. Each script is
// common.lua (time, number formatting), a library (queue.lua or
// subscription.lua) and the operation. Every operation on a queue is one
// script call, so one round trip and atomic:
//
//   - Post: creates the queue record when absent, assigns the next markers
//     and appends the whole batch. Markers follow commit order, so a reader
//     paging by marker never misses a message that commits later with a
//     smaller marker.
//   - Claim create: selects, claims and extends up to limit messages; two
//     claimers (on any API nodes) never share a message.
//   - Claim get, renew and release; message get, list, delete (with the
//     claim checks), delete-many, pop and stats: one script each.
//
// Claims and pops walk the queue from its head past messages that are
// claimed or delayed, as Zaqar's claim script does. Claims start after the
// record's claim hint instead while it holds, so a work queue's in-flight
// messages at the head are not read again by every claim; pops, and claims
// after a release, walk past the held messages.
//
// Concurrent posts to one queue, and concurrent single deletes, are grouped:
// while one script call for the queue is in flight, the requests arriving
// for it wait and go together in the next call (combine.go), so Redis runs
// one script and answers one round trip for the group.
//
// Queue get is one HGET. The exceptions, all because they span slots, are
// below: a queue's first post or its creation adds two round trips (index
// entry and mark), a claim that dead-letters adds two per dead-letter queue,
// queue delete takes three, and listings read the index then the records in
// one pipeline.
//
// # Time
//
// Scripts read the Redis server's clock (TIME), so every API node agrees on
// what has expired, whatever its own clock says. Stored instants and
// durations are Unix milliseconds. Scripts that call TIME and then write
// need effects replication, the default since Redis 5 (common.lua turns it
// on for older servers): replicas and the AOF receive the commands a script
// ran, never the script, so replaying them gives the same state.
//
// # Expiry and how memory is reclaimed
//
// Nothing depends on a background sweeper. Every read filters by the
// server's time, so an expired message, claim or subscription is invisible
// from the millisecond it expires. Memory comes back three ways:
//
//   - Write scripts run a bounded GC: up to 32 expired messages (found
//     through zq:{p/q}:exp), 8 expired claims and 32 dead-letter receipts,
//     once a second per queue while it keeps up (the record's gct says when
//     next) and on every write while it is behind; subscription writes
//     remove up to 16 expired subscriptions.
//   - Claims and pops drop the expired messages they walk over.
//   - Writes that add or extend messages or claims set the Redis expiry
//     (PEXPIREAT) of the message and claim keys to the latest expiry of
//     anything they hold, and subscription writes do the same for the
//     subscription keys: a queue whose messages have all expired is freed by
//     Redis itself even if no one touches it again. Only the small queue
//     record stays until the queue is deleted.
//
// # Cluster: operations that span slots
//
// A queue's project index and a dead-letter queue are in other slots than
// the queue, so those operations take several steps, each atomic in its own
// slot, ordered so that any step may fail or be repeated without losing or
// duplicating anything:
//
//   - The queue record is the truth and the project index a superset of the
//     live queues. Creating a queue (or its first post) writes the record,
//     then adds the index entry, then marks the record indexed; until the
//     mark is there every post retries the entry. Deleting removes the
//     record, then the entry, then re-adds the entry if a creator of the
//     same name ran in between. Listings and Count check the records of the
//     names they read (one pipeline) and repair entries whose queue is gone.
//   - A dead-letter move: the claim script takes the message out of its
//     queue into that queue's outbox (same slot, same atomic step); the
//     driver then runs accept on the dead-letter queue, which appends it
//     with a new marker unless the message id is among the ids it has
//     received (zq:{p/dlq}:rx, kept until the message would expire), and
//     finally ack removes it from the outbox. A failure after the first step
//     leaves the message in the outbox, invisible in both queues, and the
//     next claim on the source queue delivers it again (at most once into
//     the dead-letter queue). Deleting the source queue meanwhile deletes it.
//
// The conformance suite runs against a three-node cluster in TestCluster.
// All of a project's queues could instead share one slot (tag {<project>}),
// making these moves single scripts, but then one busy project could never
// spread over a cluster.
//
// # Failures
//
// Every error from Redis or the network (refused connections, timeouts, a
// restart, READONLY during a failover, OOM) is a *zaqar.Error of Kind
// Unavailable, which the transport answers with 503; redis.Nil becomes the
// storage package's not-found sentinels. go-redis re-dials on the next call,
// so the store recovers by itself when Redis is back. Automatic command
// retries are off (max_retries in the uri turns them on): a script whose
// reply was lost may already have run, and running a claim or a pop twice
// would hand out messages nobody receives. A post is safe to repeat (its
// message ids are fresh, and with retries on the script checks that its
// first id is new before applying it).
//
// Durability is Redis's: see docs/storage.md for what appendonly, appendfsync
// and RDB snapshots guarantee.
package redis
