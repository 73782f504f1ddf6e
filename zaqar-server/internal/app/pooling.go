package app

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"strings"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/embedded"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/pooled"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/redis"
)

// openPooled opens the store of [DEFAULT] pooling = true: the management
// store ([drivers] management_store) keeps the pool catalog and the pools
// hold the queues. With [pooling:catalog] enable_virtual_pool the message
// store also serves the queues that are in no pool (Zaqar's virtual pool);
// when both name the same driver, configured alike, they are one store.
func openPooled(ctx context.Context, cfg config.Config, wrap wrapStore) (storage.Store, error) {
	mgmt, err := OpenStore(ctx, cfg.ManagementConfig())
	if err != nil {
		return nil, fmt.Errorf("[drivers] management_store: %w", err)
	}
	opts := pooled.Options{Open: poolOpener(cfg, wrap), Capabilities: poolCapabilities}
	if cfg.VirtualPool {
		opts.Default = mgmt
		// A [drivers:management_store:X] section makes the catalog's
		// store another one, even of the same driver.
		if cfg.MessageStore != cfg.ManagementStore || len(cfg.ManagementStores[cfg.ManagementStore]) > 0 {
			dc := cfg
			dc.Pooling = false
			if opts.Default, err = openStore(ctx, dc, wrap); err != nil {
				mgmt.Close()
				return nil, err
			}
		}
	}
	s, err := pooled.New(mgmt, opts)
	if err != nil {
		mgmt.Close()
		if opts.Default != nil && opts.Default != mgmt {
			opts.Default.Close()
		}
		return nil, fmt.Errorf("[drivers] management_store: %w", err)
	}
	return s, nil
}

// poolDriver names the driver of a pool URI: memory://, redis:// (and the
// other Redis forms), mongodb:// (and mongodb+srv://), or an embedded
// store's file as file:///path or a plain path.
func poolDriver(uri string) (driver, path string, err error) {
	if strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, ".") {
		return "embedded", uri, nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", "", err
	}
	switch u.Scheme {
	case "memory":
		return "memory", "", nil
	case "file":
		if u.Path == "" {
			return "", "", fmt.Errorf("%s names no file", uri)
		}
		return "embedded", u.Path, nil
	case "redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster":
		return "redis", "", nil
	case "mongodb", "mongodb+srv":
		return "mongodb", "", nil
	}
	return "", "", fmt.Errorf("no storage driver for %q URIs", u.Scheme)
}

// poolOpener opens the store a pool URI names (openPool); wrap, when not
// nil, wraps each one.
func poolOpener(cfg config.Config, wrap wrapStore) pooled.Opener {
	return func(ctx context.Context, uri string, options map[string]any) (storage.Store, error) {
		st, err := openPool(ctx, cfg, uri, options)
		if err != nil || wrap == nil {
			return st, err
		}
		driver, _, _ := poolDriver(uri)
		return wrap(driver, st), nil
	}
}

// openPool opens the store of a pool URI. Each memory:// pool is a store
// of its own in this process. A MongoDB pool takes the options of
// [drivers:message_store:mongodb] overridden by the pool's own options of
// the same names (database, partitions, ...), as Zaqar builds a pool's
// configuration (zaqar/storage/utils.py dynamic_conf); its uri is the
// pool's.
func openPool(ctx context.Context, cfg config.Config, uri string, options map[string]any) (storage.Store, error) {
	driver, path, err := poolDriver(uri)
	if err != nil {
		return nil, err
	}
	switch driver {
	case "memory":
		return memory.New(), nil
	case "embedded":
		return embedded.Open(ctx, path)
	case "mongodb":
		mc := cfg
		mc.MessageStore = "mongodb"
		mc.Stores = maps.Clone(cfg.Stores)
		opts := maps.Clone(cfg.Stores["mongodb"])
		if opts == nil {
			opts = map[string]string{}
		}
		for k, v := range options {
			opts[k] = fmt.Sprint(v)
		}
		opts["uri"] = uri
		mc.Stores["mongodb"] = opts
		return openMongo(ctx, mc)
	}
	return redis.Open(ctx, uri)
}

// poolCapabilities are what each driver offers, with Zaqar's names
// (zaqar/storage/base.py Capabilities; its Redis driver lists the same as
// ours). A flavor's pools must offer the same.
func poolCapabilities(uri string) []string {
	driver, _, err := poolDriver(uri)
	if err != nil {
		return nil
	}
	switch driver {
	case "embedded":
		return []string{"FIFO", "CLAIMS", "DURABILITY", "AOD"}
	case "mongodb": // every capability, as Zaqar's MongoDB driver
		return []string{"FIFO", "CLAIMS", "DURABILITY", "AOD", "HIGH_THROUGHPUT"}
	default: // memory, redis
		return []string{"FIFO", "CLAIMS", "AOD", "HIGH_THROUGHPUT"}
	}
}
