package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// histogram keeps latencies in log buckets 1% wide, so percentiles are
// exact to about 1% in constant memory however long the run.
type histogram struct {
	counts map[int]int64
	n      int64
	max    time.Duration
}

const bucketBase = 1.01

func bucketOf(d time.Duration) int {
	if d < time.Microsecond {
		return 0
	}
	return int(math.Log(float64(d)/float64(time.Microsecond)) / math.Log(bucketBase))
}

func bucketValue(b int) time.Duration {
	return time.Duration(float64(time.Microsecond) * math.Pow(bucketBase, float64(b)+0.5))
}

func (h *histogram) add(d time.Duration) {
	if h.counts == nil {
		h.counts = map[int]int64{}
	}
	h.counts[bucketOf(d)]++
	h.n++
	if d > h.max {
		h.max = d
	}
}

func (h *histogram) merge(o *histogram) {
	for b, c := range o.counts {
		if h.counts == nil {
			h.counts = map[int]int64{}
		}
		h.counts[b] += c
	}
	h.n += o.n
	if o.max > h.max {
		h.max = o.max
	}
}

func (h *histogram) percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	keys := make([]int, 0, len(h.counts))
	for b := range h.counts {
		keys = append(keys, b)
	}
	sort.Ints(keys)
	want := int64(math.Ceil(p / 100 * float64(h.n)))
	var seen int64
	for _, b := range keys {
		seen += h.counts[b]
		if seen >= want {
			v := bucketValue(b)
			if v > h.max {
				v = h.max
			}
			return v
		}
	}
	return h.max
}

// recorder collects per-operation latencies and failures from all workers.
type recorder struct {
	mu        sync.Mutex
	ops       map[string]*opStats
	start     time.Time
	producing bool // producers still running
}

type opStats struct {
	hist     histogram
	items    int64             // messages moved (a batch post counts its size)
	failures map[string]int64  // by status or error kind
	first    map[string]string // the first failure's detail per kind, for the summary
}

func newRecorder() *recorder {
	return &recorder{ops: map[string]*opStats{}, start: time.Now(), producing: true}
}

func (r *recorder) op(name string) *opStats {
	s := r.ops[name]
	if s == nil {
		s = &opStats{failures: map[string]int64{}, first: map[string]string{}}
		r.ops[name] = s
	}
	return s
}

// ok records a successful request that moved items messages.
func (r *recorder) ok(name string, d time.Duration, items int) {
	r.mu.Lock()
	s := r.op(name)
	s.hist.add(d)
	s.items += int64(items)
	r.mu.Unlock()
}

// fail records a failed request; why is a status code or error kind,
// detail what the server answered or the transport error (the first one of
// each kind is kept for the summary).
func (r *recorder) fail(name, why, detail string) {
	r.mu.Lock()
	s := r.op(name)
	if s.failures[why] == 0 {
		s.first[why] = truncate(detail, 200)
	}
	s.failures[why]++
	r.mu.Unlock()
}

func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// snapshot returns requests and failures so far, for live progress.
func (r *recorder) snapshot() (reqs, fails int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.ops {
		reqs += s.hist.n
		for _, c := range s.failures {
			fails += c
		}
	}
	return reqs, fails
}

// Report is the machine-readable summary (the JSON line).
type Report struct {
	Endpoint string              `json:"endpoint"`
	Seconds  float64             `json:"seconds"`
	Ops      map[string]OpReport `json:"ops"`
	// Lost: messages acknowledged to a producer that were neither
	// consumed nor, by GET .../stats after the run, on the server.
	Lost int64 `json:"lost"`
	// Undrained: acknowledged messages not consumed (consumers ran but
	// the drain deadline came first) that the server still holds.
	Undrained int64 `json:"undrained"`
	// OnServer: messages the run's queues held after it (GET .../stats),
	// -1 when they could not be counted (lost is then unverified).
	OnServer   int64   `json:"on_server"`
	Duplicated int64   `json:"duplicated_within_live_claim"`
	OutOfOrder int64   `json:"out_of_order"`
	Produced   int64   `json:"produced"`
	Consumed   int64   `json:"consumed"`
	Ceiling    float64 `json:"ceiling_rps,omitempty"`
	// FailedRequests counts requests that failed, every operation together
	// (the ops' errors say which and why).
	FailedRequests int64 `json:"failed_requests"`
	// FirstErrors holds the first failure of each kind, "op status" ->
	// the server's answer or the transport error; not in the JSON line.
	FirstErrors map[string]string `json:"-"`
	// Delivery: from a post being sent to the claim answer carrying its
	// message, first deliveries only (Requests counts messages).
	Delivery *OpReport `json:"delivery,omitempty"`
	// RequestsPerMessage: every request that succeeded (posts, claims,
	// empty ones included, deletes, ...) per message consumed.
	RequestsPerMessage float64 `json:"requests_per_message,omitempty"`
}

// OpReport summarises one operation.
type OpReport struct {
	Requests int64            `json:"requests"`
	RPS      float64          `json:"requests_per_second"`
	ItemsPS  float64          `json:"messages_per_second"`
	P50      float64          `json:"p50_ms"`
	P90      float64          `json:"p90_ms"`
	P99      float64          `json:"p99_ms"`
	Max      float64          `json:"max_ms"`
	Errors   map[string]int64 `json:"errors,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r *recorder) report(elapsed time.Duration) map[string]OpReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]OpReport{}
	for name, s := range r.ops {
		if len(s.failures) == 0 {
			s.failures = nil // no "errors" key
		}
		out[name] = OpReport{
			Requests: s.hist.n,
			RPS:      float64(s.hist.n) / elapsed.Seconds(),
			ItemsPS:  float64(s.items) / elapsed.Seconds(),
			P50:      ms(s.hist.percentile(50)), P90: ms(s.hist.percentile(90)),
			P99: ms(s.hist.percentile(99)), Max: ms(s.hist.max),
			Errors: s.failures,
		}
	}
	return out
}

// failures returns the number of failed requests and the first failure
// of each kind, keyed "op kind".
func (r *recorder) failures() (int64, map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	first := map[string]string{}
	for name, s := range r.ops {
		for why, c := range s.failures {
			n += c
			first[name+" "+why] = s.first[why]
		}
	}
	return n, first
}

func printTable(w io.Writer, rep Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\trequests\treq/s\tmsg/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\t")
	names := make([]string, 0, len(rep.Ops))
	for n := range rep.Ops {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		o := rep.Ops[n]
		var errs []string
		for k, v := range o.Errors {
			errs = append(errs, fmt.Sprintf("%s:%d", k, v))
		}
		sort.Strings(errs)
		e := strings.Join(errs, " ")
		if e == "" {
			e = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t\n", n, o.Requests, o.RPS, o.ItemsPS, o.P50, o.P90, o.P99, o.Max, e)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nproduced %d, consumed %d: lost %d, duplicated within a live claim %d, out of order %d\n",
		rep.Produced, rep.Consumed, rep.Lost, rep.Duplicated, rep.OutOfOrder)
	switch {
	case rep.OnServer < 0:
		fmt.Fprintln(w, "lost is unverified: the queues' stats could not be read")
	case rep.Undrained > 0:
		fmt.Fprintf(w, "%d messages were not consumed before the drain deadline and are still on the server (not lost)\n", rep.Undrained)
	}
	if d := rep.Delivery; d != nil {
		fmt.Fprintf(w, "delivery (post sent to claim answered), %d messages: p50 %.2f p90 %.2f p99 %.2f max %.2f ms\n", d.Requests, d.P50, d.P90, d.P99, d.Max)
	}
	if rep.RequestsPerMessage > 0 {
		fmt.Fprintf(w, "%.2f requests per message consumed\n", rep.RequestsPerMessage)
	}
	if rep.Ceiling > 0 {
		if p, ok := rep.Ops["post"]; ok {
			fmt.Fprintf(w, "post throughput is %.0f%% of the trivial-handler ceiling (%.0f req/s)\n", 100*p.RPS/rep.Ceiling, rep.Ceiling)
		}
	}
}

// failureSummary describes the failed requests, one line per operation
// and kind with the first failure's detail; empty when none failed.
func failureSummary(rep Report) string {
	if rep.FailedRequests == 0 {
		return ""
	}
	var total int64
	for _, o := range rep.Ops {
		total += o.Requests
	}
	var lines []string
	for name, o := range rep.Ops {
		for why, n := range o.Errors {
			line := fmt.Sprintf("  %s %s: %d", name, why, n)
			if d := rep.FirstErrors[name+" "+why]; d != "" {
				line += " (first: " + d + ")"
			}
			lines = append(lines, line)
		}
	}
	sort.Strings(lines)
	return fmt.Sprintf("%d of %d requests failed:\n%s\n", rep.FailedRequests, total+rep.FailedRequests, strings.Join(lines, "\n"))
}

func printJSON(w io.Writer, rep Report) {
	b, _ := json.Marshal(rep)
	fmt.Fprintln(w, string(b))
}
