package watch

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zaqar-go/suite/internal/consume"
)

// Metrics counts what a Watcher does, for Prometheus: the hook event
// queue's listener metrics (hooks_events_seen_total, ...) and the hooks'.
type Metrics struct {
	Listen  *consume.Metrics
	Pending prometheus.Gauge       // hooks waited on now
	Settled *prometheus.CounterVec // by decision (approved, rejected, timeout, ...) and action (cleared, failed, left, ...)
}

// NewMetrics registers a Watcher's metrics in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Listen: consume.NewMetrics(reg, "hooks"),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "hooks_pending",
			Help: "Hooks this process waits on now."}),
		Settled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hooks_settled_total",
			Help: "Hook events settled, by decision (approved, rejected, timeout, gone, unmatched, unclearable, rollback) and action (cleared, already-cleared, failed, rolled-back, left)."},
			[]string{"decision", "action"}),
	}
	reg.MustRegister(m.Pending, m.Settled)
	return m
}
