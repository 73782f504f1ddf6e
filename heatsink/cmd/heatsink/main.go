// Command heatsink connects Heat's event sinks to Zaqar:
//
//	heatsink validate ENV.yml...              check environment files as Heat would, and more
//	heatsink prepare [flags] ENV.yml...       create the sink queues (with dead-letter queues)
//	heatsink share --queue Q [flags]          write a pre-signed URL file for a listener
//	heatsink listen --config listeners.yml    claim events and run the matching rules' actions
//	heatsink emit --stack S --queue Q [flags] copy a stack's events from Heat's API into a queue
//
// Credentials come from the OS_* environment (an openrc file) or OS_CLOUD;
// the messaging and orchestration endpoints from the Keystone catalog.
// --zaqar-url overrides the messaging endpoint; without OS_AUTH_URL and
// OS_CLOUD it talks to a Zaqar without authentication as --project.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/queues"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zaqar-go/suite/heatsink/emit"
	"github.com/zaqar-go/suite/heatsink/env"
	"github.com/zaqar-go/suite/heatsink/listen"
	"github.com/zaqar-go/suite/heatsink/prepare"
	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/consume"
	"github.com/zaqar-go/suite/internal/version"
)

const usage = `usage:
  heatsink validate [--listeners listeners.yml] ENV.yml...
  heatsink prepare [--max-claims N] [--dlq-suffix S] [--dlq-ttl SECONDS] [--no-dlq] ENV.yml...
  heatsink share --queue Q [--expires 24h] [--methods GET,POST,DELETE,PATCH] [-o FILE]
  heatsink listen --config listeners.yml
  heatsink emit --stack NAME|ID|NAME/ID (--queue Q [--ttl SECONDS] | --env ENV.yml...) [--nested-depth N] [--state FILE] [--poll 5s] [--until-done] [--all]
common flags (after the subcommand): --zaqar-url URL, --project ID (no-auth Zaqar), --os-cacert FILE, --insecure,
  --debug, --log-format text|json
listen: --metrics-addr ADDR; heatsink SUBCOMMAND -h says what it does, with an example`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// common are the connection flags every subcommand takes.
type common struct {
	cloud.Session // --zaqar-url is its MessagingURL
	project       string
	debug         bool
	logFormat     string
	log           *slog.Logger
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.MessagingURL, "zaqar-url", "", "Zaqar endpoint instead of the catalog's messaging endpoint")
	fs.StringVar(&c.project, "project", "", "project for a Zaqar without authentication (with --zaqar-url, no OS_AUTH_URL)")
	fs.BoolVar(&c.debug, "debug", false, "log every event handled")
	fs.StringVar(&c.logFormat, "log-format", "text", "log as text or json (one JSON object per line)")
	fs.StringVar(&c.TLS.CACert, "os-cacert", "", "CA bundle (PEM) to verify Keystone and the endpoints (default OS_CACERT, clouds.yaml cacert)")
	fs.BoolVar(&c.TLS.Insecure, "insecure", false, "do not verify the servers' certificates (as the openstack CLI's --insecure)")
}

// withTLS gives a client built apart from the session (pre-signed URL, no
// auth) the session's TLS settings.
func (c *common) withTLS(sc *gophercloud.ServiceClient) (*gophercloud.ServiceClient, error) {
	hc, err := c.HTTPClient()
	if err != nil {
		return nil, err
	}
	if hc.Transport != nil {
		sc.ProviderClient.HTTPClient.Transport = hc.Transport
	}
	return sc, nil
}

func (c *common) noAuth() bool {
	return c.MessagingURL != "" && os.Getenv("OS_AUTH_URL") == "" && os.Getenv("OS_CLOUD") == ""
}

// messaging returns the Zaqar client, without authentication when
// --zaqar-url is given and no credentials are.
func (c *common) messaging(ctx context.Context) (*gophercloud.ServiceClient, error) {
	if c.noAuth() {
		if c.project == "" {
			return nil, errors.New("--zaqar-url without OS_AUTH_URL needs --project (a Zaqar without authentication)")
		}
		return c.withTLS(cloud.NoAuth(c.MessagingURL, c.project))
	}
	return c.Messaging(ctx)
}

func (c *common) orchestration(ctx context.Context) (*gophercloud.ServiceClient, error) {
	return c.Orchestration(ctx)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if args[0] == "--version" || args[0] == "-version" {
		fmt.Fprintln(stdout, version.String("heatsink"))
		return 0
	}
	c := &common{}
	fs := flag.NewFlagSet("heatsink "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	var cmd func() error
	switch args[0] {
	case "validate":
		listeners := fs.String("listeners", "", "also check this listeners.yml")
		cmd = func() error {
			if *listeners != "" {
				cfg, err := listen.ReadConfig(*listeners)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "ok: %s: %d queues, %d rules\n", *listeners, len(cfg.Queues), len(cfg.Rules))
				if fs.NArg() == 0 {
					return nil
				}
			}
			return validate(fs.Args(), stdout, stderr)
		}
	case "prepare":
		opts := prepare.Defaults
		noDLQ := fs.Bool("no-dlq", false, "no dead-letter queues")
		fs.IntVar(&opts.MaxClaimCount, "max-claims", opts.MaxClaimCount, "claims of a message before it moves to the dead-letter queue")
		fs.StringVar(&opts.DeadLetterSuffix, "dlq-suffix", opts.DeadLetterSuffix, "dead-letter queue name suffix")
		fs.IntVar(&opts.DeadLetterTTL, "dlq-ttl", opts.DeadLetterTTL, "seconds a dead letter is kept")
		cmd = func() error {
			if *noDLQ {
				opts.DeadLetterSuffix = ""
			}
			return prepareCmd(ctx, c, fs.Args(), opts, stdout, stderr)
		}
	case "share":
		queue := fs.String("queue", "", "queue to share")
		expires := fs.Duration("expires", 24*time.Hour, "how long the URL is valid")
		methods := fs.String("methods", "GET,POST,DELETE,PATCH", "methods allowed (a listener needs GET,POST,DELETE,PATCH; a poster POST)")
		out := fs.String("o", "", "write to this file (mode 0600) instead of stdout")
		cmd = func() error { return share(ctx, c, *queue, *expires, *methods, *out, stdout) }
	case "listen":
		config := fs.String("config", "listeners.yml", "listeners file")
		metrics := fs.String("metrics-addr", "", "serve /metrics (Prometheus) and /healthz on this address, e.g. 127.0.0.1:9107")
		var wait consume.WaitFlag
		fs.Var(&wait, "wait", "long-poll claims: zaqar-server holds an empty claim up to this long, e.g. 20s; 0s: off (default: claim.wait in the listeners file, 20s)")
		cmd = func() error { return listenCmd(ctx, c, *config, *metrics, wait.Value()) }
	case "emit":
		var e emitFlags
		fs.StringVar(&e.stack, "stack", "", "stack name, id or name/id")
		fs.StringVar(&e.queue, "queue", "", "queue to post to")
		fs.IntVar(&e.ttl, "ttl", 0, "message TTL in seconds (default 3600, Heat's)")
		fs.Func("env", "environment file whose event_sinks name the queues (repeatable)", func(s string) error { e.envs = append(e.envs, s); return nil })
		fs.IntVar(&e.nested, "nested-depth", 0, "include nested stacks' events to this depth")
		fs.StringVar(&e.state, "state", "", "state file to resume from after a restart")
		fs.DurationVar(&e.poll, "poll", 5*time.Second, "polling interval")
		fs.BoolVar(&e.untilDone, "until-done", false, "exit once the stack is no longer IN_PROGRESS and its events are posted")
		fs.BoolVar(&e.all, "all", false, "also post the events Heat does not send to sinks (hook cleared, signals)")
		cmd = func() error { return emitCmd(ctx, c, e) }
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "heatsink: unknown command %q\n%s\n", args[0], usage)
		return 2
	}
	fs.Usage = usageFor(args[0], fs, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	level := slog.LevelInfo
	if c.debug {
		level = slog.LevelDebug
	}
	switch c.logFormat {
	case "text":
		c.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	case "json":
		c.log = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	default:
		fmt.Fprintf(stderr, "heatsink %s: --log-format %q: want text or json\n", args[0], c.logFormat)
		return 2
	}
	if err := cmd(); err != nil {
		var usageErr usageError
		if errors.As(err, &usageErr) {
			fmt.Fprintf(stderr, "heatsink %s: %v\n%s\n", args[0], err, usage)
			return 2
		}
		fmt.Fprintf(stderr, "heatsink %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

type usageError string

func (e usageError) Error() string { return string(e) }

// sinks parses and merges environment files, printing every problem; it
// fails when Heat would refuse them or silently lose events.
func sinks(files []string, stderr io.Writer) ([]env.Sink, error) {
	if len(files) == 0 {
		return nil, usageError("no environment files")
	}
	var envs []*env.Environment
	var all env.Problems
	for _, f := range files {
		e, ps := env.ParseFile(f)
		all = append(all, ps...)
		envs = append(envs, e)
	}
	ss, ps := env.Merge(envs...)
	all = append(all, ps...)
	for _, p := range all {
		fmt.Fprintln(stderr, p.Error())
	}
	if all.Err() != nil {
		n := len(all) - len(all.Warnings())
		return nil, fmt.Errorf("%d problem(s)", n)
	}
	return ss, nil
}

func validate(files []string, stdout, stderr io.Writer) error {
	ss, err := sinks(files, stderr)
	if err != nil {
		return err
	}
	if len(ss) == 0 {
		fmt.Fprintln(stdout, "ok: no event sinks")
		return nil
	}
	for _, s := range ss {
		fmt.Fprintf(stdout, "ok: %s: %s %s ttl %d\n", s.Pos, s.Type, s.Target, s.TTL)
	}
	return nil
}

func prepareCmd(ctx context.Context, c *common, files []string, opts prepare.Options, stdout, stderr io.Writer) error {
	ss, err := sinks(files, stderr)
	if err != nil {
		return err
	}
	if len(ss) == 0 {
		fmt.Fprintln(stdout, "no event sinks: nothing to prepare")
		return nil
	}
	mc, err := c.messaging(ctx)
	if err != nil {
		return err
	}
	rs, err := prepare.Queues(ctx, mc, env.Targets(ss), opts)
	for _, r := range rs {
		if len(r.Set) > 0 {
			fmt.Fprintf(stdout, "%s: %s (%s)\n", r.Queue, r.Action, strings.Join(r.Set, ", "))
		} else {
			fmt.Fprintf(stdout, "%s: %s\n", r.Queue, r.Action)
		}
	}
	return err
}

func share(ctx context.Context, c *common, queue string, expires time.Duration, methods, out string, stdout io.Writer) error {
	if queue == "" {
		return usageError("--queue is required")
	}
	mc, err := c.messaging(ctx)
	if err != nil {
		return err
	}
	var ms []queues.ShareMethod
	for _, m := range strings.Split(methods, ",") {
		ms = append(ms, queues.ShareMethod(strings.ToUpper(strings.TrimSpace(m))))
	}
	var got struct {
		Project   string   `json:"project"`
		Paths     []string `json:"paths"`
		Methods   []string `json:"methods"`
		Expires   string   `json:"expires"`
		Signature string   `json:"signature"`
	}
	err = queues.Share(ctx, mc, queue, queues.ShareOpts{
		Paths:   []queues.SharePath{queues.PathMessages, queues.PathClaims},
		Methods: ms,
		Expires: time.Now().Add(expires).UTC().Format("2006-01-02T15:04:05"),
	}).ExtractInto(&got)
	if err != nil {
		return fmt.Errorf("pre-sign a URL for queue %s: %w", queue, explainShare(err))
	}
	doc, _ := json.MarshalIndent(cloud.SignedURL{Endpoint: strings.TrimSuffix(mc.Endpoint, "/"), Queue: queue,
		Project: got.Project, Paths: got.Paths, Methods: got.Methods, Expires: got.Expires, Signature: got.Signature}, "", "  ")
	doc = append(doc, '\n')
	if out == "" {
		_, err = stdout.Write(doc)
		return err
	}
	return os.WriteFile(out, doc, 0o600)
}

// explainShare turns Zaqar's answer to a share request into what the
// operator can act on: Zaqar's own words for a server without a signing
// key are "The `key` can't be None" (zaqar/common/urls.py).
func explainShare(err error) error {
	var unexpected gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &unexpected) {
		return err
	}
	var doc struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	if json.Unmarshal(unexpected.Body, &doc) != nil || doc.Description == "" {
		return err
	}
	if strings.Contains(doc.Description, "`key` can't be None") {
		return errors.New("the Zaqar server has no signing key ([signed_url] secret_key in its zaqar.conf), so it cannot pre-sign URLs")
	}
	return fmt.Errorf("Zaqar answered %d: %s: %s", unexpected.Actual, doc.Title, doc.Description)
}

// listenCmd runs the listeners of config; wait, when set, replaces its
// claim.wait (--wait).
func listenCmd(ctx context.Context, c *common, config, metricsAddr string, wait *time.Duration) error {
	cfg, err := listen.ReadConfig(config)
	if err != nil {
		return err
	}
	if wait != nil {
		if err := consume.CheckWait(*wait); err != nil {
			return fmt.Errorf("--wait: %w", err)
		}
		cfg.Claim.Wait = *wait
	}
	if metricsAddr != "" {
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		reg := prometheus.NewRegistry()
		cfg.Metrics = consume.NewMetrics(reg, "heatsink")
		go consume.Serve(ctx, ln, reg, cfg.Metrics.Healthy, c.log)
	}
	var (
		mu     sync.Mutex
		shared *gophercloud.ServiceClient
	)
	connect := func(queue, signedURL string) (*gophercloud.ServiceClient, error) {
		if signedURL != "" {
			u, err := cloud.ReadSignedURL(signedURL)
			if err != nil {
				return nil, err
			}
			if u.Queue != queue {
				return nil, fmt.Errorf("%s is signed for queue %s", signedURL, u.Queue)
			}
			return c.withTLS(cloud.Signed(u))
		}
		mu.Lock()
		defer mu.Unlock()
		if shared == nil {
			sc, err := c.messaging(ctx)
			if err != nil {
				return nil, err
			}
			shared = sc
		}
		return shared, nil
	}
	l, err := listen.New(cfg, connect, c.log)
	if err != nil {
		return err
	}
	names := make([]string, len(cfg.Queues))
	for i, q := range cfg.Queues {
		names[i] = q.Name
	}
	c.log.Info("listening", "queues", strings.Join(names, ","), "rules", len(cfg.Rules))
	return l.Run(ctx)
}

type emitFlags struct {
	stack, queue, state string
	ttl, nested         int
	envs                []string
	poll                time.Duration
	untilDone, all      bool
}

func emitCmd(ctx context.Context, c *common, f emitFlags) error {
	if f.stack == "" {
		return usageError("--stack is required")
	}
	type target struct {
		queue string
		ttl   int
	}
	var targets []target
	switch {
	case f.queue != "" && len(f.envs) > 0:
		return usageError("--queue and --env exclude each other")
	case f.queue != "":
		targets = append(targets, target{f.queue, f.ttl})
	case len(f.envs) > 0:
		ss, err := sinks(f.envs, io.Discard)
		if err != nil {
			return fmt.Errorf("%w (run heatsink validate)", err)
		}
		for _, s := range ss {
			targets = append(targets, target{s.Target, s.TTL})
		}
	default:
		return usageError("--queue or --env is required")
	}
	if len(targets) == 0 {
		return errors.New("no event sinks in the environment")
	}
	heat, err := c.orchestration(ctx)
	if err != nil {
		return err
	}
	zaqar, err := c.messaging(ctx)
	if err != nil {
		return err
	}
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		state := f.state
		if state != "" && len(targets) > 1 {
			state += "." + t.queue
		}
		em := &emit.Emitter{Heat: heat, Zaqar: zaqar, Stack: f.stack, Queue: t.queue, TTL: t.ttl,
			NestedDepth: f.nested, StateFile: state, All: f.all, Log: c.log}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = em.Run(ctx, f.poll, f.untilDone)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
