package policy

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDefaults(t *testing.T) {
	e, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	member := Creds{ProjectID: "p", Roles: []string{"member"}}
	admin := Creds{ProjectID: "p", Roles: []string{"Admin"}}
	cases := []struct {
		rule  string
		creds Creds
		want  bool
	}{
		{"queues:create", member, true},
		{"messages:get_all", Creds{}, true},
		{"health:get", member, false},
		{"health:get", admin, true},
		{"pools:create", member, false},
		{"flavors:get", member, true},
		{"flavors:create", member, false},
		{"no:such:rule", admin, false},
		{"admin_or_owner", member, true},
		{"admin_or_owner", Creds{ProjectID: "q"}, false},
	}
	for _, tc := range cases {
		if got := e.Allowed(tc.rule, tc.creds, Target{"project_id": "p"}); got != tc.want {
			t.Errorf("Allowed(%q, %+v) = %v, want %v", tc.rule, tc.creds, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		src   string
		creds Creds
		want  bool
	}{
		{"", Creds{}, true},
		{"@", Creds{}, true},
		{"!", Creds{Roles: []string{"admin"}}, false},
		{"role:a or role:b", Creds{Roles: []string{"b"}}, true},
		{"role:a and role:b", Creds{Roles: []string{"b"}}, false},
		{"not role:a", Creds{Roles: []string{"b"}}, true},
		{"(role:a or role:b) and project_id:%(project_id)s", Creds{ProjectID: "p", Roles: []string{"a"}}, true},
		{"(role:a or role:b) and project_id:%(project_id)s", Creds{ProjectID: "x", Roles: []string{"a"}}, false},
		{"role:a or not (role:b and role:c)", Creds{Roles: []string{"b", "c"}}, false},
		{"rule:context_is_admin", Creds{Roles: []string{"admin"}}, true},
		{"is_admin:True", Creds{Roles: []string{"member"}}, false},
		{"user_id:'u1'", Creds{UserID: "u1"}, true},
	}
	for _, tc := range cases {
		e, err := New(map[string]string{"r": tc.src, "context_is_admin": "role:admin"})
		if err != nil {
			t.Fatalf("New(%q) = %v", tc.src, err)
		}
		if got := e.Allowed("r", tc.creds, Target{"project_id": "p"}); got != tc.want {
			t.Errorf("%q with %+v = %v, want %v", tc.src, tc.creds, got, tc.want)
		}
	}
	for _, bad := range []string{"role:a or", "(role:a", "bogus", "role:a )"} {
		if _, err := New(map[string]string{"r": bad}); err == nil {
			t.Errorf("New(%q) succeeded, want error", bad)
		}
	}
	// A rule cycle denies instead of recursing forever.
	e, _ := New(map[string]string{"a": "rule:b", "b": "rule:a"})
	if e.Allowed("a", Creds{}, nil) {
		t.Error("cyclic rule allowed")
	}
}

func TestLoadOverrides(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(p, []byte("\"queues:delete\": \"role:admin\"\n\"health:get\": \"\"\n"), 0o600)
	e, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	member := Creds{ProjectID: "p", Roles: []string{"member"}}
	if e.Allowed("queues:delete", member, nil) || !e.Allowed("health:get", member, nil) || !e.Allowed("queues:get", member, nil) {
		t.Error("overrides not applied")
	}
	// AllowsAll lets callers skip the check; only rules everyone passes.
	for rule, want := range map[string]bool{"queues:get": true, "health:get": true, "queues:delete": false,
		"pools:create": false, "admin_or_owner": false, "no such rule": false} {
		if got := e.AllowsAll(rule); got != want {
			t.Errorf("AllowsAll(%q) = %v, want %v", rule, got, want)
		}
	}
	os.WriteFile(p, []byte("\"queues:delete\": \"role:admin or\"\n"), 0o600)
	if _, err := Load(p); err == nil {
		t.Error("Load of a bad rule succeeded")
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml")); err != nil {
		t.Errorf("Load of a missing file = %v", err)
	}
}
