//go:build tempest

package tempest

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// TestMain runs the selected tests, deletes dynamic credentials, and prints
// one summary line of the top-level tests (as tempest's final count):
//
//	tempest-go: 92 tests: 80 passed, 1 failed, 11 skipped
//
// followed by the names of the failed and skipped ones. `go test` shows a
// passing package's output only with -v or when run inside tempest-go/
// without package arguments; see README.md.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintf(os.Stderr, "tempest-go: deleting dynamic credentials: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	if line := summary(); line != "" {
		fmt.Println(line)
	}
	os.Exit(code)
}

// outcome of one top-level test.
type outcome uint8

const (
	passed outcome = iota
	failed
	skipped
)

var (
	outcomesMu sync.Mutex
	outcomes   = map[string]outcome{}
)

// track records how a top-level test ends. Every test reaches it through
// requireCloud (newSession, isolated, otherProject, adminSession) or
// wsEndpoint; subtests count toward their parent.
func track(t *testing.T) {
	name := t.Name()
	if strings.Contains(name, "/") {
		return
	}
	outcomesMu.Lock()
	defer outcomesMu.Unlock()
	if _, seen := outcomes[name]; seen {
		return
	}
	outcomes[name] = passed
	t.Cleanup(func() {
		o := passed
		switch {
		case t.Failed():
			o = failed
		case t.Skipped():
			o = skipped
		}
		outcomesMu.Lock()
		outcomes[name] = o
		outcomesMu.Unlock()
	})
}

// summary is the count line plus the failed and skipped tests' names.
func summary() string {
	outcomesMu.Lock()
	defer outcomesMu.Unlock()
	if len(outcomes) == 0 {
		return ""
	}
	var names [3][]string
	for name, o := range outcomes {
		names[o] = append(names[o], name)
	}
	for i := range names {
		sort.Strings(names[i])
	}
	line := fmt.Sprintf("tempest-go: %d tests: %d passed, %d failed, %d skipped",
		len(outcomes), len(names[passed]), len(names[failed]), len(names[skipped]))
	if len(names[failed]) > 0 {
		line += "\n  failed:  " + strings.Join(names[failed], " ")
	}
	if len(names[skipped]) > 0 {
		line += "\n  skipped: " + strings.Join(names[skipped], " ")
	}
	return line
}
