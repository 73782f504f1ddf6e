// Package policy enforces Zaqar's access rules: the default rules of
// zaqar/common/policies/, overridable from an oslo.policy file (YAML or JSON,
// which is YAML) with the same rule names. It implements the oslo.policy
// check language Zaqar's rules and common overrides use: "" and "@" (allow),
// "!" (deny), role:R, rule:NAME, is_admin:True|False, KEY:%(target)s or
// KEY:literal against the caller's project_id/user_id, combined with and,
// or, not and parentheses.
package policy

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Creds are what a rule may look at: the caller's identity.
type Creds struct {
	ProjectID string
	UserID    string
	Roles     []string
}

// Target is what the caller acts on; Zaqar passes the request's project.
type Target map[string]string

// Defaults are Zaqar's registered rules (zaqar/common/policies/*.py).
func Defaults() map[string]string {
	r := map[string]string{
		"context_is_admin": "role:admin",
		"admin_or_owner":   "is_admin:True or project_id:%(project_id)s",
		"health:get":       "role:admin",
	}
	for _, n := range []string{"queues:get_all", "queues:create", "queues:get", "queues:delete", "queues:update",
		"queues:stats", "queues:share", "queues:purge", "messages:get_all", "messages:create", "messages:get",
		"messages:delete", "messages:delete_all", "claims:create", "claims:get", "claims:delete", "claims:update",
		"subscription:get_all", "subscription:create", "subscription:get", "subscription:delete",
		"subscription:update", "subscription:confirm", "ping:get", "flavors:get_all", "flavors:get",
		"topics:get_all", "topics:create", "topics:get", "topics:delete", "topics:update", "topics:stats", "topics:purge"} {
		r[n] = ""
	}
	for _, n := range []string{"pools:get_all", "pools:create", "pools:get", "pools:delete", "pools:update",
		"flavors:create", "flavors:delete", "flavors:update"} {
		r[n] = "role:admin"
	}
	return r
}

// Enforcer decides rules.
type Enforcer struct {
	rules map[string]check
}

// New compiles rules; see Defaults and Load.
func New(rules map[string]string) (*Enforcer, error) {
	e := &Enforcer{rules: map[string]check{}}
	for name, src := range rules {
		c, err := parse(src)
		if err != nil {
			return nil, fmt.Errorf("policy rule %q: %w", name, err)
		}
		e.rules[name] = c
	}
	return e, nil
}

// Load returns Zaqar's defaults overridden by the rules in file (oslo.policy
// YAML or JSON); a missing file is not an error, as in oslo.policy.
func Load(file string) (*Enforcer, error) {
	rules := Defaults()
	if file != "" {
		b, err := os.ReadFile(file)
		switch {
		case os.IsNotExist(err):
		case err != nil:
			return nil, fmt.Errorf("policy file %s: %w", file, err)
		default:
			var over map[string]string
			if err := yaml.Unmarshal(b, &over); err != nil {
				return nil, fmt.Errorf("policy file %s: %w", file, err)
			}
			for k, v := range over {
				rules[k] = v
			}
		}
	}
	return New(rules)
}

// AllowsAll reports whether rule lets everyone through ("" or "@", as most
// of Zaqar's defaults are), so a caller can skip gathering credentials.
// Rules are fixed once loaded.
func (e *Enforcer) AllowsAll(rule string) bool {
	c, ok := e.rules[rule]
	if !ok {
		return false
	}
	a, ok := c.(always)
	return ok && bool(a)
}

// Allowed reports whether creds may perform rule on target. An unknown rule
// is denied.
func (e *Enforcer) Allowed(rule string, creds Creds, target Target) bool {
	c, ok := e.rules[rule]
	if !ok {
		return false
	}
	return c.eval(e, creds, target, 0)
}

// check is a compiled check expression.
type check interface {
	eval(e *Enforcer, c Creds, t Target, depth int) bool
}

type (
	always   bool
	notC     struct{ c check }
	andC     []check
	orC      []check
	roleC    string
	ruleC    string
	isAdmin  bool
	genericC struct{ key, match string }
)

func (a always) eval(*Enforcer, Creds, Target, int) bool       { return bool(a) }
func (n notC) eval(e *Enforcer, c Creds, t Target, d int) bool { return !n.c.eval(e, c, t, d) }
func (a andC) eval(e *Enforcer, c Creds, t Target, d int) bool {
	for _, x := range a {
		if !x.eval(e, c, t, d) {
			return false
		}
	}
	return true
}
func (o orC) eval(e *Enforcer, c Creds, t Target, d int) bool {
	for _, x := range o {
		if x.eval(e, c, t, d) {
			return true
		}
	}
	return false
}
func (r roleC) eval(_ *Enforcer, c Creds, _ Target, _ int) bool {
	for _, have := range c.Roles {
		if strings.EqualFold(have, string(r)) {
			return true
		}
	}
	return false
}
func (r ruleC) eval(e *Enforcer, c Creds, t Target, d int) bool {
	sub, ok := e.rules[string(r)]
	if !ok || d > 20 { // unknown rules deny; depth guards against rule cycles
		return false
	}
	return sub.eval(e, c, t, d+1)
}
func (a isAdmin) eval(_ *Enforcer, c Creds, _ Target, _ int) bool {
	return roleC("admin").eval(nil, c, nil, 0) == bool(a)
}
func (g genericC) eval(_ *Enforcer, c Creds, t Target, _ int) bool {
	want := g.match
	if strings.HasPrefix(want, "%(") && strings.HasSuffix(want, ")s") {
		v, ok := t[want[2:len(want)-2]]
		if !ok {
			return false
		}
		want = v
	} else {
		want = strings.Trim(want, `'"`)
	}
	var have string
	switch g.key {
	case "project_id", "tenant", "tenant_id":
		have = c.ProjectID
	case "user_id":
		have = c.UserID
	default:
		return false
	}
	return have != "" && have == want
}
