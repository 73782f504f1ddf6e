package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
)

// storeCollector reads the store at scrape time: whether each pool answers
// a ping and, where it can count them cheaply, its live messages. All pools
// are read at once under one deadline; what has not answered by then is
// left out of the scrape (and logged), so a hung backend delays a scrape
// by the timeout at most and never fails it.
type storeCollector struct {
	store   storage.Store
	timeout time.Duration
	log     *slog.Logger

	up, catalogUp, messages *prometheus.Desc
}

func newStoreCollector(st storage.Store, timeout time.Duration, log *slog.Logger) *storeCollector {
	return &storeCollector{
		store: st, timeout: timeout, log: log,
		up: prometheus.NewDesc("zaqar_storage_up",
			"1 when the store (with pooling: the pool) answered a ping at scrape time.", []string{"pool"}, nil),
		catalogUp: prometheus.NewDesc("zaqar_catalog_up",
			"With pooling, 1 when the pool catalog could be read at scrape time.", nil, nil),
		messages: prometheus.NewDesc("zaqar_messages",
			"Live messages at scrape time, free or claimed; only for stores that count them cheaply (memory).",
			[]string{"pool", "state"}, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.catalogUp
	ch <- c.messages
}

// poolReading is what one pool answered.
type poolReading struct {
	name   string
	up     bool
	volume *storage.Volume
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	pools := []storage.NamedStore{{Store: c.store}}
	if ps, ok := c.store.(storage.PoolSet); ok {
		var err error
		pools, err = ps.PoolStores(ctx)
		if err != nil {
			c.log.Warn("metrics: pool catalog unreadable", "err", err)
			ch <- prometheus.MustNewConstMetric(c.catalogUp, prometheus.GaugeValue, 0)
			return
		}
		ch <- prometheus.MustNewConstMetric(c.catalogUp, prometheus.GaugeValue, 1)
		for i := range pools {
			if pools[i].Name == "" {
				pools[i].Name = "virtual_pool" // as /v2/health names it
			}
		}
	}
	readings := make(chan poolReading, len(pools))
	for _, p := range pools {
		go func() { readings <- c.read(ctx, p) }()
	}
	seen := map[string]bool{}
	for range pools {
		var r poolReading
		select {
		case r = <-readings:
		case <-ctx.Done():
			c.log.Warn("metrics: storage did not answer in time", "timeout", c.timeout)
			return
		}
		if seen[r.name] {
			continue // a registered pool named like the virtual pool
		}
		seen[r.name] = true
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, b2f(r.up), r.name)
		if r.volume != nil {
			ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(r.volume.Free), r.name, "free")
			ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(r.volume.Claimed), r.name, "claimed")
		}
	}
}

func (c *storeCollector) read(ctx context.Context, p storage.NamedStore) poolReading {
	r := poolReading{name: p.Name}
	if p.Err != nil {
		return r
	}
	r.up = p.Store.Ping(ctx) == nil
	if vc, ok := p.Store.(storage.VolumeCounter); ok && r.up {
		v, err := vc.Volume(ctx)
		if err != nil {
			c.log.Warn("metrics: messages could not be counted", "pool", p.Name, "err", err)
			return r
		}
		r.volume = &v
	}
	return r
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
