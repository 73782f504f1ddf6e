package heatsink_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoHooksImports keeps the two tools apart: what heatsink shares with
// hooks lives under internal/ (cloud, heatevent, match, consume,
// zaqarapi), so that either can change without breaking the other. Test
// imports count too.
func TestNoHooksImports(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-test", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "github.com/zaqar-go/suite/hooks" || strings.HasPrefix(p, "github.com/zaqar-go/suite/hooks/") {
			t.Errorf("heatsink depends on %s; move what both need under internal/", p)
		}
	}
}
