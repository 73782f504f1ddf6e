package app

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/mongodb"
)

// openMongo opens the MongoDB store from [drivers:message_store:mongodb]
// (zaqar/conf/drivers_message_store_mongodb.py). uri has no default, as in
// Zaqar. ssl_* and the reconnect options are accepted and have no effect:
// TLS goes in the uri (tls=true&tlsCAFile=...), and the driver reconnects
// by itself.
func openMongo(ctx context.Context, cfg config.Config) (*mongodb.Store, error) {
	bad := func(key string, err error) error {
		return fmt.Errorf("[drivers:message_store:mongodb] %s: %w", key, err)
	}
	uri := cfg.StoreOption("uri")
	if uri == "" {
		return nil, bad("uri", fmt.Errorf("not set"))
	}
	opts := mongodb.Options{Database: cfg.StoreOption("database")}
	for _, o := range []struct {
		key string
		dst *int
	}{{"partitions", &opts.Partitions}, {"max_attempts", &opts.MaxAttempts}} {
		if v := cfg.StoreOption(o.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, bad(o.key, fmt.Errorf("not a positive integer: %q", v))
			}
			*o.dst = n
		}
	}
	for _, o := range []struct {
		key string
		dst *time.Duration
	}{{"max_retry_sleep", &opts.MaxRetrySleep}, {"max_retry_jitter", &opts.MaxRetryJitter}, {"gc_interval", &opts.GCInterval}} {
		if v := cfg.StoreOption(o.key); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				return nil, bad(o.key, fmt.Errorf("not a number of seconds: %q", v))
			}
			*o.dst = time.Duration(f * float64(time.Second))
		}
	}
	s, err := mongodb.Open(ctx, uri, opts)
	if err != nil {
		return nil, bad("uri", err)
	}
	return s, nil
}
