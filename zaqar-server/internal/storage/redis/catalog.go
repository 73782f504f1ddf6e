package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var _ storage.CatalogStore = (*Store)(nil)

// The pooling catalog, when the store is a management store: a few hashes
// and sets under one hash tag, so the scripts that keep them consistent
// run in one slot of a cluster. The prefix differs from every queue key.
//
//	zqc:{catalog}:pools          name -> pool record (JSON)
//	zqc:{catalog}:pooluri        name -> uri
//	zqc:{catalog}:uris           uri -> name, so two pools cannot share one
//	zqc:{catalog}:placed         <project>/<queue> (escaped) -> pool
//	zqc:{catalog}:counts         pool -> queues placed on it
//	zqc:{catalog}:flavors:<project>   set of flavor names
const (
	keyPools   = "zqc:{catalog}:pools"
	keyPoolURI = "zqc:{catalog}:pooluri"
	keyURIs    = "zqc:{catalog}:uris"
	keyPlaced  = "zqc:{catalog}:placed"
	keyCounts  = "zqc:{catalog}:counts"
)

func flavorsKey(project string) string { return "zqc:{catalog}:flavors:" + esc(project) }

func placedField(q zaqar.QueueRef) string { return esc(q.Project) + "/" + esc(q.Name) }

var (
	// KEYS pools, pooluri, uris; ARGV name, uri, record. 1 created, 0
	// replaced, -1 the uri belongs to another pool.
	poolPutScript = redis.NewScript(`
local owner = redis.call('HGET', KEYS[3], ARGV[2])
if owner and owner ~= ARGV[1] then return -1 end
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old and old ~= ARGV[2] then redis.call('HDEL', KEYS[3], old) end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local existed = redis.call('HEXISTS', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1 - existed`)

	// KEYS pools, pooluri, uris; ARGV name, expected record, new record,
	// new uri. 0 done, -1 uri taken, -2 no such pool, -3 changed meanwhile.
	poolUpdateScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return -2 end
if cur ~= ARGV[2] then return -3 end
local owner = redis.call('HGET', KEYS[3], ARGV[4])
if owner and owner ~= ARGV[1] then return -1 end
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old and old ~= ARGV[4] then redis.call('HDEL', KEYS[3], old) end
redis.call('HSET', KEYS[3], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 0`)

	// KEYS pools, pooluri, uris; ARGV name.
	poolDeleteScript = redis.NewScript(`
local uri = redis.call('HGET', KEYS[2], ARGV[1])
if uri and redis.call('HGET', KEYS[3], uri) == ARGV[1] then redis.call('HDEL', KEYS[3], uri) end
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])`)

	// KEYS placed, counts; ARGV field, pool. Returns the pool the queue is on.
	placeScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then return cur end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
return ARGV[2]`)

	// KEYS placed, counts; ARGV field, pool.
	unplaceScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
return 1`)
)

// Pools, Flavors and Catalogue make the store a storage.CatalogStore, so it
// can be the management store of storage/pooled, shared by API nodes.
func (s *Store) Pools() storage.PoolStore          { return (*poolStore)(s) }
func (s *Store) Flavors() storage.FlavorStore      { return (*flavorStore)(s) }
func (s *Store) Catalogue() storage.CatalogueStore { return (*catalogueStore)(s) }

type (
	poolStore      Store
	flavorStore    Store
	catalogueStore Store
)

type poolDoc struct {
	URI     string          `json:"u"`
	Weight  int64           `json:"w"`
	Flavor  string          `json:"f,omitempty"`
	Options json.RawMessage `json:"o,omitempty"`
}

func encodePool(p zaqar.Pool) (string, error) {
	d := poolDoc{URI: p.URI, Weight: p.Weight, Flavor: p.Flavor}
	if len(p.Options) > 0 {
		o, err := json.Marshal(p.Options)
		if err != nil {
			return "", zaqar.BadBodyf("pool options cannot be stored: %v", err)
		}
		d.Options = o
	}
	b, err := json.Marshal(d)
	return string(b), err
}

func decodePool(name, rec string) (zaqar.Pool, error) {
	var d poolDoc
	if err := json.Unmarshal([]byte(rec), &d); err != nil {
		return zaqar.Pool{}, unavailable(fmt.Errorf("pool %q: %w", name, err))
	}
	p := zaqar.Pool{Name: name, URI: d.URI, Weight: d.Weight, Flavor: d.Flavor, Options: map[string]any{}}
	if len(d.Options) > 0 {
		opts, err := zaqar.DecodeOptions(d.Options)
		if err != nil {
			return zaqar.Pool{}, unavailable(fmt.Errorf("pool %q options: %w", name, err))
		}
		p.Options = opts
	}
	return p, nil
}

var poolKeys = []string{keyPools, keyPoolURI, keyURIs}

func (ps *poolStore) Put(ctx context.Context, p zaqar.Pool) (bool, error) {
	rec, err := encodePool(p)
	if err != nil {
		return false, err
	}
	n, err := (*Store)(ps).runInt(ctx, poolPutScript, poolKeys, p.Name, p.URI, rec)
	if err != nil {
		return false, err
	}
	if n < 0 {
		return false, storage.ErrPoolURIInUse
	}
	return n == 1, nil
}

func (ps *poolStore) Get(ctx context.Context, name string) (zaqar.Pool, error) {
	rec, err := ps.rdb.HGet(ctx, keyPools, name).Result()
	if isNil(err) {
		return zaqar.Pool{}, storage.ErrPoolNotFound
	}
	if err != nil {
		return zaqar.Pool{}, unavailable(err)
	}
	return decodePool(name, rec)
}

// Update reads the record, changes it and writes it back only if nobody
// changed it meanwhile, else tries again.
func (ps *poolStore) Update(ctx context.Context, name string, u storage.PoolUpdate) error {
	for range 100 {
		rec, err := ps.rdb.HGet(ctx, keyPools, name).Result()
		if isNil(err) {
			return storage.ErrPoolNotFound
		}
		if err != nil {
			return unavailable(err)
		}
		p, err := decodePool(name, rec)
		if err != nil {
			return err
		}
		p = u.Apply(p)
		next, err := encodePool(p)
		if err != nil {
			return err
		}
		n, err := (*Store)(ps).runInt(ctx, poolUpdateScript, poolKeys, name, rec, next, p.URI)
		switch {
		case err != nil:
			return err
		case n == -1:
			return storage.ErrPoolURIInUse
		case n == -2:
			return storage.ErrPoolNotFound
		case n == 0:
			return nil
		}
	}
	return unavailable(fmt.Errorf("pool %q keeps changing", name))
}

func (ps *poolStore) Delete(ctx context.Context, name string) error {
	_, err := (*Store)(ps).runInt(ctx, poolDeleteScript, poolKeys, name)
	return err
}

func (ps *poolStore) List(ctx context.Context, marker string, limit int) ([]zaqar.Pool, error) {
	all, err := ps.rdb.HGetAll(ctx, keyPools).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	var names []string
	for n := range all {
		if n > marker {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	out := make([]zaqar.Pool, 0, len(names))
	for _, n := range names {
		p, err := decodePool(n, all[n])
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (fs *flavorStore) Put(ctx context.Context, f zaqar.Flavor) (bool, error) {
	n, err := fs.rdb.SAdd(ctx, flavorsKey(f.Project), f.Name).Result()
	if err != nil {
		return false, unavailable(err)
	}
	return n == 1, nil
}

func (fs *flavorStore) Get(ctx context.Context, project, name string) (zaqar.Flavor, error) {
	ok, err := fs.rdb.SIsMember(ctx, flavorsKey(project), name).Result()
	if err != nil {
		return zaqar.Flavor{}, unavailable(err)
	}
	if !ok {
		return zaqar.Flavor{}, storage.ErrFlavorNotFound
	}
	return zaqar.Flavor{Project: project, Name: name}, nil
}

func (fs *flavorStore) Delete(ctx context.Context, project, name string) error {
	if err := fs.rdb.SRem(ctx, flavorsKey(project), name).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

func (fs *flavorStore) List(ctx context.Context, project, marker string, limit int) ([]zaqar.Flavor, error) {
	all, err := fs.rdb.SMembers(ctx, flavorsKey(project)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	var names []string
	for _, n := range all {
		if n > marker {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, strings.Compare)
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	out := make([]zaqar.Flavor, len(names))
	for i, n := range names {
		out[i] = zaqar.Flavor{Project: project, Name: n}
	}
	return out, nil
}

var placedKeys = []string{keyPlaced, keyCounts}

func (cs *catalogueStore) Lookup(ctx context.Context, q zaqar.QueueRef) (string, error) {
	pool, err := cs.rdb.HGet(ctx, keyPlaced, placedField(q)).Result()
	if isNil(err) {
		return "", storage.ErrQueueNotMapped
	}
	if err != nil {
		return "", unavailable(err)
	}
	return pool, nil
}

func (cs *catalogueStore) Insert(ctx context.Context, q zaqar.QueueRef, pool string) (string, error) {
	v, err := (*Store)(cs).run(ctx, placeScript, placedKeys, placedField(q), pool)
	if err != nil {
		return "", err
	}
	placed, ok := v.(string)
	if !ok {
		return "", unavailable(fmt.Errorf("script reply %T, want string", v))
	}
	return placed, nil
}

func (cs *catalogueStore) Delete(ctx context.Context, q zaqar.QueueRef, pool string) error {
	_, err := (*Store)(cs).runInt(ctx, unplaceScript, placedKeys, placedField(q), pool)
	return err
}

func (cs *catalogueStore) Count(ctx context.Context, pool string) (int, error) {
	n, err := cs.rdb.HGet(ctx, keyCounts, pool).Int()
	if isNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable(err)
	}
	return n, nil
}
