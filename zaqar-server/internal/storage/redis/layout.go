package redis

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The key layout of the data, recorded in layoutKey by the first server
// that finds the database without one. Layout 2 keeps a message's body in
// its state value (zq:{p/q}:msg); layout 1, before it, kept bodies in a
// hash of their own (zq:{p/q}:body), which this server does not read.
const (
	layoutKey     = "zq:layout"
	layoutVersion = "2"
)

// errOldLayout is the start-up failure on a database of another layout.
var errOldLayout = errors.New("the Redis database holds Zaqar data in another key layout")

// checkLayout refuses a database written in another layout, so that a
// server never serves messages whose bodies it cannot see, and records
// layout 2 in one that has none yet. Without the mark it looks for a key
// of layout 1 once (SCAN on every master): a database written by an older
// server, or an empty one.
func checkLayout(ctx context.Context, rdb redis.UniversalClient) error {
	v, err := rdb.Get(ctx, layoutKey).Result()
	switch {
	case err == nil && v == layoutVersion:
		return nil
	case err == nil:
		return fmt.Errorf("%w: %s is %q, this server reads layout %s only", errOldLayout, layoutKey, v, layoutVersion)
	case !isNil(err):
		return unavailable(err)
	}
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, "zq:{*}:body", 1000).Iterator()
		if it.Next(ctx) {
			return fmt.Errorf("%w: key %s is of layout 1 (bodies apart from their messages) and this server reads layout %s only;"+
				" drain those queues with the previous release, or delete them, then start this one", errOldLayout, it.Val(), layoutVersion)
		}
		if err := it.Err(); err != nil {
			return unavailable(err)
		}
		return nil
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		err = fmt.Errorf("redis store: unexpected client %T", rdb)
	}
	if err != nil {
		return err
	}
	if err := rdb.SetNX(ctx, layoutKey, layoutVersion, 0).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}
