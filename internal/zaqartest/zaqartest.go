// Package zaqartest starts the real zaqar-server of this repository for
// the integration tests of heatsink and hooks: built once per test binary with go build,
// run on a free loopback port with the given zaqar.conf text, stopped at
// the end of the test. Those tests talk to it over HTTP only, as to any
// Zaqar.
package zaqartest

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// Main runs the tests and then removes the server binary built for them;
// call it from the package's TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// build compiles ./zaqar-server once per test binary into a temporary
// directory that Main removes (the build cache makes repeats cheap).
func build() (string, error) {
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "zaqar-server-test-")
		if buildErr != nil {
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
			return "", fmt.Errorf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Start runs zaqar-server with conf (zaqar.conf text; the memory store when
// it names none) and returns its base URL, e.g. http://127.0.0.1:PORT.
func Start(t testing.TB, conf string) string {
	t.Helper()
	url, _ := start(t, conf, false)
	return url
}

// StartWaiters runs zaqar-server as Start does, with its metrics listener
// on, and returns its base URL and a function reporting how many requests
// it holds now (long polling, the zaqar_waiters gauge): the signal that a
// client is waiting on it.
func StartWaiters(t testing.TB, conf string) (string, func() int) {
	t.Helper()
	url, metricsPort := start(t, conf, true)
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	return url, func() int {
		n, err := waiters(metrics)
		if err != nil {
			t.Logf("zaqar-server metrics: %v", err)
			return -1
		}
		return n
	}
}

func waiters(metrics string) (int, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(metrics)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "zaqar_waiters "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no zaqar_waiters", metrics)
}

// start runs the server; with metrics, its metrics listener too, on the
// port it returns.
func start(t testing.TB, conf string, metrics bool) (string, int) {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if !strings.Contains(conf, "message_store") {
		conf = "[drivers]\nmessage_store = memory\nmanagement_store = memory\n" + conf
	}
	if !strings.Contains(conf, "[drivers:transport:websocket]") {
		// Port 0: any free port, not the default 9000 that others may hold.
		conf += "\n[drivers:transport:websocket]\nport = 0\n"
	}
	confFile := filepath.Join(dir, "zaqar.conf")
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		text, metricsPort := conf, 0
		if metrics {
			if metricsPort, err = freePort(); err != nil {
				t.Fatal(err)
			}
			text += fmt.Sprintf("\n[metrics]\nenabled = true\nbind = 127.0.0.1\nport = %d\n", metricsPort)
		}
		if err := os.WriteFile(confFile, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		logFile, err := os.Create(filepath.Join(dir, fmt.Sprintf("server-%d.log", attempt)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--config-file", confFile, "--bind", "127.0.0.1", "--port", fmt.Sprint(port))
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		if waitUp(url, done) {
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
			return url, metricsPort
		}
		cmd.Process.Kill()
		<-done
		logFile.Close()
		log, _ := os.ReadFile(logFile.Name())
		t.Logf("zaqar-server on port %d did not start:\n%s", port, log)
	}
	t.Fatal("zaqar-server did not start")
	return "", 0
}

// waitUp waits for GET / to answer 300 (it does whatever the auth
// strategy), or for the process to exit.
func waitUp(url string, done <-chan struct{}) bool {
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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
