package watch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/hooks/watch"
)

const full = `queue: hook-events
workers: 4
claim: {ttl: 120, grace: 90, poll: 1s}
recheck: 5s
nested_depth: 3
poll:
  stacks: ["legacy-*", app]
  interval: 10s
rules:
  - name: db-approval
    match: {stack: "prod-*", resource: "db_*", hook: [pre-create, pre-update]}
    approval: {queue: "approve-{stack}-{resource}", interval: 2s}
    timeout: 30m
    on_timeout: fail
    on_reject: leave
  - name: lb
    match: {hook: pre-delete, resource_type: "OS::Nova::Server"}
    webhook: {url: "https://lb.example/drain/{stack}/{resource}", method: PUT, headers: {X-Auth: s}, interval: 15s, once: true}
    on_timeout: clear
  - name: smoke
    match: {path: "child/*", action: UPDATE}
    command: {run: [/usr/local/bin/smoke, "{stack}"], env: {MODE: full}, once: true}
    on_reject: rollback
  - name: drained
    condition: {queue: "drain-{resource}", empty: true}
  - name: ready
    condition: {queue: ready, message: {ready: true}, consume: true}
  - name: window
    deadline: {at: 2026-11-25T22:00:00Z}
  - deadline: {after: 10m}
`

func TestParseConfig(t *testing.T) {
	c, err := watch.ParseConfig("hooks.yml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if c.Ledger != "hook-events-ledger" || c.LedgerTTL != 86400 || c.Workers != 4 || c.Claim.TTL != 120 || c.Claim.Grace != 90 ||
		c.Claim.Poll != time.Second || c.Recheck != 5*time.Second || c.NestedDepth != 3 ||
		c.Poll.Interval != 10*time.Second || c.Poll.TTL != 3600 || len(c.Poll.Stacks) != 2 || len(c.Rules) != 7 {
		t.Errorf("config %+v", c)
	}
	r := c.Rules[0]
	if r.Timeout != 30*time.Minute || r.OnTimeout != watch.Fail || r.OnReject != watch.Leave || len(r.Match.Hook) != 2 ||
		r.Approval.Queue != "approve-{stack}-{resource}" || r.Approval.Interval != 2*time.Second {
		t.Errorf("rule 0 %+v", r)
	}
	if r := c.Rules[1]; r.Timeout != time.Hour || r.OnTimeout != watch.Clear || r.OnReject != watch.Fail || !r.Webhook.Once || r.Webhook.Method != "PUT" {
		t.Errorf("rule 1 %+v", r)
	}
	if r := c.Rules[6]; r.Name != "rule 7" || r.Deadline.After != 10*time.Minute || r.OnTimeout != watch.Leave {
		t.Errorf("rule 6 %+v", r)
	}
	if r := c.Rules[5]; !r.Deadline.At.Equal(time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)) {
		t.Errorf("rule 5 %+v", r)
	}
	if c.Rules[4].Condition.Message["ready"] != true {
		t.Errorf("rule 4 %+v", c.Rules[4].Condition)
	}
}

func TestParseConfigErrors(t *testing.T) {
	const rule = "rules: [{approval: {queue: a}}]\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"no queue", rule, `queue "" is not a valid Zaqar queue name`},
		{"bad queue", "queue: a.b\n" + rule, "not a valid Zaqar queue name"},
		{"ledger is the queue", "queue: q\nledger: q\n" + rule, "other than queue"},
		{"unknown key", "queue: q\nqueue_name: x\n" + rule, "line 2: field queue_name not found"},
		{"no rules", "queue: q\n", "no rules"},
		{"two waiters", "queue: q\nrules: [{approval: {queue: a}, deadline: {after: 1m}}]\n", "exactly one of"},
		{"no waiter", "queue: q\nrules: [{name: x}]\n", "rule x: needs exactly one of"},
		{"policy", "queue: q\nrules: [{approval: {queue: a}, on_timeout: ignore}]\n", `on_timeout "ignore"`},
		{"reject clear", "queue: q\nrules: [{approval: {queue: a}, on_reject: clear}]\n", `on_reject "clear"`},
		{"bad template", "queue: q\nrules: [{approval: {queue: \"a/{stack}\"}}]\n", "approval queue"},
		{"unknown placeholder", "queue: q\nrules: [{approval: {queue: \"a-{tenant}\"}}]\n", "approval queue"},
		{"webhook", "queue: q\nrules: [{webhook: {method: GET}}]\n", "webhook without url"},
		{"command", "queue: q\nrules: [{command: {run: []}}]\n", "command without run"},
		{"condition", "queue: q\nrules: [{condition: {queue: c, empty: true, message: {a: 1}}}]\n", "exclude each other"},
		{"deadline", "queue: q\nrules: [{deadline: {}}]\n", "exactly one of at, after"},
		{"claim ttl", "queue: q\nclaim: {ttl: 30}\n" + rule, "claim ttl"},
		{"poll", "queue: q\npoll: {interval: 1s}\n" + rule, "poll: no stacks"},
		{"bad duration", "queue: q\nrecheck: soon\n" + rule, "line 2: cannot unmarshal !!str `soon` into time.Duration"},
		{"on_rollback", "queue: q\nrules: [{approval: {queue: a}, on_rollback: fail}]\n", `on_rollback "fail"`},
		{"hook typo", "queue: q\nrules:\n  - match: {hook: [pre-update, pre-crate]}\n    approval: {queue: a}\n",
			`hooks.yml:3:32: rule rule 1: match hook "pre-crate" matches none of pre-create`},
		{"action typo", "queue: q\nrules:\n  - match: {action: CRATE}\n    approval: {queue: a}\n", `hooks.yml:3:21: rule rule 1: match action "CRATE"`},
		{"deadline after timeout", "queue: q\nrules:\n  - deadline: {after: 2h}\n", "hooks.yml:3:23: rule rule 1: deadline after 2h0m0s is not before the timeout (1h0m0s)"},
		{"webhook scheme", "queue: q\nrules: [{webhook: {url: \"ftp://x/{stack}\"}}]\n", `hooks.yml:2:25: rule rule 1: webhook url "ftp://x/{stack}": want http:// or https://`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := watch.ParseConfig("hooks.yml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "hooks.yml") {
				t.Errorf("ParseConfig: %v, want %q", err, tc.want)
			}
		})
	}
}
