package hooks_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoHeatsinkImports keeps the two tools apart: what hooks shares with
// heatsink lives under internal/ (cloud, heatevent, match, consume,
// zaqarapi), so that either can change without breaking the other. Test
// imports count too.
func TestNoHeatsinkImports(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-test", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "github.com/zaqar-go/suite/heatsink" || strings.HasPrefix(p, "github.com/zaqar-go/suite/heatsink/") {
			t.Errorf("hooks depends on %s; move what both need under internal/", p)
		}
	}
}
