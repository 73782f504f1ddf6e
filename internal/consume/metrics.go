package consume

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics counts what a Listener does, for Prometheus. Give the same
// Metrics to several listeners (hooks runs one per worker) to add them up.
type Metrics struct {
	Seen          prometheus.Counter     // events claimed
	Acted         *prometheus.CounterVec // actions that succeeded, by rule
	Failed        *prometheus.CounterVec // actions that failed after their retries, by rule
	Malformed     prometheus.Counter     // messages that are not Heat events (left for the dead-letter queue)
	HandedBack    prometheus.Counter     // events handed back at a stop
	ClaimRenewals prometheus.Counter
	ClaimErrors   prometheus.Counter

	lastClaimOK  atomic.Int64 // unix nanoseconds of the last claim request answered
	lastClaimErr atomic.Pointer[error]
}

// NewMetrics registers a Listener's metrics in reg under prefix
// (heatsink, hooks).
func NewMetrics(reg prometheus.Registerer, prefix string) *Metrics {
	f := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: prefix + "_" + name, Help: help})
		reg.MustRegister(c)
		return c
	}
	v := func(name, help string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: prefix + "_" + name, Help: help}, []string{"rule"})
		reg.MustRegister(c)
		return c
	}
	return &Metrics{
		Seen:          f("events_seen_total", "Events claimed from the queues."),
		Acted:         v("events_acted_total", "Actions that succeeded, by rule."),
		Failed:        v("events_failed_total", "Actions that failed after their retries, by rule; the event comes back with a later claim until the queue's _max_claim_count dead-letters it."),
		Malformed:     f("events_malformed_total", "Claimed messages that are not Heat events, left for the dead-letter queue."),
		HandedBack:    f("events_handed_back_total", "Claims handed back (deleted) at a stop."),
		ClaimRenewals: f("claim_renewals_total", "Claims renewed while an action or a wait ran."),
		ClaimErrors:   f("claim_errors_total", "Claim requests that failed (Zaqar unreachable or refusing)."),
	}
}

func (m *Metrics) claimAnswered(err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.ClaimErrors.Inc()
		m.lastClaimErr.Store(&err)
		return
	}
	m.lastClaimErr.Store(nil)
	m.lastClaimOK.Store(time.Now().UnixNano())
}

// Healthy is nil when the last claim request was answered: Zaqar is
// reachable and accepts our credentials.
func (m *Metrics) Healthy() error {
	if p := m.lastClaimErr.Load(); p != nil {
		return *p
	}
	if m.lastClaimOK.Load() == 0 {
		return errors.New("no claim answered yet")
	}
	return nil
}

// Serve serves /metrics (reg, Prometheus text format) and /healthz (200
// "ok", or 503 and why when healthy says so) on ln until ctx ends.
func Serve(ctx context.Context, ln net.Listener, reg *prometheus.Registry, healthy func() error, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := healthy(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("serving metrics and health", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// The Listener's counting, a no-op without Metrics.

func (m *Metrics) seen(n int) {
	if m != nil {
		m.Seen.Add(float64(n))
	}
}

func (m *Metrics) acted(rule string) {
	if m != nil {
		m.Acted.WithLabelValues(rule).Inc()
	}
}

func (m *Metrics) failed(rule string) {
	if m != nil {
		m.Failed.WithLabelValues(rule).Inc()
	}
}

func (m *Metrics) inc(c func(*Metrics) prometheus.Counter) {
	if m != nil {
		c(m).Inc()
	}
}
