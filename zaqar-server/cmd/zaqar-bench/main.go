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
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

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
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "ceiling-server" {
		ceilingServer(os.Args[2:])
		return
	}
	var c config
	flag.StringVar(&c.endpoint, "endpoint", "http://127.0.0.1:8888", "Zaqar HTTP endpoint")
	flag.StringVar(&c.wsEndpoint, "ws-endpoint", "ws://127.0.0.1:9000", "Zaqar WebSocket endpoint")
	flag.StringVar(&c.project, "project", "bench", "X-Project-ID (ignored by servers using Keystone)")
	flag.StringVar(&c.token, "token", "", "X-Auth-Token; when empty and OS_AUTH_URL is set, one is obtained from Keystone")
	flag.StringVar(&c.consumerEndpoint, "consumer-endpoint", "", "HTTP endpoint of the consumers and listers (another API node on the same store); default -endpoint")
	flag.Float64Var(&c.rate, "rate", 0, "messages per second the HTTP producers post together, spread evenly over them (0: as fast as they can)")
	flag.StringVar(&c.ceiling, "ceiling", "", "URL of a trivial handler (zaqar-bench ceiling-server) to measure first")
	flag.IntVar(&c.producers, "producers", 8, "HTTP producers posting messages")
	flag.IntVar(&c.consumers, "consumers", 0, "HTTP work-queue consumers (claim, delete each)")
	flag.IntVar(&c.listers, "listers", 0, "HTTP listers paging through messages with echo")
	flag.IntVar(&c.churn, "churn", 0, "clients creating and deleting queues")
	flag.IntVar(&c.wsProducers, "ws-producers", 0, "WebSocket producers (one connection each)")
	flag.IntVar(&c.wsConsumers, "ws-consumers", 0, "WebSocket consumers (one connection each)")
	flag.IntVar(&c.wsIdle, "ws-idle", 0, "idle WebSocket connections held open during the run (to measure the server's memory per connection)")
	flag.IntVar(&c.wsWindow, "ws-window", 1, "requests each WebSocket producer keeps in flight on its connection")
	flag.IntVar(&c.batch, "batch", 1, "messages per post")
	flag.IntVar(&c.msgSize, "msg-size", 64, "approximate body size in bytes")
	flag.IntVar(&c.claimLimit, "claim-limit", 10, "messages per claim")
	flag.IntVar(&c.claimTTL, "claim-ttl", 60, "claim ttl in seconds")
	flag.IntVar(&c.wait, "wait", 0, "HTTP consumers claim with wait=S (long polling, a zaqar-server extension); 0: plain claims")
	flag.DurationVar(&c.poll, "poll", 5*time.Millisecond, "how long an HTTP consumer pauses after an empty claim (e.g. 1s to model a polling client)")
	flag.IntVar(&c.queues, "queues", 1, "queues the clients spread over")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "how long producers run")
	flag.DurationVar(&c.drain, "drain", 30*time.Second, "how long consumers may drain after producers stop")
	flag.BoolVar(&c.jsonOnly, "json", false, "print only the JSON line")
	flag.BoolVar(&c.noKeepAlive, "no-keepalive", false, "a new HTTP connection per request (for servers that close after each answer)")
	flag.BoolVar(&c.netHTTP, "net-http", false, "send every request with Go's net/http client (by default plain-http keep-alive requests use a lean client that spends about a third less CPU per request)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.String("zaqar-bench"))
		return
	}
	if err := c.check(); err != nil {
		fmt.Fprintln(os.Stderr, "zaqar-bench:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.token == "" && os.Getenv("OS_AUTH_URL") != "" {
		tok, err := keystoneToken(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "zaqar-bench: keystone:", err)
			os.Exit(1)
		}
		c.token = tok
	}
	rep, err := run(ctx, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zaqar-bench:", err)
		os.Exit(1)
	}
	if !c.jsonOnly {
		printTable(os.Stdout, rep)
	}
	printJSON(os.Stdout, rep)
	if rep.Lost > 0 || rep.Duplicated > 0 || rep.OutOfOrder > 0 {
		os.Exit(3)
	}
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
		ceiling = rep.Ops["post"].RPS
		if !c.jsonOnly {
			fmt.Fprintf(os.Stderr, "ceiling: %.0f req/s against %s\n", ceiling, c.ceiling)
		}
	}
	rep, err := load(ctx, c, false)
	rep.Ceiling = ceiling
	return rep, err
}

// load runs one measured phase.
func load(ctx context.Context, c config, ceilingPhase bool) (Report, error) {
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
			fmt.Fprintf(os.Stderr, "%d idle WebSocket connections open\n", len(conns))
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
	live := liveProgress(ctx, rec, c.jsonOnly || ceilingPhase)
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
	if !ceilingPhase {
		for _, q := range queues {
			cl.deleteQueue(context.WithoutCancel(ctx), q)
		}
	}
	rep := Report{Endpoint: c.endpoint, Seconds: elapsed.Seconds(), Ops: rec.report(elapsed)}
	rep.Produced, rep.Consumed = chk.totals()
	if c.consumers+c.wsConsumers > 0 {
		rep.Lost = rep.Produced - rep.Consumed
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

// liveProgress prints a line per second to stderr; the returned func stops it.
func liveProgress(ctx context.Context, rec *recorder, quiet bool) func() {
	if quiet {
		return func() {}
	}
	// On a terminal the line is redrawn; in a log, one line a second.
	eol := "\n"
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		eol = ""
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				fmt.Fprintln(os.Stderr)
				return
			case <-ctx.Done():
				return
			case <-t.C:
				reqs, fails := rec.snapshot()
				fmt.Fprintf(os.Stderr, "\r%6.0fs  %8d req/s  %10d requests  %6d errors%s",
					time.Since(rec.start).Seconds(), reqs-last, reqs, fails, eol)
				last = reqs
			}
		}
	}()
	return func() { close(done) }
}

// ceilingServer answers every request like a message post would, doing
// nothing: the most this machine can serve through net/http.
func ceilingServer(args []string) {
	fs := flag.NewFlagSet("ceiling-server", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:9999", "listen address")
	fs.Parse(args)
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
	fmt.Fprintf(os.Stderr, "ceiling server on %s\n", *addr)
	if err := http.ListenAndServe(*addr, h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
