// Package hookstest runs what the hooks tests talk to: this repository's
// zaqar-server, built once per test binary and started on a free loopback
// port per test, and the settings of a throwaway Keystone and Heat
// (scripts/keystone, scripts/heat). hooks talks to all of them over HTTP
// only. It mirrors heatsink/internal/zaqartest, which Go's internal rule
// keeps from hooks.
package hookstest

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildDir  string
	binary    string
	buildErr  error
)

// Main runs the tests, then removes the server binary built for them; call
// it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// RequireEnv returns the variable, or skips the test (fails it when
// ZAQAR_TEST_REQUIRE_ALL=1) when it is not set.
func RequireEnv(t testing.TB, name, hint string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("ZAQAR_TEST_REQUIRE_ALL") == "1" {
			t.Fatalf("%s is not set and ZAQAR_TEST_REQUIRE_ALL=1 (%s)", name, hint)
		}
		t.Skipf("%s is not set (%s)", name, hint)
	}
	return v
}

// ReadEnv reads the `export K=V` lines that scripts/keystone and
// scripts/heat write.
func ReadEnv(t testing.TB, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
			vars[k] = strings.Trim(v, `'"`)
		}
	}
	return vars
}

func build() (string, error) {
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "hooks-zaqar-server-"); buildErr != nil {
			return
		}
		binary = filepath.Join(buildDir, "zaqar-server")
		cmd := exec.Command("go", "build", "-o", binary, "./zaqar-server")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./zaqar-server: %v\n%s", err, out)
		}
	})
	return binary, buildErr
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}

// StartZaqar runs zaqar-server with conf (zaqar.conf text; the memory
// store unless it names one) until the test ends and returns its URL.
func StartZaqar(t testing.TB, conf string) string {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if !strings.Contains(conf, "message_store") {
		conf = "[drivers]\nmessage_store = memory\nmanagement_store = memory\n" + conf
	}
	confFile := filepath.Join(dir, "zaqar.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := range 3 {
		port, ws := freePort(t), freePort(t)
		logFile, err := os.Create(filepath.Join(dir, fmt.Sprintf("server-%d.log", attempt)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--config-file", confFile, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--ws-port", fmt.Sprint(ws))
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		if up(url, done) {
			t.Cleanup(func() {
				cmd.Process.Signal(os.Interrupt)
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					cmd.Process.Kill()
					<-done
				}
				logFile.Close()
			})
			return url
		}
		cmd.Process.Kill()
		<-done
		logFile.Close()
		log, _ := os.ReadFile(logFile.Name())
		t.Logf("zaqar-server on port %d did not start:\n%s", port, log)
	}
	t.Fatal("zaqar-server did not start")
	return ""
}

// up waits for GET / to answer 300 (whatever the auth strategy).
func up(url string, done <-chan struct{}) bool {
	c := &http.Client{Timeout: 2 * time.Second}
	for range 300 {
		select {
		case <-done:
			return false
		default:
		}
		if resp, err := c.Get(url + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusMultipleChoices {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
