package match

import "testing"

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"web_*", "web_1", true},
		{"web_*", "db_1", false},
		{"*", "inner.yaml", true},
		{"*.yaml", "dir/inner.yaml", true}, // fnmatch's * crosses /
		{"OS::Heat::*", "OS::Heat::None", true},
		{"OS::Heat::?one", "OS::Heat::None", true},
		{"[ab]x", "bx", true},
		{"[!ab]x", "bx", false},
		{"[!ab]x", "cx", true},
		{"a.b", "axb", false},
		{"Web_*", "web_1", false}, // case-sensitive, as Heat
		{"[a", "[a", true},
		{"*paused until Hook*", "CREATE paused until Hook pre-create is cleared", true},
	} {
		re, err := Glob(tc.pattern)
		if err != nil {
			t.Fatalf("Glob(%q): %v", tc.pattern, err)
		}
		if got := re.MatchString(tc.s); got != tc.want {
			t.Errorf("glob %q on %q = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
