package watch

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/zaqar-go/suite/internal/consume"
	"github.com/zaqar-go/suite/internal/heatevent"
	"github.com/zaqar-go/suite/internal/match"
	"github.com/zaqar-go/suite/internal/yamlfile"
)

// Config is a hooks.yml file.
//
//	queue: hook-events          # where hook events arrive: an event_sinks target
//	                            # of the stacks, or a heatsink queue action
//	workers: 8                  # hooks waited on at once by this process
//	poll:                       # stacks without an event sink: poll Heat
//	  stacks: ["legacy-*"]
//	  interval: 5s
//	rules:                      # the first rule that matches a hook decides
//	  - name: db-approval
//	    match: {stack: "prod-*", resource: "db_*", hook: pre-create}
//	    approval: {queue: "approve-{stack}"}
//	    timeout: 30m
//	    on_timeout: leave       # clear | fail | rollback | leave
//	    on_reject: fail         # fail | rollback | leave
//	    on_rollback: clear      # clear | leave | wait: hooks the rollback hits
//	  - name: lb-drain
//	    match: {hook: pre-delete, resource_type: "OS::Nova::Server"}
//	    webhook: {url: "https://lb.example/drain/{stack}/{resource}", interval: 15s}
//	    timeout: 10m
//	    on_timeout: clear
type Config struct {
	Queue string `yaml:"queue"`
	// Ledger records what was done with each hook event, so that no
	// process acts on it again (default: Queue + "-ledger").
	Ledger string `yaml:"ledger"`
	// LedgerTTL is how long records are kept, in seconds (default 86400:
	// longer than a stack's timeout).
	LedgerTTL int `yaml:"ledger_ttl"`
	// Workers is how many hooks one process waits on at once (default 8).
	Workers int         `yaml:"workers"`
	Claim   ClaimConfig `yaml:"claim"`
	// Recheck is how often a waiting hook is checked to still be pending
	// (someone may clear it by hand, the stack may fail); default 10s.
	Recheck     time.Duration `yaml:"recheck"`
	NestedDepth int           `yaml:"nested_depth"` // for poll; default 5
	Poll        *PollConfig   `yaml:"poll"`
	Rules       []Rule        `yaml:"rules"`
}

// ClaimConfig sets how hook events are claimed from Queue. Each worker
// claims one event at a time and renews its claim while it waits, so a
// process that dies gives its hooks to another within TTL seconds.
type ClaimConfig struct {
	TTL   int `yaml:"ttl"`   // seconds, default 60
	Grace int `yaml:"grace"` // seconds, default 60
	// Wait is how long zaqar-server holds an empty claim (long polling),
	// for hook events and for the approval and condition waiters' queues:
	// a message is acted on as it arrives. Default 20s; 0s turns it off;
	// Zaqar ignores it. Whole seconds, at most 30s.
	Wait time.Duration `yaml:"wait"`
	// Poll is each worker's pause after finding the queue empty and the
	// claim not held (all of them without Wait, or from a Zaqar), default
	// 2s; workers start spread over it, so an idle process looks every
	// Poll/Workers (250ms by default).
	Poll time.Duration `yaml:"poll"`
}

// PollConfig finds hooks by polling Heat's events API, for stacks whose
// events do not reach Queue. Found hook events are posted to Queue in the
// event sink's format (unless Queue or the ledger has them already), so
// that several processes polling the same stacks still act once.
type PollConfig struct {
	// Stacks are globs over top-level stack names (fnmatch, as Heat).
	Stacks   match.Patterns `yaml:"stacks"`
	Interval time.Duration  `yaml:"interval"` // default 5s
	TTL      int            `yaml:"ttl"`      // of the posted events, seconds; default 3600
}

// Policy is what happens to a hook when its waiter times out or rejects.
type Policy string

const (
	// Clear clears the hook: the stack goes on.
	Clear Policy = "clear"
	// Fail cancels the root stack's CREATE or UPDATE without rollback:
	// the stack fails now instead of at its timeout.
	Fail Policy = "fail"
	// Rollback cancels an UPDATE with rollback (a CREATE as Fail).
	Rollback Policy = "rollback"
	// Leave leaves the hook paused, for a person (`hooks clear`) or the
	// stack's timeout.
	Leave Policy = "leave"
	// Wait (on_rollback only) waits for the rule's decision as for any
	// other pause.
	Wait Policy = "wait"
)

// Rule says how to wait for the hooks it matches: exactly one of
// Approval, Webhook, Command, Condition, Deadline.
type Rule struct {
	Name  string `yaml:"name"`
	Match Match  `yaml:"match"`
	// Timeout counts from when Heat paused the resource (default 1h).
	Timeout   time.Duration `yaml:"timeout"`
	OnTimeout Policy        `yaml:"on_timeout"` // default leave
	// OnReject applies to a rejection: an approval message with
	// "approve": false, or a failed webhook or command with once: true.
	OnReject Policy `yaml:"on_reject"` // default fail
	// OnRollback applies to a hook paused while the root stack rolls
	// back (ROLLBACK_IN_PROGRESS: Heat updates resources back and stops at
	// their pre-update hooks again): clear (default) sees the rollback
	// through, leave leaves it to a person, wait waits as usual.
	OnRollback Policy `yaml:"on_rollback"`

	Approval  *ApprovalConfig  `yaml:"approval"`
	Webhook   *WebhookConfig   `yaml:"webhook"`
	Command   *CommandConfig   `yaml:"command"`
	Condition *ConditionConfig `yaml:"condition"`
	Deadline  *DeadlineConfig  `yaml:"deadline"`
}

// Match selects hooks; each field is a glob or a list of globs (fnmatch),
// absent fields match everything.
type Match struct {
	Stack        match.Patterns `yaml:"stack"`    // the root stack's name
	Resource     match.Patterns `yaml:"resource"` // the resource's name
	Path         match.Patterns `yaml:"path"`     // nested path from the root: child/inner_a
	Hook         match.Patterns `yaml:"hook"`     // pre-create, ..., post-update
	Action       match.Patterns `yaml:"action"`   // CREATE, UPDATE, DELETE
	ResourceType match.Patterns `yaml:"resource_type"`
}

// ApprovalConfig waits for {"approve": true} or {"approve": false,
// "reason": "..."} on a queue (wait.Approval).
type ApprovalConfig struct {
	Queue    string        `yaml:"queue"` // template, e.g. approve-{stack}
	Interval time.Duration `yaml:"interval"`
}

// WebhookConfig calls a URL until it answers 2xx (wait.Webhook).
type WebhookConfig struct {
	URL      string            `yaml:"url"`
	Method   string            `yaml:"method"`
	Headers  map[string]string `yaml:"headers"`
	Interval time.Duration     `yaml:"interval"`
	Once     bool              `yaml:"once"`
}

// CommandConfig runs a program until it exits 0 (wait.Command).
type CommandConfig struct {
	Run      []string          `yaml:"run"`
	Env      map[string]string `yaml:"env"`
	Interval time.Duration     `yaml:"interval"`
	Once     bool              `yaml:"once"`
}

// ConditionConfig waits for a condition on another queue
// (wait.QueueCondition): empty, or a message containing Message.
type ConditionConfig struct {
	Queue    string         `yaml:"queue"`
	Empty    bool           `yaml:"empty"`
	Message  map[string]any `yaml:"message"`
	Consume  bool           `yaml:"consume"`
	Interval time.Duration  `yaml:"interval"`
}

// DeadlineConfig waits until a time (wait.Deadline): at, or after the
// pause.
type DeadlineConfig struct {
	At    time.Time     `yaml:"at"`
	After time.Duration `yaml:"after"`
}

// ReadConfig reads and checks a hooks.yml file.
func ReadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ParseConfig(file, data)
}

// ParseConfig parses and checks a hooks.yml document; unknown keys are
// errors, reported with file and line.
func ParseConfig(file string, data []byte) (*Config, error) {
	var c Config
	if err := yamlfile.Decode(file, data, &c); err != nil {
		return nil, err
	}
	doc := yamlfile.Parse(file, data)
	if doc.Find("claim", "wait") == nil {
		c.Claim.Wait = consume.DefaultWait // absent; 0s turns waiting off
	}
	c.defaults()
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := c.checkValues(doc); err != nil {
		return nil, err
	}
	return &c, nil
}

// hookActions are the actions a hook pauses (the reason's "<ACTION> paused
// until Hook ..."): pre-create at INIT, pre-update and pre-delete at the
// resource's previous action.
var hookActions = []string{"INIT", "CREATE", "UPDATE", "DELETE", "ROLLBACK"}

// checkValues checks what Heat's names allow, each problem at its
// file:line:column: match hook against Heat's hook types, match action
// against Heat's actions, webhook URLs for http(s), and a deadline that
// the rule's timeout would always beat.
func (c *Config) checkValues(doc yamlfile.Doc) error {
	var errs []error
	for i, r := range c.Rules {
		for _, f := range []struct {
			key   string
			ps    match.Patterns
			names []string
		}{{"hook", r.Match.Hook, heatevent.Hooks}, {"action", r.Match.Action, hookActions}} {
			if j, err := match.CheckNames(f.ps, f.names); err != nil {
				errs = append(errs, doc.Errorf([]any{"rules", i, "match", f.key, j}, "rule %s: match %s %v", r.Name, f.key, err))
			}
		}
		if r.Webhook != nil {
			if err := yamlfile.CheckHTTPURL(r.Webhook.URL); err != nil {
				errs = append(errs, doc.Errorf([]any{"rules", i, "webhook", "url"}, "rule %s: webhook %v", r.Name, err))
			}
		}
		if r.Deadline != nil && r.Deadline.After >= r.Timeout {
			errs = append(errs, doc.Errorf([]any{"rules", i, "deadline", "after"},
				"rule %s: deadline after %s is not before the timeout (%s): on_timeout would always decide", r.Name, r.Deadline.After, r.Timeout))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) defaults() {
	if c.Ledger == "" && c.Queue != "" {
		c.Ledger = c.Queue + "-ledger"
	}
	setInt(&c.LedgerTTL, 86400)
	setInt(&c.Workers, 8)
	setInt(&c.Claim.TTL, 60)
	setInt(&c.Claim.Grace, 60)
	setDur(&c.Claim.Poll, 2*time.Second)
	setDur(&c.Recheck, 10*time.Second)
	setInt(&c.NestedDepth, 5)
	if c.Poll != nil {
		setDur(&c.Poll.Interval, 5*time.Second)
		setInt(&c.Poll.TTL, 3600)
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.Name == "" {
			r.Name = fmt.Sprintf("rule %d", i+1)
		}
		setDur(&r.Timeout, time.Hour)
		if r.OnTimeout == "" {
			r.OnTimeout = Leave
		}
		if r.OnReject == "" {
			r.OnReject = Fail
		}
		if r.OnRollback == "" {
			r.OnRollback = Clear
		}
	}
}

func setInt(v *int, d int) {
	if *v == 0 {
		*v = d
	}
}

func setDur(v *time.Duration, d time.Duration) {
	if *v == 0 {
		*v = d
	}
}

var (
	queueName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	// A queue name template: placeholders and queue name characters.
	queueTemplate = regexp.MustCompile(`^([a-zA-Z0-9_-]|\{(stack|stack_id|nested_stack|nested_stack_id|resource|path|hook|action|event_id)\})+$`)
)

func (c *Config) check() error {
	if !queueName.MatchString(c.Queue) {
		return fmt.Errorf("queue %q is not a valid Zaqar queue name", c.Queue)
	}
	if !queueName.MatchString(c.Ledger) || c.Ledger == c.Queue {
		return fmt.Errorf("ledger %q must be a valid Zaqar queue name other than queue", c.Ledger)
	}
	// Zaqar's limits: message ttl 60..1209600, claim ttl and grace 60..43200.
	if c.LedgerTTL < 60 || c.LedgerTTL > 1209600 {
		return fmt.Errorf("ledger_ttl must be 60..1209600 seconds")
	}
	if c.Claim.TTL < 60 || c.Claim.TTL > 43200 || c.Claim.Grace < 60 || c.Claim.Grace > 43200 {
		return fmt.Errorf("claim ttl and grace must be 60..43200 seconds")
	}
	if c.Workers < 1 || c.Claim.Poll < 0 || c.Recheck < 0 || c.NestedDepth < 0 {
		return fmt.Errorf("workers must be at least 1; claim poll, recheck and nested_depth not negative")
	}
	if err := consume.CheckWait(c.Claim.Wait); err != nil {
		return err
	}
	if p := c.Poll; p != nil {
		if len(p.Stacks) == 0 {
			return errors.New("poll: no stacks")
		}
		if err := globs(p.Stacks); err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		if p.TTL < 60 || p.TTL > 1209600 || p.Interval < 0 {
			return errors.New("poll: ttl must be 60..1209600 seconds, interval not negative")
		}
	}
	if len(c.Rules) == 0 {
		return errors.New("no rules: no hook would ever be cleared")
	}
	for _, r := range c.Rules {
		if err := r.check(); err != nil {
			return fmt.Errorf("rule %s: %w", r.Name, err)
		}
	}
	return nil
}

func (r Rule) check() error {
	n := 0
	for _, set := range []bool{r.Approval != nil, r.Webhook != nil, r.Command != nil, r.Condition != nil, r.Deadline != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("needs exactly one of approval, webhook, command, condition, deadline")
	}
	if r.Timeout < 0 {
		return errors.New("negative timeout")
	}
	switch r.OnTimeout {
	case Clear, Fail, Rollback, Leave:
	default:
		return fmt.Errorf("on_timeout %q: want clear, fail, rollback or leave", r.OnTimeout)
	}
	switch r.OnReject {
	case Fail, Rollback, Leave:
	default:
		return fmt.Errorf("on_reject %q: want fail, rollback or leave", r.OnReject)
	}
	switch r.OnRollback {
	case Clear, Leave, Wait:
	default:
		return fmt.Errorf("on_rollback %q: want clear, leave or wait", r.OnRollback)
	}
	for _, ps := range []match.Patterns{r.Match.Stack, r.Match.Resource, r.Match.Path, r.Match.Hook, r.Match.Action, r.Match.ResourceType} {
		if err := globs(ps); err != nil {
			return err
		}
	}
	switch {
	case r.Approval != nil:
		if !queueTemplate.MatchString(r.Approval.Queue) {
			return fmt.Errorf("approval queue %q: want a queue name, placeholders allowed ({stack}, {resource}, ...)", r.Approval.Queue)
		}
	case r.Webhook != nil:
		if r.Webhook.URL == "" {
			return errors.New("webhook without url")
		}
	case r.Command != nil:
		if len(r.Command.Run) == 0 || r.Command.Run[0] == "" {
			return errors.New("command without run")
		}
	case r.Condition != nil:
		if !queueTemplate.MatchString(r.Condition.Queue) {
			return fmt.Errorf("condition queue %q: want a queue name, placeholders allowed", r.Condition.Queue)
		}
		if r.Condition.Empty && r.Condition.Message != nil {
			return errors.New("condition: empty and message exclude each other")
		}
	case r.Deadline != nil:
		if r.Deadline.At.IsZero() == (r.Deadline.After == 0) {
			return errors.New("deadline needs exactly one of at, after")
		}
	}
	return nil
}

func globs(ps match.Patterns) error {
	for _, p := range ps {
		if _, err := match.Glob(p); err != nil {
			return err
		}
	}
	return nil
}
