package listen

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

// Config is a listeners.yml file.
//
//	claim: {ttl: 60, grace: 60, limit: 10, wait: 20s, poll: 2s, release_failed: false}
//	retry: {attempts: 4, initial: 1s, max: 30s}  # a failed action, within one claim
//	shutdown_grace: 5s                 # actions under way may finish after SIGTERM
//	queues:
//	  - name: heat-events              # OS_* credentials
//	  - name: other-events
//	    signed_url: other-events.json  # written by `heatsink share`
//	    workers: 2
//	rules:
//	  - name: register-web
//	    match: {resource_type: "OS::Nova::Server", resource_name: "web_*", action: CREATE, status: COMPLETE}
//	    webhook: {url: "http://lb.example/register", headers: {X-Auth: secret}, timeout: 10s}
//	  - name: inventory
//	    match: {status: [COMPLETE, FAILED]}
//	    command: ["/usr/local/bin/inventory", "add"]
//	  - name: hooks
//	    match: {reason: "*paused until Hook*"}
//	    queue: {name: hook-events, ttl: 600}
type Config struct {
	// ShutdownGrace is how long actions under way may finish after a stop
	// (SIGTERM, SIGINT) before they are cancelled and their events handed
	// back; default 5s in a listeners.yml, none when 0 in Go.
	ShutdownGrace time.Duration       `yaml:"shutdown_grace"`
	Claim         consume.ClaimConfig `yaml:"claim"`
	Retry         consume.RetryConfig `yaml:"retry"`
	Queues        []QueueConfig       `yaml:"queues"`
	Rules         []Rule              `yaml:"rules"`
	// Metrics, when set, counts what the listener does.
	Metrics *consume.Metrics `yaml:"-"`
}

// QueueConfig is one queue to listen on.
type QueueConfig struct {
	Name string `yaml:"name"`
	// SignedURL is a file written by `heatsink share`: the listener then
	// needs no credentials for this queue.
	SignedURL string `yaml:"signed_url"`
	// Workers is the number of claim loops on this queue, default 1. Events
	// of one resource stay in order only with one worker in one process.
	Workers int `yaml:"workers"`
}

// Rule runs one action for every event that matches.
type Rule struct {
	Name    string         `yaml:"name"`
	Match   Match          `yaml:"match"`
	Webhook *WebhookAction `yaml:"webhook"`
	Command []string       `yaml:"command"`
	Queue   *QueueAction   `yaml:"queue"`
	// Timeout bounds the action, default 30s; it must be shorter than the
	// claim TTL so that no other listener gets the message meanwhile.
	Timeout time.Duration `yaml:"timeout"`
	// Env adds variables to a command's environment.
	Env map[string]string `yaml:"env"`
}

// Match selects events; each field is one glob (as Python's fnmatch, the
// way Heat matches resource names: * ? [abc] [!abc], case-sensitive) or a
// list of globs, any of which may match; absent fields match everything.
type Match struct {
	ResourceType match.Patterns `yaml:"resource_type"`
	ResourceName match.Patterns `yaml:"resource_name"`
	Action       match.Patterns `yaml:"action"` // CREATE, UPDATE, DELETE, ... (resource_action)
	Status       match.Patterns `yaml:"status"` // IN_PROGRESS, COMPLETE, FAILED (resource_status)
	Reason       match.Patterns `yaml:"reason"` // resource_status_reason
	StackID      match.Patterns `yaml:"stack_id"`
}

// WebhookAction POSTs the event message body (Heat's JSON) to URL.
type WebhookAction struct {
	URL     string            `yaml:"url"`
	Method  string            `yaml:"method"` // default POST
	Headers map[string]string `yaml:"headers"`
}

// QueueAction posts the event message body to another Zaqar queue.
type QueueAction struct {
	Name      string `yaml:"name"`
	TTL       int    `yaml:"ttl"`        // default: the TTL the event arrived with
	SignedURL string `yaml:"signed_url"` // a `heatsink share` file allowing POST messages
}

// ErrNoRules: a listener without rules would delete every event unseen.
var ErrNoRules = errors.New("no rules: every event would be deleted without an action")

var queueName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// ReadConfig reads and checks a listeners.yml file.
func ReadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ParseConfig(file, data)
}

// ParseConfig parses and checks a listeners.yml document; unknown keys are
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

// checkValues checks what Heat's names and URLs allow, each problem at
// its file:line:column: match action and status against Heat's event
// actions and statuses, webhook URLs for http(s).
func (c *Config) checkValues(doc yamlfile.Doc) error {
	var errs []error
	for i, r := range c.Rules {
		for _, f := range []struct {
			key   string
			ps    match.Patterns
			names []string
		}{{"action", r.Match.Action, heatevent.Actions}, {"status", r.Match.Status, heatevent.Statuses}} {
			if j, err := match.CheckNames(f.ps, f.names); err != nil {
				errs = append(errs, doc.Errorf([]any{"rules", i, "match", f.key, j}, "rule %s: match %s %v", r.Name, f.key, err))
			}
		}
		if r.Webhook != nil {
			if err := yamlfile.CheckHTTPURL(r.Webhook.URL); err != nil {
				errs = append(errs, doc.Errorf([]any{"rules", i, "webhook", "url"}, "rule %s: webhook %v", r.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Config) defaults() {
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = 5 * time.Second
	}
	if c.Retry.Attempts == 0 {
		c.Retry.Attempts = 4
	}
	if c.Retry.Initial == 0 {
		c.Retry.Initial = time.Second
	}
	if c.Retry.Max == 0 {
		c.Retry.Max = 30 * time.Second
	}
	if c.Claim.TTL == 0 {
		c.Claim.TTL = 60
	}
	if c.Claim.Grace == 0 {
		c.Claim.Grace = 60
	}
	if c.Claim.Limit == 0 {
		c.Claim.Limit = 10
	}
	if c.Claim.Poll == 0 {
		c.Claim.Poll = 2 * time.Second
	}
	for i := range c.Queues {
		if c.Queues[i].Workers == 0 {
			c.Queues[i].Workers = 1
		}
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.Name == "" {
			r.Name = fmt.Sprintf("rule %d", i+1)
		}
		if r.Timeout == 0 {
			r.Timeout = 30 * time.Second
		}
		if r.Webhook != nil && r.Webhook.Method == "" {
			r.Webhook.Method = "POST"
		}
	}
}

func (c *Config) check() error {
	// Zaqar's limits: claim ttl and grace 60..43200, limit 1..20.
	if c.Claim.TTL < 60 || c.Claim.TTL > 43200 || c.Claim.Grace < 60 || c.Claim.Grace > 43200 {
		return fmt.Errorf("claim ttl and grace must be 60..43200 seconds")
	}
	if c.ShutdownGrace < 0 {
		return errors.New("shutdown_grace must not be negative")
	}
	if c.Retry.Attempts < 1 || c.Retry.Initial < 0 || c.Retry.Max < c.Retry.Initial {
		return errors.New("retry: attempts must be at least 1, initial not negative, max not below initial")
	}
	if c.Claim.Limit < 1 || c.Claim.Limit > 20 {
		return fmt.Errorf("claim limit must be 1..20")
	}
	if err := consume.CheckWait(c.Claim.Wait); err != nil {
		return err
	}
	if c.Claim.Poll < 0 {
		return errors.New("claim poll must not be negative")
	}
	if len(c.Queues) == 0 {
		return errors.New("no queues to listen on")
	}
	if len(c.Rules) == 0 {
		return ErrNoRules
	}
	seen := map[string]bool{}
	for _, q := range c.Queues {
		if !queueName.MatchString(q.Name) {
			return fmt.Errorf("queue name %q is not a valid Zaqar queue name", q.Name)
		}
		if seen[q.Name] {
			return fmt.Errorf("queue %q listed twice", q.Name)
		}
		seen[q.Name] = true
		if q.Workers < 1 {
			return fmt.Errorf("queue %s: workers must be at least 1", q.Name)
		}
	}
	claim := time.Duration(c.Claim.TTL) * time.Second
	for _, r := range c.Rules {
		n := 0
		if r.Webhook != nil {
			n++
			if r.Webhook.URL == "" {
				return fmt.Errorf("rule %s: webhook without url", r.Name)
			}
		}
		if r.Command != nil {
			n++
			if len(r.Command) == 0 || r.Command[0] == "" {
				return fmt.Errorf("rule %s: empty command", r.Name)
			}
		}
		if r.Queue != nil {
			n++
			if !queueName.MatchString(r.Queue.Name) {
				return fmt.Errorf("rule %s: queue name %q is not a valid Zaqar queue name", r.Name, r.Queue.Name)
			}
			if r.Queue.TTL != 0 && (r.Queue.TTL < 60 || r.Queue.TTL > 1209600) {
				return fmt.Errorf("rule %s: queue ttl must be 60..1209600 seconds", r.Name)
			}
		}
		if n != 1 {
			return fmt.Errorf("rule %s: needs exactly one of webhook, command, queue", r.Name)
		}
		if r.Timeout >= claim {
			return fmt.Errorf("rule %s: timeout %s must be shorter than the claim ttl (%s)", r.Name, r.Timeout, claim)
		}
		for _, ps := range []match.Patterns{r.Match.ResourceType, r.Match.ResourceName, r.Match.Action, r.Match.Status, r.Match.Reason, r.Match.StackID} {
			for _, p := range ps {
				if _, err := match.Glob(p); err != nil {
					return fmt.Errorf("rule %s: pattern %q: %w", r.Name, p, err)
				}
			}
		}
	}
	return nil
}
