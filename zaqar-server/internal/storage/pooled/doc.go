// Package pooled is the pooling storage driver (Zaqar's
// zaqar/storage/pooling.py): one storage.Store in front of several stores,
// the pools. It is itself a storage.Store and passes the conformance suite.
//
// The catalog (pools, flavors, and which pool each queue is placed on)
// lives in the management store, which must implement
// storage.CatalogStore. A queue is placed the first time anything writes
// to its name (queue create, message post, subscription create): on a pool
// of the flavor its _flavor metadata names, else on a pool without a
// flavor, chosen at random in proportion to the pools' weights. From then
// on every call for that queue goes to its pool, which keeps the queue's
// metadata, messages, claims and subscriptions. Reads of a name that was
// never placed answer as a store answers for a missing queue.
//
// Differences from Zaqar, on purpose:
//
//   - Zaqar keeps every queue's record in the management store and only
//     messages in the pools; here the whole queue lives in its pool, so
//     listing queues merges one page from every pool (by name, the marker
//     and limit applied to the merge) and counting sums the pools.
//   - A placement stays while its pool holds anything for the name: deleting
//     a queue that still has subscriptions keeps it (subscriptions outlive
//     their queue, as in every driver), and the name goes back to the same
//     pool when re-created. Zaqar drops the placement, and the subscriptions
//     with it.
//   - Changing _flavor later does not move a queue; Zaqar re-registers it on
//     another pool and leaves its messages behind.
//   - A dead-letter queue with no placement yet is placed on its source
//     queue's pool, so the move stays one atomic step of that pool. When the
//     two are on different pools, the move is a post to the dead-letter
//     queue followed by a delete under the claim: a crash in between
//     duplicates a message, never loses one.
//
// With a Default store (Zaqar's [pooling:catalog] enable_virtual_pool), a
// name with no placement is served by Default when it exists there or when
// no pool can take it: queues created before pooling was switched on stay
// where they are.
//
// Pool stores are opened on first use through Options.Open and cached by
// pool name; the pool record is read again at most every PoolTTL (Zaqar
// caches its pool drivers for the life of the process), so a pool whose
// URI changes is reopened within that time on every API node.
package pooled
