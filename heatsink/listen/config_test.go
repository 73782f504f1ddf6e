package listen

import (
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/consume"
	"github.com/zaqar-go/suite/internal/heatevent"
	"github.com/zaqar-go/suite/internal/match"
)

func TestParseConfig(t *testing.T) {
	good := `
claim: {ttl: 120, limit: 5}
queues:
  - name: heat-events
  - {name: other, signed_url: other.json, workers: 2}
rules:
  - name: lb
    match: {resource_type: "OS::Nova::Server", resource_name: "web_*", action: CREATE, status: COMPLETE}
    webhook: {url: "http://lb.example/register", headers: {X-Auth: s}}
  - match: {status: [COMPLETE, FAILED]}
    command: [/bin/true]
    timeout: 100s
  - queue: {name: copy, ttl: 600}
`
	c, err := ParseConfig("l.yml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Claim.TTL != 120 || c.Claim.Grace != 60 || c.Claim.Limit != 5 || c.Claim.Poll != 2*time.Second || c.Claim.Wait != 20*time.Second {
		t.Errorf("claim = %+v", c.Claim)
	}
	if c.Queues[0].Workers != 1 || c.Queues[1].Workers != 2 || c.Queues[1].SignedURL != "other.json" {
		t.Errorf("queues = %+v", c.Queues)
	}
	if c.Rules[0].Webhook.Method != "POST" || c.Rules[0].Timeout != 30*time.Second || c.Rules[1].Name != "rule 2" {
		t.Errorf("rules = %+v", c.Rules)
	}
	if got := c.Rules[1].Match.Status; len(got) != 2 || got[1] != "FAILED" {
		t.Errorf("status patterns = %v", got)
	}

	for _, tc := range []struct{ name, doc, want string }{
		{"unknown key", "queues: [{name: q}]\nrules: [{command: [x], bogus: 1}]\n", "l.yml: yaml: unmarshal errors:\n  line 2: field bogus not found"},
		{"no queues", "rules: [{command: [x]}]\n", "no queues"},
		{"no rules", "queues: [{name: q}]\n", "no rules"},
		{"bad queue", "queues: [{name: 'a b'}]\nrules: [{command: [x]}]\n", `queue name "a b" is not a valid`},
		{"two actions", "queues: [{name: q}]\nrules: [{command: [x], queue: {name: q2}}]\n", "exactly one of webhook, command, queue"},
		{"no action", "queues: [{name: q}]\nrules: [{name: r}]\n", "rule r: needs exactly one"},
		{"timeout too long", "queues: [{name: q}]\nrules: [{command: [x], timeout: 60s}]\n", "must be shorter than the claim ttl (1m0s)"},
		{"claim ttl", "claim: {ttl: 30}\nqueues: [{name: q}]\nrules: [{command: [x]}]\n", "claim ttl and grace must be 60..43200"},
		{"bad glob", "queues: [{name: q}]\nrules: [{command: [x], match: {resource_name: '[a'}}]\n", ""},
		{"webhook without url", "queues: [{name: q}]\nrules: [{webhook: {}}]\n", "webhook without url"},
		{"action typo", "queues: [{name: q}]\nrules:\n  - match: {action: [CREATE, CRATE]}\n    command: [x]\n", `l.yml:3:30: rule rule 1: match action "CRATE" matches none of INIT, CREATE`},
		{"status typo", "queues: [{name: q}]\nrules:\n  - match: {status: COMPLET}\n    command: [x]\n", `l.yml:3:21: rule rule 1: match status "COMPLET" matches none of IN_PROGRESS, COMPLETE, FAILED`},
		{"ftp webhook", "queues: [{name: q}]\nrules: [{webhook: {url: \"ftp://x/y\"}}]\n", `l.yml:2:25: rule rule 1: webhook url "ftp://x/y": want http:// or https:// and a host`},
		{"both at once", "queues: [{name: q}]\nrules: [{webhook: {url: \"x\"}, match: {status: DONE}}]\n", "l.yml:2:47: rule rule 1: match status \"DONE\"" /* and the url, on the next line */},
		{"retry", "retry: {initial: 2s, max: 1s}\nqueues: [{name: q}]\nrules: [{command: [x]}]\n", "retry:"},
		{"shutdown grace", "shutdown_grace: -1s\nqueues: [{name: q}]\nrules: [{command: [x]}]\n", "shutdown_grace"},
		{"wait too long", "claim: {wait: 31s}\nqueues: [{name: q}]\nrules: [{command: [x]}]\n", "claim wait 31s: must be whole seconds from 0s (off) to 30s"},
		{"wait not whole seconds", "claim: {wait: 1500ms}\nqueues: [{name: q}]\nrules: [{command: [x]}]\n", "claim wait 1.5s"},
		{"wait negative", "claim: {wait: -1s}\nqueues: [{name: q}]\nrules: [{command: [x]}]\n", "claim wait -1s"},
		{"poll negative", "claim: {poll: -1s}\nqueues: [{name: q}]\nrules: [{command: [x]}]\n", "claim poll must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("l.yml", []byte(tc.doc))
			if tc.want == "" {
				if err != nil {
					t.Errorf("ParseConfig = %v, want success (a lone [ is literal)", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseConfig = %v, want %q", err, tc.want)
			}
		})
	}
}

// claim.wait absent is the default; 0 turns waiting off.
func TestParseConfigWait(t *testing.T) {
	for _, tc := range []struct {
		claim string
		want  time.Duration
	}{
		{"{}", consume.DefaultWait},
		{"{wait: 0s}", 0},
		{"{wait: 5s}", 5 * time.Second},
		{"{wait: 30s}", 30 * time.Second},
	} {
		c, err := ParseConfig("l.yml", []byte("claim: "+tc.claim+"\nqueues: [{name: q}]\nrules: [{command: [x]}]\n"))
		if err != nil {
			t.Errorf("claim %s: %v", tc.claim, err)
		} else if c.Claim.Wait != tc.want {
			t.Errorf("claim %s: wait %s, want %s", tc.claim, c.Claim.Wait, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	p := heatevent.Payload{ResourceName: "web_1", ResourceType: "OS::Heat::TestResource", ResourceAction: "CREATE",
		ResourceStatus: "COMPLETE", ResourceStatusReason: "state changed", StackID: "s1"}
	for _, tc := range []struct {
		name string
		m    Match
		want bool
	}{
		{"empty matches all", Match{}, true},
		{"all fields", Match{ResourceType: match.Patterns{"OS::Heat::*"}, ResourceName: match.Patterns{"web_*"}, Action: match.Patterns{"CREATE"}, Status: match.Patterns{"COMPLETE"}, Reason: match.Patterns{"state*"}, StackID: match.Patterns{"s1"}}, true},
		{"any of a list", Match{Status: match.Patterns{"FAILED", "COMPLETE"}}, true},
		{"one field fails", Match{ResourceName: match.Patterns{"web_*"}, Action: match.Patterns{"DELETE"}}, false},
	} {
		m, err := compileMatch(tc.m)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(p); got != tc.want {
			t.Errorf("%s: match = %v, want %v", tc.name, got, tc.want)
		}
	}
}
