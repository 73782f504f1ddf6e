package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/heatsink/listen"
	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/internal/zaqartest"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	good := writeFile(t, "env.yml", "event_sinks:\n  - {type: zaqar-queue, target: events, ttl: 1200}\n")
	code, out, _ := runCmd(t, "validate", good)
	if code != 0 || !strings.Contains(out, "env.yml:2:5: zaqar-queue events ttl 1200") {
		t.Errorf("validate good = %d, %q", code, out)
	}
	bad := writeFile(t, "bad.yml", "event_sinks:\n  - {type: zaqar-queue, target: events, ttl: 10}\n")
	code, _, errOut := runCmd(t, "validate", bad)
	if code != 1 || !strings.Contains(errOut, "bad.yml:2:46: ttl 10 is outside Zaqar's range") {
		t.Errorf("validate bad = %d, %q", code, errOut)
	}
	if code, _, _ := runCmd(t, "validate"); code != 2 {
		t.Errorf("validate without files = %d, want 2", code)
	}
	if code, _, _ := runCmd(t, "bogus"); code != 2 {
		t.Errorf("unknown command = %d, want 2", code)
	}
}

// TestPrepareNoAuth runs prepare against the real zaqar-server without
// authentication.
func TestPrepareNoAuth(t *testing.T) {
	t.Setenv("OS_AUTH_URL", "")
	t.Setenv("OS_CLOUD", "")
	url := zaqartest.Start(t, "")
	envFile := writeFile(t, "env.yml", "event_sinks:\n  - {type: zaqar-queue, target: events}\n")
	code, out, errOut := runCmd(t, "prepare", "--zaqar-url", url, "--project", "p1", "--max-claims", "3", envFile)
	want := "events-dlq: created\nevents: created (_dead_letter_queue, _dead_letter_queue_messages_ttl, _max_claim_count)\n"
	if code != 0 || out != want {
		t.Errorf("prepare = %d, %q (stderr %q), want %q", code, out, errOut, want)
	}
	code, out, _ = runCmd(t, "prepare", "--zaqar-url", url, "--project", "p1", "--max-claims", "3", envFile)
	if code != 0 || out != "events-dlq: unchanged\nevents: unchanged\n" {
		t.Errorf("second prepare = %d, %q", code, out)
	}
	if code, _, errOut := runCmd(t, "prepare", "--zaqar-url", url, envFile); code != 1 || !strings.Contains(errOut, "needs --project") {
		t.Errorf("prepare without project = %d, %q", code, errOut)
	}
}

// TestDocExamples checks that the environment.yml and listeners.yml examples
// of docs/heat-tools.md are what validate and listen accept.
func TestDocExamples(t *testing.T) {
	data, err := os.ReadFile("../../../docs/heat-tools.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := func(name string) []string {
		var out []string
		for rest := string(data); ; {
			var ok bool
			if _, rest, ok = strings.Cut(rest, "`"+name+"`:\n\n```yaml\n"); !ok {
				break
			}
			text, _, _ := strings.Cut(rest, "```")
			out = append(out, text)
		}
		if len(out) == 0 {
			t.Fatalf("docs/heat-tools.md has no %s example", name)
		}
		return out
	}
	sink := false
	for _, env := range blocks("environment.yml") {
		code, out, errOut := runCmd(t, "validate", writeFile(t, "environment.yml", env))
		if code != 0 {
			t.Errorf("validate environment.yml example = %d, %q %q", code, out, errOut)
		}
		sink = sink || strings.Contains(out, "environment.yml:3:5: zaqar-queue stack-events ttl 1200")
	}
	if !sink {
		t.Error("no environment.yml example validates as the stack-events sink")
	}
	for _, l := range blocks("listeners.yml") {
		if _, err := listen.ParseConfig("listeners.yml", []byte(l)); err != nil {
			t.Errorf("listeners.yml example: %v", err)
		}
	}
}

func TestMain(m *testing.M) { zaqartest.Main(m) }

// Each subcommand's -h says what it does, with an example, and exits 0.
func TestSubcommandHelp(t *testing.T) {
	for _, name := range []string{"validate", "prepare", "share", "listen", "emit"} {
		code, _, errOut := runCmd(t, name, "-h")
		if code != 0 || !strings.Contains(errOut, "\nExample:\n  heatsink ") || !strings.Contains(errOut, "Flags:") {
			t.Errorf("heatsink %s -h = %d:\n%s", name, code, errOut)
		}
	}
}

// share on a server without a signing key says so, instead of Zaqar's
// "The `key` can't be None".
func TestShareWithoutKey(t *testing.T) {
	t.Setenv("OS_AUTH_URL", "")
	t.Setenv("OS_CLOUD", "")
	url := zaqartest.Start(t, "")
	code, _, errOut := runCmd(t, "share", "--zaqar-url", url, "--project", "p1", "--queue", "events")
	want := "heatsink share: pre-sign a URL for queue events: the Zaqar server has no signing key ([signed_url] secret_key in its zaqar.conf)"
	if code != 1 || !strings.HasPrefix(errOut, want) {
		t.Errorf("share = %d, %q; want %q", code, errOut, want)
	}
}

func TestValidateListeners(t *testing.T) {
	bad := writeFile(t, "listeners.yml", "queues: [{name: q}]\nrules:\n  - match: {action: CRATE, status: COMPLET}\n    webhook: {url: \"ftp://x/y\"}\n")
	code, _, errOut := runCmd(t, "validate", "--listeners", bad)
	for _, want := range []string{`listeners.yml:3:21: rule rule 1: match action "CRATE"`, `listeners.yml:3:36: rule rule 1: match status "COMPLET"`, `listeners.yml:4:20: rule rule 1: webhook url "ftp://x/y"`} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("validate --listeners = %d, %q; want %q", code, errOut, want)
		}
	}
	good := writeFile(t, "listeners.yml", "queues: [{name: q}]\nrules: [{match: {action: CREATE}, command: [x]}]\n")
	if code, out, errOut := runCmd(t, "validate", "--listeners", good); code != 0 || !strings.Contains(out, "1 queues, 1 rules") {
		t.Errorf("validate --listeners good = %d, %q %q", code, out, errOut)
	}
}

// --wait replaces the listeners file's claim.wait, is checked as it is,
// and the log says which mode the listener claims in.
func TestListenWaitFlag(t *testing.T) {
	t.Setenv("OS_AUTH_URL", "")
	t.Setenv("OS_CLOUD", "")
	url := zaqartest.Start(t, "")
	cfg := writeFile(t, "listeners.yml", "queues: [{name: q}]\nrules: [{command: [/bin/true]}]\n")
	if code, _, errOut := runCmd(t, "listen", "--zaqar-url", url, "--project", "p1", "--config", cfg, "--wait", "45s"); code != 1 ||
		!strings.Contains(errOut, "heatsink listen: --wait: claim wait 45s: must be whole seconds from 0s (off) to 30s") {
		t.Errorf("listen --wait 45s = %d, %q", code, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, `msg="claiming with long polling: the server holds an empty claim; pausing after one it does not hold" wait=20s poll=2s`},
		{[]string{"--wait", "7s"}, "wait=7s poll=2s"},
		{[]string{"--wait", "0s"}, `msg="claiming without long polling: pausing after an empty claim" poll=2s`},
	} {
		ctx, cancel := context.WithCancel(t.Context())
		var errOut testenv.SyncBuffer
		exited := make(chan int)
		go func() {
			exited <- run(ctx, append([]string{"listen", "--zaqar-url", url, "--project", "p1", "--config", cfg}, tc.args...), io.Discard, &errOut)
		}()
		testenv.Eventually(t, fmt.Sprintf("listen %v to log %q", tc.args, tc.want), 30*time.Second, 20*time.Millisecond,
			func() bool { return strings.Contains(errOut.String(), tc.want) })
		cancel()
		if code := <-exited; code != 0 {
			t.Errorf("listen %v exited %d:\n%s", tc.args, code, errOut.String())
		}
	}
}
