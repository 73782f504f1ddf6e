// Command hooks waits on Heat resource hooks and clears them:
//
//	hooks run --config hooks.yml         claim hook events, run the rules' waiters, clear/fail/leave
//	hooks validate --config hooks.yml    check a hooks.yml
//	hooks poll STACK [--nested-depth N]  list pending hooks, post-* too (alias: list)
//	hooks clear STACK PATH [HOOK]        clear hooks as `openstack stack hook clear` does
//	hooks approve QUEUE [--reject]       post an approval (or a rejection) message
//
// Credentials come from the OS_* environment (an openrc file) or OS_CLOUD;
// the messaging and orchestration endpoints from the Keystone catalog.
// --zaqar-url overrides the messaging endpoint.
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
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zaqar-go/suite/hooks"
	"github.com/zaqar-go/suite/hooks/wait"
	"github.com/zaqar-go/suite/hooks/watch"
	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/consume"
	"github.com/zaqar-go/suite/internal/version"
)

const usage = `usage:
  hooks run --config hooks.yml
  hooks validate --config hooks.yml
  hooks poll STACK [--nested-depth N] [--json]       (alias: list)
  hooks clear [--pre-create|--pre-update|--pre-delete] STACK PATH [HOOK]
  hooks approve QUEUE [--reject] [--reason TEXT] [--stack S] [--resource R] [--hook H] [--event-id E] [--ttl SECONDS]
common flags: --zaqar-url URL, --os-cacert FILE, --insecure, --debug, --log-format text|json; run: --metrics-addr ADDR
hooks SUBCOMMAND -h says what it does, with an example`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// common are the connection flags every subcommand takes.
type common struct {
	cloud.Session // --zaqar-url is its MessagingURL
	debug         bool
	logFormat     string
	log           *slog.Logger
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.MessagingURL, "zaqar-url", "", "Zaqar endpoint instead of the catalog's messaging endpoint")
	fs.BoolVar(&c.debug, "debug", false, "log every event handled")
	fs.StringVar(&c.logFormat, "log-format", "text", "log as text or json (one JSON object per line)")
	fs.StringVar(&c.TLS.CACert, "os-cacert", "", "CA bundle (PEM) to verify Keystone and the endpoints (default OS_CACERT, clouds.yaml cacert)")
	fs.BoolVar(&c.TLS.Insecure, "insecure", false, "do not verify the servers' certificates (as the openstack CLI's --insecure)")
}

func (c *common) messaging(ctx context.Context) (*gophercloud.ServiceClient, error) {
	return c.Messaging(ctx)
}

func (c *common) heat(ctx context.Context, nestedDepth int) (*hooks.Heat, error) {
	sc, err := c.Orchestration(ctx)
	if err != nil {
		return nil, err
	}
	return &hooks.Heat{Client: sc, NestedDepth: nestedDepth}, nil
}

type usageError string

func (e usageError) Error() string { return string(e) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	if args[0] == "--version" || args[0] == "-version" {
		fmt.Fprintln(stdout, version.String("hooks"))
		return 0
	}
	c := &common{}
	name := args[0]
	fs := flag.NewFlagSet("hooks "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.register(fs)
	var cmd func() error
	switch name {
	case "run":
		config := fs.String("config", "hooks.yml", "hooks file")
		metrics := fs.String("metrics-addr", "", "serve /metrics (Prometheus) and /healthz on this address, e.g. 127.0.0.1:9108")
		var wait consume.WaitFlag
		fs.Var(&wait, "wait", "long-poll the queues: zaqar-server holds an empty claim up to this long, e.g. 20s; 0s: off (default: claim.wait in the hooks file, 20s)")
		cmd = func() error { return runCmd(ctx, c, *config, *metrics, wait.Value()) }
	case "validate":
		config := fs.String("config", "hooks.yml", "hooks file")
		cmd = func() error {
			cfg, err := watch.ReadConfig(*config)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: queue %s, %d rules, %d workers\n", *config, cfg.Queue, len(cfg.Rules), cfg.Workers)
			return nil
		}
	case "poll", "list":
		depth := fs.Int("nested-depth", hooks.DefaultNestedDepth, "look into nested stacks to this depth (0: not at all)")
		asJSON := fs.Bool("json", false, "print JSON, one hook per line")
		cmd = func() error {
			if fs.NArg() != 1 {
				return usageError("poll takes one STACK")
			}
			if *depth == 0 {
				*depth = -1
			}
			heat, err := c.heat(ctx, *depth)
			if err != nil {
				return err
			}
			return poll(ctx, heat, fs.Arg(0), *asJSON, stdout, stderr)
		}
	case "clear":
		var hook string
		for _, h := range []string{hooks.PreCreate, hooks.PreUpdate, hooks.PreDelete} {
			fs.BoolFunc(h, "clear the "+h+" hook", func(string) error { hook = h; return nil })
		}
		cmd = func() error {
			if fs.NArg() < 2 || fs.NArg() > 3 {
				return usageError("clear takes STACK PATH [HOOK]")
			}
			if fs.NArg() == 3 {
				hook = fs.Arg(2)
			}
			heat, err := c.heat(ctx, 0)
			if err != nil {
				return err
			}
			return clearCmd(ctx, heat, fs.Arg(0), fs.Arg(1), hook, stdout)
		}
	case "approve":
		var m wait.ApprovalMessage
		reject := fs.Bool("reject", false, "post a rejection")
		fs.StringVar(&m.Reason, "reason", "", "why (shown in the ledger and the logs)")
		fs.StringVar(&m.Stack, "stack", "", "approve the hooks pending in this stack (name or id), each message naming its pause (looked up in Heat)")
		fs.StringVar(&m.Resource, "resource", "", "only for this resource (name or path)")
		fs.StringVar(&m.Hook, "hook", "", "only for this hook type")
		fs.StringVar(&m.EventID, "event-id", "", "only for this hook event")
		ttl := fs.Int("ttl", 3600, "message TTL in seconds")
		cmd = func() error {
			if fs.NArg() != 1 {
				return usageError("approve takes one QUEUE")
			}
			ok := !*reject
			m.Approve = &ok
			zaqar, err := c.messaging(ctx)
			if err != nil {
				return err
			}
			var heat *hooks.Heat
			if m.EventID == "" && m.Stack != "" {
				if heat, err = c.heat(ctx, 0); err != nil {
					return err
				}
			}
			return approve(ctx, heat, zaqar, fs.Arg(0), m, *ttl, stdout, stderr)
		}
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "hooks: unknown command %q\n%s\n", name, usage)
		return 2
	}
	fs.Usage = usageFor(name, fs, stderr)
	if err := parse(fs, args[1:]); err != nil {
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
		fmt.Fprintf(stderr, "hooks %s: --log-format %q: want text or json\n", name, c.logFormat)
		return 2
	}
	if err := cmd(); err != nil {
		var usageErr usageError
		if errors.As(err, &usageErr) {
			fmt.Fprintf(stderr, "hooks %s: %v\n%s\n", name, err, usage)
			return 2
		}
		fmt.Fprintf(stderr, "hooks %s: %v\n", name, err)
		return 1
	}
	return 0
}

// parse parses flags before, between and after the arguments (flag stops
// at the first argument), like the openstack CLI: hooks poll app --json.
func parse(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return fs.Parse(append([]string{"--"}, positional...))
}

// runCmd runs the hooks file config; wait, when set, replaces its
// claim.wait (--wait).
func runCmd(ctx context.Context, c *common, config, metricsAddr string, wait *time.Duration) error {
	cfg, err := watch.ReadConfig(config)
	if err != nil {
		return err
	}
	if wait != nil {
		if err := consume.CheckWait(*wait); err != nil {
			return fmt.Errorf("--wait: %w", err)
		}
		cfg.Claim.Wait = *wait
	}
	var m *watch.Metrics
	if metricsAddr != "" {
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		reg := prometheus.NewRegistry()
		m = watch.NewMetrics(reg)
		go consume.Serve(ctx, ln, reg, m.Listen.Healthy, c.log)
	}
	heat, err := c.heat(ctx, cfg.NestedDepth)
	if err != nil {
		return err
	}
	zaqar, err := c.messaging(ctx)
	if err != nil {
		return err
	}
	w, err := watch.New(cfg, heat, zaqar, c.log, m)
	if err != nil {
		return err
	}
	polling := "no"
	if cfg.Poll != nil {
		polling = strings.Join(cfg.Poll.Stacks, ",")
	}
	c.log.Info("watching for hooks", "queue", cfg.Queue, "ledger", cfg.Ledger, "rules", len(cfg.Rules), "workers", cfg.Workers, "polling", polling)
	return w.Run(ctx)
}

// poll prints the pending hooks like `openstack stack hook poll
// --nested-depth N`, with the hook type and path, post-* hooks included.
func poll(ctx context.Context, heat *hooks.Heat, stack string, asJSON bool, stdout, stderr io.Writer) error {
	st, hs, err := heat.Poll(ctx, stack)
	if err != nil {
		return err
	}
	if !st.InProgress() {
		fmt.Fprintf(stderr, "stack %s is %s: no hook can be pending\n", st.Name, st.Status)
		return nil
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		for _, h := range hs {
			if err := enc.Encode(h); err != nil {
				return err
			}
		}
		return nil
	}
	if len(hs) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "Resource Name\tPath\tHook\tID\tResource Status\tEvent Time\tStack Name")
	for _, h := range hs {
		note := ""
		if !h.Clearable() {
			note = " (cannot be cleared)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s\t%s\t%s\t%s\n", h.Resource, h.Path, h.Type, note, h.EventID, h.Status,
			h.EventTime.UTC().Format(time.RFC3339), h.Stack.Name)
	}
	return tw.Flush()
}

// clearCmd clears hook (or the pre-* hook of the stack's action) on every
// resource PATH names, as `openstack stack hook clear` does. A hook that
// is not pending is reported, not an error: clearing is idempotent.
func clearCmd(ctx context.Context, heat *hooks.Heat, stack, path, hook string, stdout io.Writer) error {
	if hook == "" {
		st, err := heat.GetStack(ctx, stack)
		if err != nil {
			return err
		}
		h, ok := hooks.HookFor(st.Status)
		if !ok {
			return fmt.Errorf("stack %s is %s: name the hook to clear", st.Name, st.Status)
		}
		hook = h
	}
	if !hooks.Valid(hook) {
		return usageError(fmt.Sprintf("%q is not a hook type", hook))
	}
	targets, err := heat.Find(ctx, stack, path)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return fmt.Errorf("no resource of %s matches %s", stack, path)
	}
	var failed []string
	for _, t := range targets {
		c, err := heat.ClearResource(ctx, t.Stack, t.Resource, hook)
		switch {
		case err != nil:
			fmt.Fprintf(stdout, "%s: %v\n", t.Path, err)
			failed = append(failed, t.Path)
		case c == hooks.NotPending:
			fmt.Fprintf(stdout, "%s: %s not pending (already cleared, or never set)\n", t.Path, hook)
		default:
			fmt.Fprintf(stdout, "%s: %s cleared\n", t.Path, hook)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not clear %s on %s", hook, strings.Join(failed, ", "))
	}
	return nil
}

// approve posts an approval (or a rejection). An approval must name the
// pause it approves (wait.Approval): with --stack and no --event-id, the
// pending hooks of the stack that --resource and --hook select are looked
// up in Heat, and one message naming each pause (event_id, paused_at) is
// posted.
func approve(ctx context.Context, heat *hooks.Heat, zaqar *gophercloud.ServiceClient, queue string, m wait.ApprovalMessage, ttl int, stdout, stderr io.Writer) error {
	msgs := []wait.ApprovalMessage{m}
	if heat != nil {
		st, pending, err := heat.Poll(ctx, m.Stack)
		if err != nil {
			return fmt.Errorf("look up the pause to approve: %w", err)
		}
		msgs = nil
		for _, h := range pending {
			if (m.Resource == "" || m.Resource == h.Resource || m.Resource == h.Path) && (m.Hook == "" || m.Hook == h.Type) {
				n := m
				n.Stack, n.Resource, n.Hook, n.EventID = h.Root.Name, h.Path, h.Type, h.EventID
				n.PausedAt = h.EventTime.UTC().Format(time.RFC3339)
				msgs = append(msgs, n)
			}
		}
		if len(msgs) == 0 {
			return fmt.Errorf("no pending hook of stack %s (%s) matches: an approval names a pause, post it once the hook is pending", st.Name, st.Status)
		}
	} else if m.EventID == "" {
		fmt.Fprintln(stderr, "note: this message names no pause (--stack or --event-id): it counts only for hooks that paused at least a second before it")
	}
	for _, msg := range msgs {
		raw, _ := json.Marshal(msg)
		var body map[string]any
		json.Unmarshal(raw, &body)
		if err := messages.Create(ctx, zaqar, queue, messages.BatchCreateOpts{{TTL: ttl, Body: body}}).Err; err != nil {
			return fmt.Errorf("post to %s: %w", queue, err)
		}
		fmt.Fprintf(stdout, "posted %s to %s\n", raw, queue)
	}
	return nil
}
