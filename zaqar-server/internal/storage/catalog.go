package storage

import (
	"context"
	"errors"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Sentinel errors of the pooling catalog.
var (
	ErrPoolNotFound   = errors.New("pool not found")
	ErrPoolURIInUse   = errors.New("the database URI is in use by another pool")
	ErrFlavorNotFound = errors.New("flavor not found")
	ErrQueueNotMapped = errors.New("queue is not placed on a pool")
)

// CatalogStore keeps the pooling catalog in the management store: the
// pools, the flavors and the pool each queue is placed on (Zaqar's pools,
// flavors and catalogue controllers, zaqar/storage/base.py). storage/pooled
// reads it to route every queue-scoped call. It is separate from Store:
// only management stores implement it.
type CatalogStore interface {
	Pools() PoolStore
	Flavors() FlavorStore
	Catalogue() CatalogueStore
}

// PoolStore keeps pool records. Pools are global, not per project.
type PoolStore interface {
	// Put creates the pool or, when one of that name exists, replaces it
	// (Zaqar's PUT upserts); created reports which. ErrPoolURIInUse when
	// another pool has p.URI.
	Put(ctx context.Context, p zaqar.Pool) (created bool, err error)
	// Get returns a pool; ErrPoolNotFound when absent.
	Get(ctx context.Context, name string) (zaqar.Pool, error)
	// Update changes the fields set in u; ErrPoolNotFound when absent,
	// ErrPoolURIInUse when another pool has the new URI.
	Update(ctx context.Context, name string, u PoolUpdate) error
	// Delete removes a pool record; a missing one is not an error.
	Delete(ctx context.Context, name string) error
	// List returns up to limit pools ordered by name (byte order) with
	// names strictly greater than marker; limit 0 means all of them.
	List(ctx context.Context, marker string, limit int) ([]zaqar.Pool, error)
}

// PoolUpdate lists the fields to change; nil means unchanged.
type PoolUpdate struct {
	URI     *string
	Weight  *int64
	Flavor  *string
	Options map[string]any
}

// Apply returns p with the fields u sets replaced.
func (u PoolUpdate) Apply(p zaqar.Pool) zaqar.Pool {
	if u.URI != nil {
		p.URI = *u.URI
	}
	if u.Weight != nil {
		p.Weight = *u.Weight
	}
	if u.Flavor != nil {
		p.Flavor = *u.Flavor
	}
	if u.Options != nil {
		p.Options = u.Options
	}
	return p
}

// FlavorStore keeps flavor records, per project.
type FlavorStore interface {
	// Put creates the flavor unless it exists; created reports which.
	Put(ctx context.Context, f zaqar.Flavor) (created bool, err error)
	// Get returns a flavor; ErrFlavorNotFound when absent.
	Get(ctx context.Context, project, name string) (zaqar.Flavor, error)
	// Delete removes a flavor; a missing one is not an error.
	Delete(ctx context.Context, project, name string) error
	// List returns up to limit flavors of project ordered by name with
	// names strictly greater than marker; limit 0 means all of them.
	List(ctx context.Context, project, marker string, limit int) ([]zaqar.Flavor, error)
}

// CatalogueStore maps queues to the pool they are placed on.
type CatalogueStore interface {
	// Lookup returns the pool q is placed on; ErrQueueNotMapped when none.
	Lookup(ctx context.Context, q zaqar.QueueRef) (pool string, err error)
	// Insert places q on pool unless it is placed already, and returns the
	// pool q is on: of two racing placements the first wins for both.
	Insert(ctx context.Context, q zaqar.QueueRef, pool string) (string, error)
	// Delete removes q's placement when q is on pool; anything else is not
	// an error, so a stale caller cannot remove a newer placement.
	Delete(ctx context.Context, q zaqar.QueueRef, pool string) error
	// Count returns how many queues are placed on pool.
	Count(ctx context.Context, pool string) (int, error)
}
