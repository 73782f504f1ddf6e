package zaqar

// Pool is a storage backend registered for pooling: queues placed on it keep
// their messages, claims and subscriptions there (zaqar/storage/*/pools.py).
type Pool struct {
	Name    string
	URI     string // what storage/pooled opens, e.g. redis://host:6379/2
	Weight  int64  // chance of receiving a new queue, relative to the others; 0 never
	Flavor  string // the flavor the pool serves; "" for queues without one
	Options map[string]any
}

// Flavor is a project's named class of pools: the pools whose Flavor is its
// name. A queue whose _flavor metadata names it is placed on one of them.
type Flavor struct {
	Project string
	Name    string
}
