// Command zaqar-bench loads a Zaqar endpoint (ours or Python Zaqar) with
// producers, work-queue consumers, listers, queue churn and WebSocket
// clients, checks that no message is lost, duplicated within a live claim
// or delivered out of order, and reports throughput and latency per
// operation: a live line per second, a table, and one JSON line.
//
//	zaqar-bench -endpoint http://127.0.0.1:8888 -producers 16 -duration 20s
//	zaqar-bench -endpoint URL -producers 8 -consumers 16 -claim-limit 10
//	zaqar-bench ceiling-server -addr 127.0.0.1:9999   # a trivial handler
//	zaqar-bench -endpoint URL -producers 16 -ceiling http://127.0.0.1:9999
//	zaqar-bench -endpoint URL -producers 1 -rate 10 -consumers 50 -wait 20   # long polling at low traffic
//	zaqar-bench -endpoint URL -consumer-endpoint URL2 -producers 1 -rate 10 -consumers 20 -wait 20   # two API nodes
//	zaqar-bench -endpoint URL -producers 0 -consumers 1000 -wait 20 -duration 30s   # idle waiting consumers
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/gophercloud/gophercloud/v2"

	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/version"
)

type config struct {
	endpoint, wsEndpoint, project, token, ceiling string
	consumerEndpoint                              string  // HTTP consumers' and listers' endpoint when not endpoint
	rate                                          float64 // messages per second all HTTP producers post together; 0: as fast as they can
	producers, consumers, listers, churn          int
	wsProducers, wsConsumers, wsWindow, wsIdle    int
	batch, msgSize, claimLimit, queues            int
	duration, drain                               time.Duration
	claimTTL                                      int
	wait                                          int           // HTTP consumers' wait=S (long polling); 0: none
	poll                                          time.Duration // HTTP consumers' pause after an empty claim
	jsonOnly, noKeepAlive, netHTTP                bool
	stderr                                        io.Writer // progress and notes
}

// usage is -h's text before the flags.
const usage = `zaqar-bench loads a Zaqar endpoint (ours or Python Zaqar), checks every
message's delivery and reports throughput and latency per operation: a
progress line a second on stderr (marked "producing", then "draining" while
consumers empty the queues), a table, and one JSON line on stdout.

Usage:
  zaqar-bench [flags]                       a load run
  zaqar-bench ceiling-server [-addr ADDR]   a trivial handler answering 201 to
                                            everything: the most this machine
                                            serves through net/http

Scenarios:
  POST throughput, 16 producers posting one message each, for 8 s:
    zaqar-bench -endpoint http://127.0.0.1:8888 -producers 16 -duration 8s
  ... as a share of the ceiling, measured first with the same producers:
    zaqar-bench ceiling-server -addr 127.0.0.1:9999 &
    zaqar-bench -endpoint URL -producers 16 -duration 8s -ceiling http://127.0.0.1:9999
  Work queue: 4 producers posting 10 at a time, 12 consumers claiming 10
  and deleting each:
    zaqar-bench -endpoint URL -producers 4 -batch 10 -consumers 12 -claim-limit 10
  Long polling at 10 messages/s, 50 consumers waiting up to 20 s (or
  polling once a second with -poll 1s instead of -wait 20):
    zaqar-bench -endpoint URL -producers 1 -rate 10 -consumers 50 -wait 20 -duration 30s
  Two API nodes on one store, posts to one, claims from the other:
    zaqar-bench -endpoint URL -consumer-endpoint URL2 -producers 1 -rate 10 -consumers 20 -wait 20
  WebSocket posts over one connection, 16 requests in flight:
    zaqar-bench -endpoint URL -ws-endpoint ws://127.0.0.1:9000 -producers 0 -ws-producers 1 -ws-window 16
  10,000 idle WebSocket connections (watch the server's memory):
    zaqar-bench -endpoint URL -ws-endpoint WSURL -producers 1 -ws-idle 10000 -duration 20s
  With Keystone: -token, or the OS_* variables of an openrc file (or OS_CLOUD) set.

After the run, the queues' stats (GET /v2/queues/{q}/stats) tell lost
messages (acknowledged, never consumed, not on the server) from undrained
ones (not consumed before -drain ended, still on the server).

Exit status: 0 a clean run; 1 the run could not be made; 2 bad flags;
3 messages lost, duplicated within a live claim or out of order; 4 requests
failed (each kind is listed at the end with its first answer or error).

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli runs zaqar-bench with args and returns its exit status.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "ceiling-server" {
		return ceilingServer(ctx, args[1:], stderr)
	}
	var c config
	c.stderr = stderr
	fs := flag.NewFlagSet("zaqar-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.endpoint, "endpoint", "http://127.0.0.1:8888", "Zaqar HTTP endpoint")
	fs.StringVar(&c.wsEndpoint, "ws-endpoint", "ws://127.0.0.1:9000", "Zaqar WebSocket endpoint")
	fs.StringVar(&c.project, "project", "bench", "X-Project-ID (ignored by servers using Keystone)")
	fs.StringVar(&c.token, "token", "", "X-Auth-Token; when empty and OS_AUTH_URL or OS_CLOUD is set, one is obtained from Keystone")
	fs.StringVar(&c.consumerEndpoint, "consumer-endpoint", "", "HTTP endpoint of the consumers and listers (another API node on the same store); default -endpoint")
	fs.Float64Var(&c.rate, "rate", 0, "messages per second the HTTP producers post together, spread evenly over them (0: as fast as they can)")
	fs.StringVar(&c.ceiling, "ceiling", "", "URL of a trivial handler (zaqar-bench ceiling-server) to measure first")
	fs.IntVar(&c.producers, "producers", 8, "HTTP producers posting messages")
	fs.IntVar(&c.consumers, "consumers", 0, "HTTP work-queue consumers (claim, delete each)")
	fs.IntVar(&c.listers, "listers", 0, "HTTP listers paging through messages with echo")
	fs.IntVar(&c.churn, "churn", 0, "clients creating and deleting queues")
	fs.IntVar(&c.wsProducers, "ws-producers", 0, "WebSocket producers (one connection each)")
	fs.IntVar(&c.wsConsumers, "ws-consumers", 0, "WebSocket consumers (one connection each)")
	fs.IntVar(&c.wsIdle, "ws-idle", 0, "idle WebSocket connections held open during the run (to measure the server's memory per connection)")
	fs.IntVar(&c.wsWindow, "ws-window", 1, "requests each WebSocket producer keeps in flight on its connection")
	fs.IntVar(&c.batch, "batch", 1, "messages per post")
	fs.IntVar(&c.msgSize, "msg-size", 64, "approximate body size in bytes")
	fs.IntVar(&c.claimLimit, "claim-limit", 10, "messages per claim")
	fs.IntVar(&c.claimTTL, "claim-ttl", 60, "claim ttl in seconds")
	fs.IntVar(&c.wait, "wait", 0, "HTTP consumers claim with wait=S (long polling, a zaqar-server extension); 0: plain claims")
	fs.DurationVar(&c.poll, "poll", 5*time.Millisecond, "how long an HTTP consumer pauses after an empty claim (e.g. 1s to model a polling client)")
	fs.IntVar(&c.queues, "queues", 1, "queues the clients spread over")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long producers run")
	fs.DurationVar(&c.drain, "drain", 30*time.Second, "how long consumers may drain after producers stop")
	fs.BoolVar(&c.jsonOnly, "json", false, "print only the JSON line (and, on stderr, failures)")
	fs.BoolVar(&c.noKeepAlive, "no-keepalive", false, "a new HTTP connection per request (for servers that close after each answer)")
	fs.BoolVar(&c.netHTTP, "net-http", false, "send every request with Go's net/http client (by default plain-http keep-alive requests use a lean client that spends about a third less CPU per request)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "zaqar-bench: unexpected argument %q (the one subcommand is ceiling-server; -h for help)\n", fs.Arg(0))
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, version.String("zaqar-bench"))
		return 0
	}
	if err := c.check(); err != nil {
		fmt.Fprintln(stderr, "zaqar-bench:", err)
		return 2
	}

	if c.token == "" && (os.Getenv("OS_AUTH_URL") != "" || os.Getenv("OS_CLOUD") != "") {
		// The OS_* variables of an openrc file (or OS_CLOUD), as the
		// openstack CLI and the Heat tools read them.
		cfg, err := cloud.FromEnv(cloud.TLSOptions{})
		if err == nil {
			var pc *gophercloud.ProviderClient
			if pc, err = cloud.Provider(ctx, cfg); err == nil {
				c.token = pc.Token()
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "zaqar-bench:", err)
			return 1
		}
	}
	rep, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(stderr, "zaqar-bench:", err)
		return 1
	}
	if !c.jsonOnly {
		printTable(stdout, rep)
	}
	printJSON(stdout, rep)
	switch {
	case rep.Lost > 0 || rep.Duplicated > 0 || rep.OutOfOrder > 0:
		if f := failureSummary(rep); f != "" {
			fmt.Fprint(stderr, "zaqar-bench: ", f)
		}
		fmt.Fprintf(stderr, "zaqar-bench: delivery check failed: %d lost, %d duplicated within a live claim, %d out of order\n",
			rep.Lost, rep.Duplicated, rep.OutOfOrder)
		return 3
	case rep.FailedRequests > 0:
		fmt.Fprint(stderr, "zaqar-bench: ", failureSummary(rep))
		return 4
	}
	return 0
}

// check refuses flag values that would be silently meaningless.
func (c config) check() error {
	switch {
	case c.rate < 0:
		return fmt.Errorf("-rate %v: must be at least 0", c.rate)
	case c.rate > 0 && c.producers == 0:
		return fmt.Errorf("-rate applies to HTTP producers and -producers is 0")
	case c.wait < 0:
		return fmt.Errorf("-wait %d: must be at least 0", c.wait)
	case c.poll < 0:
		return fmt.Errorf("-poll %v: must be at least 0", c.poll)
	case c.consumerEndpoint != "" && c.consumers+c.listers == 0:
		return fmt.Errorf("-consumer-endpoint applies to HTTP consumers and listers and there are none")
	}
	return nil
}

// run measures the ceiling first (if asked), then the real endpoint.
func run(ctx context.Context, c config) (Report, error) {
	var ceiling float64
	if c.ceiling != "" {
		cc := c
		cc.endpoint, cc.consumers, cc.listers, cc.churn, cc.wsProducers, cc.wsConsumers = c.ceiling, 0, 0, 0, 0, 0
		cc.consumerEndpoint = ""
		rep, err := load(ctx, cc, true)
		if err != nil {
			return Report{}, fmt.Errorf("ceiling: %w", err)
		}
		if rep.FailedRequests > 0 {
			// A share of a ceiling that failed means nothing.
			return Report{}, fmt.Errorf("ceiling %s: %s", c.ceiling, failureSummary(rep))
		}
		ceiling = rep.Ops["post"].RPS
		if !c.jsonOnly {
			fmt.Fprintf(c.stderr, "ceiling: %.0f req/s against %s\n", ceiling, c.ceiling)
		}
	}
	rep, err := load(ctx, c, false)
	rep.Ceiling = ceiling
	return rep, err
}

// load runs one measured phase.
func load(ctx context.Context, c config, ceilingPhase bool) (Report, error) {
	if c.stderr == nil {
		c.stderr = io.Discard
	}
	runID := uuid.NewString()[:8]
	queues := make([]string, max(c.queues, 1))
	for i := range queues {
		queues[i] = fmt.Sprintf("bench-%s-%d", runID, i)
	}
	if c.wsIdle > 0 && !ceilingPhase {
		conns, err := openIdle(ctx, c)
		defer func() {
			for _, w := range conns {
				w.c.CloseNow()
			}
		}()
		if err != nil {
			return Report{}, err
		}
		if !c.jsonOnly {
			fmt.Fprintf(c.stderr, "%d idle WebSocket connections open\n", len(conns))
		}
	}

	cl := newClient(c)
	ccl := cl // consumers' and listers'
	if c.consumerEndpoint != "" {
		cc := c
		cc.endpoint = c.consumerEndpoint
		ccl = newClient(cc)
	}
	rec := newRecorder()
	chk := newChecker(time.Duration(c.claimTTL) * time.Second)

	prodCtx, stopProducers := context.WithTimeout(ctx, c.duration)
	defer stopProducers()
	consCtx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()

	var producers, others sync.WaitGroup
	live := liveProgress(ctx, c.stderr, rec, chk, c.jsonOnly || ceilingPhase)
	for i := 0; i < c.producers; i++ {
		producers.Add(1)
		go func() {
			defer producers.Done()
			produceHTTP(ctx, prodCtx, cl, rec, chk, queues[i%len(queues)], i, c, ceilingPhase)
		}()
	}
	for i := 0; i < c.wsProducers; i++ {
		producers.Add(1)
		go func() {
			defer producers.Done()
			produceWS(ctx, prodCtx, c, rec, chk, queues[i%len(queues)], c.producers+i)
		}()
	}
	idle := make(chan string, c.consumers+c.wsConsumers)
	for i := 0; i < c.consumers; i++ {
		others.Add(1)
		go func() {
			defer others.Done()
			consumeHTTP(consCtx, ccl, rec, chk, queues[i%len(queues)], i, c, idle)
		}()
	}
	for i := 0; i < c.wsConsumers; i++ {
		others.Add(1)
		go func() {
			defer others.Done()
			consumeWS(consCtx, c, rec, chk, queues[i%len(queues)], c.consumers+i, idle)
		}()
	}
	for i := 0; i < c.listers; i++ {
		others.Add(1)
		go func() {
			defer others.Done()
			listHTTP(prodCtx, ccl, rec, chk, queues[i%len(queues)], c)
		}()
	}
	for i := 0; i < c.churn; i++ {
		others.Add(1)
		go func() {
			defer others.Done()
			churnHTTP(prodCtx, cl, rec, runID, i)
		}()
	}
	producers.Wait()
	if c.producers+c.wsProducers == 0 {
		<-prodCtx.Done() // consumers (idle, waiting) alone: run for -duration
	}
	elapsed := time.Since(rec.start)
	rec.mu.Lock()
	rec.producing = false
	rec.mu.Unlock()
	// Consumers drain what is left, until everything produced was
	// delivered (long-polling consumers would otherwise wait out their
	// wait) or each says its queue came up empty twice after the
	// producers stopped.
	drained := true
	if c.consumers+c.wsConsumers > 0 {
		deadline := time.After(c.drain)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for done := 0; done < c.consumers+c.wsConsumers; {
			select {
			case <-idle:
				done++
			case <-tick.C:
				if p, d := chk.totals(); d >= p {
					done = c.consumers + c.wsConsumers
				}
			case <-deadline:
				done = c.consumers + c.wsConsumers
				drained = false
			case <-ctx.Done():
				done = c.consumers + c.wsConsumers
			}
		}
	}
	stopConsumers()
	others.Wait()
	live()
	if c.consumers+c.wsConsumers > 0 {
		elapsed = time.Since(rec.start)
	}
	if !drained && !c.jsonOnly {
		fmt.Fprintf(c.stderr, "drain deadline (-drain %v) reached before every message was consumed\n", c.drain)
	}
	// What the server still holds tells messages not consumed yet from
	// messages lost. The ceiling handler keeps nothing.
	onServer := int64(-1)
	if !ceilingPhase {
		onServer = 0
		for _, q := range queues {
			n, err := cl.queueTotal(context.WithoutCancel(ctx), q)
			if err != nil {
				rec.fail("stats", "error", err.Error())
				onServer = -1
				break
			}
			onServer += n
		}
		for _, q := range queues {
			cl.deleteQueue(context.WithoutCancel(ctx), q)
		}
	}
	rep := Report{Endpoint: c.endpoint, Seconds: elapsed.Seconds(), Ops: rec.report(elapsed), OnServer: onServer}
	rep.FailedRequests, rep.FirstErrors = rec.failures()
	rep.Produced, rep.Consumed = chk.totals()
	if !ceilingPhase {
		rep.Lost, rep.Undrained = lostAndUndrained(chk.unconsumed(), onServer, c.consumers+c.wsConsumers > 0)
	}
	rep.Duplicated, rep.OutOfOrder = chk.anomalies()
	rep.Delivery = chk.deliveries()
	if rep.Consumed > 0 {
		var n int64
		for _, o := range rep.Ops {
			n += o.Requests
		}
		rep.RequestsPerMessage = float64(n) / float64(rep.Consumed)
	}
	return rep, nil
}

// lostAndUndrained splits the acknowledged messages nobody consumed:
// those the server still holds were not drained (when consumers ran; in a
// run without consumers they are simply stored), the rest are lost. With
// the server's count unknown (onServer < 0) every one counts as lost.
func lostAndUndrained(unconsumed, onServer int64, consumers bool) (lost, undrained int64) {
	if onServer < 0 {
		if !consumers {
			return 0, 0 // nothing to check against
		}
		return unconsumed, 0
	}
	held := min(unconsumed, onServer)
	if !consumers {
		return unconsumed - held, 0
	}
	return unconsumed - held, held
}

// liveProgress prints a line per second to w; the returned func stops it.
func liveProgress(ctx context.Context, w io.Writer, rec *recorder, chk *checker, quiet bool) func() {
	if quiet {
		return func() {}
	}
	// On a terminal the line is redrawn; in a log, one line a second.
	eol := "\n"
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			eol = ""
		}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				fmt.Fprintln(w)
				return
			case <-ctx.Done():
				return
			case <-t.C:
				reqs, fails := rec.snapshot()
				produced, consumed := chk.totals()
				fmt.Fprintf(w, "\r%s%s", progressLine(time.Since(rec.start), producersDone(rec), reqs-last, reqs, fails, produced, consumed), eol)
				last = reqs
			}
		}
	}()
	return func() { close(done) }
}

// progressLine is one second's progress; once the producers have stopped
// the run is draining and the line says how far.
func progressLine(elapsed time.Duration, draining bool, perSec, reqs, fails, produced, consumed int64) string {
	line := fmt.Sprintf("%6.0fs  %-9s %8d req/s  %10d requests  %6d errors", elapsed.Seconds(), "producing", perSec, reqs, fails)
	if draining {
		line = fmt.Sprintf("%6.0fs  %-9s %8d req/s  %10d requests  %6d errors  %d of %d messages consumed",
			elapsed.Seconds(), "draining", perSec, reqs, fails, consumed, produced)
	}
	return line
}

// ceilingServer answers every request like a message post would, doing
// nothing: the most this machine can serve through net/http.
// ceilingServer serves until ctx ends (SIGTERM, SIGINT).
func ceilingServer(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ceiling-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "zaqar-bench ceiling-server answers every request as a message post would (201, a resources\ndocument), doing nothing: the ceiling for -ceiling.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:9999", "listen address")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	body := []byte(`{"resources": ["/v2/queues/q/messages/00000000-0000-0000-0000-000000000000"]}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 4096)
		for {
			if _, err := r.Body.Read(buf); err != nil {
				break
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/v2/queues/q/messages?ids=00000000-0000-0000-0000-000000000000")
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "zaqar-bench ceiling-server:", err)
		return 1
	}
	fmt.Fprintf(stderr, "ceiling server on %s\n", ln.Addr())
	srv := &http.Server{Handler: h}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "zaqar-bench ceiling-server:", err)
		return 1
	}
	return 0
}
