package storage

import "context"

// Optional interfaces: a Store implements them when it can, and the service
// (health) and metrics check for them. No driver has to.

// Volume counts the live messages of a store: Claimed are under a live
// claim, Free are the rest (delayed included), as in zaqar.Stats.
type Volume struct {
	Free, Claimed int64
}

// VolumeCounter is implemented by stores that can count the live messages
// of every queue without a query over the whole backend: the memory store
// walks its in-process index. /v2/health shows the count as Zaqar's
// message_volume and /metrics as gauges; for a store without it they show
// nothing rather than start a scan of a networked database on every call.
type VolumeCounter interface {
	// Volume counts every live message of every project. It gives up with
	// ctx's error when ctx ends first.
	Volume(ctx context.Context) (Volume, error)
}

// NamedStore is one pool of a PoolSet.
type NamedStore struct {
	Name  string // the pool's name; "" for the default (virtual) pool
	Store Store  // nil when Err is set
	Err   error  // the pool's store could not be opened
}

// PoolSet is implemented by stores that spread queues over pools
// (storage/pooled), so that health, readiness and metrics can look at each
// pool on its own.
type PoolSet interface {
	// PoolStores returns every registered pool in name order, then the
	// default store when there is one (Name ""). A pool whose store cannot
	// be opened is listed with Err set; an error means the catalog itself
	// could not be read.
	PoolStores(ctx context.Context) ([]NamedStore, error)
}
