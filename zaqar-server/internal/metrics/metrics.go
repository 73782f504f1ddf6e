// Package metrics keeps the server's Prometheus metrics on a registry of its
// own and serves them (Handler) on the listener app opens for [metrics]:
//
//	zaqar_http_requests_total{route,method,code}       REST requests
//	zaqar_http_request_duration_seconds{route,method}  their latency
//	zaqar_storage_errors_total{driver,operation}       backend failures
//	zaqar_notifications_total{kind,outcome}            subscriber deliveries
//	zaqar_storage_up{pool}                             ping, at scrape time
//	zaqar_catalog_up                                   with pooling, at scrape time
//	zaqar_messages{pool,state}                         live messages, at scrape time
//	zaqar_waiters                                      long polls waiting now
//	zaqar_waits_woken_total, zaqar_waits_timed_out_total, zaqar_waits_refused_total
//
// plus the Go runtime's and the process's. Every label takes a bounded set
// of values: route is the router's pattern (/v2/queues/{queue}/messages),
// never the path; pool is a pool name (operators create few) or "" without
// pooling; there is no per-project or per-queue label, since projects and
// queues are unbounded. The request path costs a few atomic adds and no
// allocation: Route hands each route its pre-built recorder.
//
// The package sees storage only through its interfaces; it knows nothing
// of HTTP routing (rest calls Route) or of subscribers (notify reports
// through its Observe option).
package metrics

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zaqar-go/suite/zaqar-server/internal/notify"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
)

// Options configure Metrics.
type Options struct {
	// ScrapeTimeout bounds the reads of a watched store at a scrape
	// (default 5 s); a pool that has not answered by then is left out of
	// that scrape.
	ScrapeTimeout time.Duration
	Logger        *slog.Logger
}

// Metrics is the server's metrics registry.
type Metrics struct {
	reg      *prometheus.Registry
	log      *slog.Logger
	timeout  time.Duration
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	storeErr *prometheus.CounterVec
	notified [notifyKinds][notifyOutcomes]prometheus.Counter
	closed   *prometheus.CounterVec
}

// Latency buckets: a request served from memory takes tens of
// microseconds, one that waits for a networked store milliseconds.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New returns the registry with every metric registered.
func New(opts Options) *Metrics {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.ScrapeTimeout <= 0 {
		opts.ScrapeTimeout = 5 * time.Second
	}
	m := &Metrics{
		reg:     prometheus.NewRegistry(),
		log:     log,
		timeout: opts.ScrapeTimeout,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zaqar_http_requests_total",
			Help: "REST API requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zaqar_http_request_duration_seconds",
			Help:    "REST API request latency by route pattern and method, until the handler returns.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
		storeErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zaqar_storage_errors_total",
			Help: "Storage calls that failed in the backend (not absent resources or invalid input), by driver and operation.",
		}, []string{"driver", "operation"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zaqar_http_connections_closed_total",
			Help: "REST connections closed because of their request body: body_timeout (not received within [drivers:transport:wsgi] request_body_timeout), unread_body (answered, e.g. 401, before the body was read; closed after at most 2 s of draining).",
		}, []string{"reason"}),
	}
	notifications := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "zaqar_notifications_total",
		Help: "Subscriber notifications by subscriber kind: delivered, failed (given up) and retried (attempts after a failure).",
	}, []string{"kind", "outcome"})
	for k, kind := range kinds {
		for o := range notifyOutcomes {
			m.notified[k][o] = notifications.WithLabelValues(kind, notify.Outcome(o).String())
		}
	}
	m.reg.MustRegister(m.requests, m.latency, m.storeErr, m.closed, notifications,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Watch reads st at every scrape: whether it (with pooling: each pool)
// answers a ping and, where it counts them cheaply
// (storage.VolumeCounter), its live messages. Call it once.
func (m *Metrics) Watch(st storage.Store) {
	m.reg.MustRegister(newStoreCollector(st, m.timeout, m.log))
}

// WaitStats are the service's long-polling counters (service.WaitStats).
type WaitStats struct{ Waiting, Woken, TimedOut, Refused, Rechecks int64 }

// Waits exports the long-polling counters read reports, at scrape time.
// Call it once.
func (m *Metrics) Waits(read func() WaitStats) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "zaqar_waiters",
			Help: "Claims and message listings waiting now (wait=S, long polling) on this node."},
			func() float64 { return float64(read().Waiting) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "zaqar_waits_woken_total",
			Help: "Wake-ups handed to waiting claims and listings by posts, releases and store signals."},
			func() float64 { return float64(read().Woken) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "zaqar_waits_timed_out_total",
			Help: "Waits that reached their deadline with nothing to answer."},
			func() float64 { return float64(read().TimedOut) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "zaqar_waits_refused_total",
			Help: "Waits refused for [transport] max_waiters or max_waiters_per_project (answered at once)."},
			func() float64 { return float64(read().Refused) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "zaqar_waits_rechecks_total",
			Help: "Re-check rounds of waiting claims: one store look per queue, for delays ending and claims expiring, which nothing signals."},
			func() float64 { return float64(read().Rechecks) }),
	)
}

// Handler serves the registry in Prometheus' text format at /metrics.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		// A collector error leaves its metrics out rather than failing the scrape.
		ErrorHandling: promhttp.ContinueOnError,
	}))
	return mux
}

// ConnClosed counts a connection closed because of its request body; it
// is rest.Options.ConnClosed.
func (m *Metrics) ConnClosed(reason string) { m.closed.WithLabelValues(reason).Inc() }

// Registry is the registry, for tests and further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Notification outcomes, indexed by notify.Outcome, and subscriber kinds.
const notifyOutcomes = 3 // Delivered, Failed, Retried

var kinds = [...]string{notify.KindWebhook, notify.KindTrust, notify.KindMail, notify.KindOther}

const notifyKinds = len(kinds)

// Notification counts one notify outcome; it is notify.Options.Observe.
func (m *Metrics) Notification(kind string, o notify.Outcome) {
	if int(o) >= notifyOutcomes {
		return
	}
	k := notifyKinds - 1 // other
	for i, name := range kinds {
		if name == kind {
			k = i
			break
		}
	}
	m.notified[k][o].Inc()
}
