package service

import (
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/policy"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// TestRulesAreZaqars checks the one operation table against Zaqar's
// registered rules: each operation names a rule Zaqar defines, and each
// rule Zaqar defines for an API call guards some operation.
func TestRulesAreZaqars(t *testing.T) {
	defaults := policy.Defaults()
	used := map[string]bool{}
	for op, rule := range rules {
		if _, ok := defaults[rule]; !ok {
			t.Errorf("%s: rule %q is not one of Zaqar's", op, rule)
		}
		used[rule] = true
	}
	for rule := range defaults {
		if rule == "context_is_admin" || rule == "admin_or_owner" {
			continue // helpers other rules refer to
		}
		if !used[rule] {
			t.Errorf("Zaqar's rule %q guards no operation", rule)
		}
	}
}

func TestAuthorizeUnknownOpRefused(t *testing.T) {
	s := New(memory.New(), Options{Limits: zaqar.DefaultLimits()})
	sc := Scope{Project: "p", Roles: []string{"admin"}}
	if err := s.Authorize(sc, QueueCreate); err != nil {
		t.Fatalf("queue_create: %v", err)
	}
	if err := s.Authorize(sc, Op("queue_frobnicate")); err != errNotAuthorized {
		t.Errorf("an operation without a rule: got %v, want the 403", err)
	}
	if s.AllowsAll(Op("queue_frobnicate")) {
		t.Error("AllowsAll of an operation without a rule")
	}
	if err := s.Authorize(Scope{Project: "p"}, PoolCreate); err != errNotAuthorized {
		t.Errorf("pool_create without admin: got %v, want the 403", err)
	}
}
