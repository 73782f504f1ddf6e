package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var _ storage.CatalogStore = (*Store)(nil)

// The pooling catalog, when the store is a management store, lives in its
// own buckets of the same file; the memory engine knows nothing of it.
// Reads are bbolt read transactions and every write is its own committed
// transaction: the catalog changes once per pool, flavor or new queue, so
// it needs no group commit.
//
//	catalog/pools/<name>                     pool record, JSON
//	catalog/flavors/<len-prefixed project><name>   empty
//	catalog/placed/<queue key>              pool name
var (
	bucketCatalog = []byte("catalog")
	bucketPools   = []byte("pools")
	bucketFlavors = []byte("flavors")
	bucketPlaced  = []byte("placed")
)

// Pools, Flavors and Catalogue make the store a storage.CatalogStore, so it
// can be the management store of storage/pooled.
func (s *Store) Pools() storage.PoolStore          { return (*poolStore)(s) }
func (s *Store) Flavors() storage.FlavorStore      { return (*flavorStore)(s) }
func (s *Store) Catalogue() storage.CatalogueStore { return (*catalogueStore)(s) }

type (
	poolStore      Store
	flavorStore    Store
	catalogueStore Store
)

// view runs fn with the catalog sub-bucket name, nil when nothing was ever
// written there.
func (s *Store) view(name []byte, fn func(b *bbolt.Bucket) error) error {
	err := s.db.View(func(tx *bbolt.Tx) error {
		var b *bbolt.Bucket
		if cat := tx.Bucket(bucketCatalog); cat != nil {
			b = cat.Bucket(name)
		}
		return fn(b)
	})
	return catalogErr(err)
}

// update runs fn in a write transaction on the catalog sub-bucket name.
func (s *Store) update(name []byte, fn func(b *bbolt.Bucket) error) error {
	err := s.db.Update(func(tx *bbolt.Tx) error {
		cat, err := tx.CreateBucketIfNotExists(bucketCatalog)
		if err != nil {
			return err
		}
		b, err := cat.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		return fn(b)
	})
	return catalogErr(err)
}

// catalogErr passes the catalog's own results and turns file failures
// into a 503.
func catalogErr(err error) error {
	var ze *zaqar.Error
	switch {
	case err == nil, errors.As(err, &ze),
		errors.Is(err, storage.ErrPoolNotFound), errors.Is(err, storage.ErrPoolURIInUse),
		errors.Is(err, storage.ErrFlavorNotFound), errors.Is(err, storage.ErrQueueNotMapped):
		return err
	}
	return zaqar.Unavailablef(err, "")
}

type poolDoc struct {
	V       int             `json:"v"`
	URI     string          `json:"u"`
	Weight  int64           `json:"w"`
	Flavor  string          `json:"f,omitempty"`
	Options json.RawMessage `json:"o,omitempty"`
}

func encodePool(p zaqar.Pool) ([]byte, error) {
	d := poolDoc{V: recordVersion, URI: p.URI, Weight: p.Weight, Flavor: p.Flavor}
	if len(p.Options) > 0 {
		o, err := json.Marshal(p.Options)
		if err != nil {
			return nil, zaqar.BadBodyf("pool options cannot be stored: %v", err)
		}
		d.Options = o
	}
	return json.Marshal(d)
}

func decodePool(name, b []byte) (zaqar.Pool, error) {
	var d poolDoc
	if err := json.Unmarshal(b, &d); err != nil || d.V != recordVersion {
		return zaqar.Pool{}, fmt.Errorf("pool %q: %w", name, errCorrupt)
	}
	p := zaqar.Pool{Name: string(name), URI: d.URI, Weight: d.Weight, Flavor: d.Flavor, Options: map[string]any{}}
	if len(d.Options) > 0 {
		opts, err := zaqar.DecodeOptions(d.Options)
		if err != nil {
			return zaqar.Pool{}, fmt.Errorf("pool %q options: %w", name, errCorrupt)
		}
		p.Options = opts
	}
	return p, nil
}

// uriTaken reports whether a pool other than name has uri.
func uriTaken(b *bbolt.Bucket, uri, name string) (bool, error) {
	taken := false
	err := b.ForEach(func(k, v []byte) error {
		if string(k) == name {
			return nil
		}
		p, err := decodePool(k, v)
		if err != nil {
			return err
		}
		if p.URI == uri {
			taken = true
		}
		return nil
	})
	return taken, err
}

func (ps *poolStore) Put(ctx context.Context, p zaqar.Pool) (bool, error) {
	rec, err := encodePool(p)
	if err != nil {
		return false, err
	}
	created := false
	err = (*Store)(ps).update(bucketPools, func(b *bbolt.Bucket) error {
		if taken, err := uriTaken(b, p.URI, p.Name); err != nil || taken {
			if taken {
				return storage.ErrPoolURIInUse
			}
			return err
		}
		created = b.Get([]byte(p.Name)) == nil
		return b.Put([]byte(p.Name), rec)
	})
	return created, err
}

func (ps *poolStore) Get(ctx context.Context, name string) (zaqar.Pool, error) {
	var p zaqar.Pool
	err := (*Store)(ps).view(bucketPools, func(b *bbolt.Bucket) error {
		var v []byte
		if b != nil {
			v = b.Get([]byte(name))
		}
		if v == nil {
			return storage.ErrPoolNotFound
		}
		var err error
		p, err = decodePool([]byte(name), v)
		return err
	})
	return p, err
}

func (ps *poolStore) Update(ctx context.Context, name string, u storage.PoolUpdate) error {
	return (*Store)(ps).update(bucketPools, func(b *bbolt.Bucket) error {
		v := b.Get([]byte(name))
		if v == nil {
			return storage.ErrPoolNotFound
		}
		p, err := decodePool([]byte(name), v)
		if err != nil {
			return err
		}
		if u.URI != nil {
			if taken, err := uriTaken(b, *u.URI, name); err != nil || taken {
				if taken {
					return storage.ErrPoolURIInUse
				}
				return err
			}
		}
		rec, err := encodePool(u.Apply(p))
		if err != nil {
			return err
		}
		return b.Put([]byte(name), rec)
	})
}

func (ps *poolStore) Delete(ctx context.Context, name string) error {
	return (*Store)(ps).update(bucketPools, func(b *bbolt.Bucket) error {
		return b.Delete([]byte(name))
	})
}

func (ps *poolStore) List(ctx context.Context, marker string, limit int) ([]zaqar.Pool, error) {
	var out []zaqar.Pool
	err := (*Store)(ps).view(bucketPools, func(b *bbolt.Bucket) error {
		if b == nil {
			return nil
		}
		c := b.Cursor()
		k, v := c.Seek([]byte(marker))
		if k != nil && string(k) == marker {
			k, v = c.Next()
		}
		for ; k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			p, err := decodePool(k, v)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// flavorPrefix is the key prefix of a project's flavors; names follow
// unprefixed, so a project's keys sort by name.
func flavorPrefix(project string) []byte { return appendString(nil, project) }

func (fs *flavorStore) Put(ctx context.Context, f zaqar.Flavor) (bool, error) {
	created := false
	err := (*Store)(fs).update(bucketFlavors, func(b *bbolt.Bucket) error {
		k := append(flavorPrefix(f.Project), f.Name...)
		if b.Get(k) != nil {
			return nil
		}
		created = true
		return b.Put(k, []byte{})
	})
	return created, err
}

func (fs *flavorStore) Get(ctx context.Context, project, name string) (zaqar.Flavor, error) {
	err := (*Store)(fs).view(bucketFlavors, func(b *bbolt.Bucket) error {
		if b == nil || b.Get(append(flavorPrefix(project), name...)) == nil {
			return storage.ErrFlavorNotFound
		}
		return nil
	})
	if err != nil {
		return zaqar.Flavor{}, err
	}
	return zaqar.Flavor{Project: project, Name: name}, nil
}

func (fs *flavorStore) Delete(ctx context.Context, project, name string) error {
	return (*Store)(fs).update(bucketFlavors, func(b *bbolt.Bucket) error {
		return b.Delete(append(flavorPrefix(project), name...))
	})
}

func (fs *flavorStore) List(ctx context.Context, project, marker string, limit int) ([]zaqar.Flavor, error) {
	var out []zaqar.Flavor
	err := (*Store)(fs).view(bucketFlavors, func(b *bbolt.Bucket) error {
		if b == nil {
			return nil
		}
		prefix := flavorPrefix(project)
		c := b.Cursor()
		k, _ := c.Seek(append(bytes.Clone(prefix), marker...))
		for ; k != nil && bytes.HasPrefix(k, prefix) && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
			name := string(k[len(prefix):])
			if name <= marker {
				continue
			}
			out = append(out, zaqar.Flavor{Project: project, Name: name})
		}
		return nil
	})
	return out, err
}

func (cs *catalogueStore) Lookup(ctx context.Context, q zaqar.QueueRef) (string, error) {
	var pool string
	err := (*Store)(cs).view(bucketPlaced, func(b *bbolt.Bucket) error {
		var v []byte
		if b != nil {
			v = b.Get(queueKey(q))
		}
		if v == nil {
			return storage.ErrQueueNotMapped
		}
		pool = string(v)
		return nil
	})
	return pool, err
}

func (cs *catalogueStore) Insert(ctx context.Context, q zaqar.QueueRef, pool string) (string, error) {
	placed := pool
	err := (*Store)(cs).update(bucketPlaced, func(b *bbolt.Bucket) error {
		k := queueKey(q)
		if v := b.Get(k); v != nil {
			placed = string(v)
			return nil
		}
		return b.Put(k, []byte(pool))
	})
	return placed, err
}

func (cs *catalogueStore) Delete(ctx context.Context, q zaqar.QueueRef, pool string) error {
	return (*Store)(cs).update(bucketPlaced, func(b *bbolt.Bucket) error {
		k := queueKey(q)
		if v := b.Get(k); v != nil && string(v) == pool {
			return b.Delete(k)
		}
		return nil
	})
}

// Count scans the placements: it serves only pool deletion, which is rare,
// so no per-pool index is kept up to date on every placement.
func (cs *catalogueStore) Count(ctx context.Context, pool string) (int, error) {
	n := 0
	err := (*Store)(cs).view(bucketPlaced, func(b *bbolt.Bucket) error {
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if string(v) == pool {
				n++
			}
			return nil
		})
	})
	return n, err
}
