package system

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// apiMetrics are the API's Prometheus series (GET /metrics): request and enqueue
// latency, the Faktory pool's use and wait (the analysis' "monitor the connection
// pool"), and job counters. Each API has its own registry, so several in one process
// (a test, a scenario) never collide.
type apiMetrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.HistogramVec
	enqueue     *prometheus.HistogramVec
	jobs        *prometheus.CounterVec
	poolWait    prometheus.Histogram
	flushErrors prometheus.Counter
}

// latencyBuckets span a loopback call to a slow WAN round trip: 100 µs .. ~26 s.
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 2, 19)

func newAPIMetrics(a *API) *apiMetrics {
	m := &apiMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wfbench_api_request_duration_seconds", Help: "API requests by route and status code.", Buckets: latencyBuckets,
		}, []string{"route", "code"}),
		enqueue: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wfbench_api_enqueue_duration_seconds", Help: "Time to Faktory's answer to a PUSH or PUSHB (sync: inside the request; async: a buffer flush).", Buckets: latencyBuckets,
		}, []string{"command"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wfbench_api_jobs_total", Help: "Jobs by outcome: enqueued (Faktory has them), buffered (async, accepted), refused (by Faktory), failed (enqueue error).",
		}, []string{"outcome"}),
		flushErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wfbench_api_async_flush_errors_total", Help: "Async PUSHBs without an answer (their jobs are retried; at-least-once).",
		}),
		poolWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wfbench_faktory_pool_wait_seconds", Help: "Time a request waited for a Faktory connection from the pool (dial included).", Buckets: latencyBuckets,
		}),
	}
	pool := a.Pool
	m.reg.MustRegister(m.requests, m.enqueue, m.jobs, m.poolWait, m.flushErrors,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wfbench_faktory_pool_in_use", Help: "Faktory connections in use."},
			func() float64 { return float64(pool.InUse()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wfbench_faktory_pool_idle", Help: "Faktory connections open and idle."},
			func() float64 { return float64(pool.Idle()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wfbench_faktory_pool_size", Help: "Faktory connection pool capacity (FAKTORY_POOL_SIZE)."},
			func() float64 { return float64(pool.Size()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wfbench_faktory_circuit_open", Help: "1 while the API fails fast because Faktory is unreachable."},
			func() float64 {
				if pool.CircuitOpen() {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wfbench_api_async_buffered_jobs", Help: "Jobs accepted in async mode and not yet flushed to Faktory."},
			func() float64 { return float64(a.buffered()) }),
	)
	pool.observeWait(func(d time.Duration) { m.poolWait.Observe(d.Seconds()) })
	for _, o := range []string{"enqueued", "buffered", "refused", "failed"} {
		m.jobs.WithLabelValues(o) // every series exists from the start, at 0
	}
	return m
}

// route wraps a handler with the request histogram.
func (m *apiMetrics) route(name string, h http.HandlerFunc) http.Handler {
	return promhttp.InstrumentHandlerDuration(m.requests.MustCurryWith(prometheus.Labels{"route": name}), h)
}

func (m *apiMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *apiMetrics) observeEnqueue(command string, start time.Time) {
	m.enqueue.WithLabelValues(command).Observe(time.Since(start).Seconds())
}
