// Package testserver starts the real backends that tests run against
// (redis-server, the FerretDB that scripts/ferretdb builds) as child
// processes on loopback ports, and stops exactly those processes: at the
// test's end, or earlier when a test stops or kills one to see the store
// ride out an outage. Only tests import it.
package testserver

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
)

// Process is a server a test started.
type Process struct {
	t    testing.TB
	name string
	Port int
	Dir  string
	log  string
	cmd  *exec.Cmd
}

// start runs bin with args (its output in dir/name.out), registers Stop
// with t.Cleanup and waits up to ten seconds until ready says it answers.
func start(t testing.TB, name string, port int, dir string, ready func() bool, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, name: name, Port: port, Dir: dir, log: filepath.Join(dir, name+".out")}
	log, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for !ready() {
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(p.log)
			t.Fatalf("%s on port %d did not start:\n%s", name, port, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// Stop sends SIGTERM (Redis then writes and syncs its AOF) and waits; a
// process that ignores it for ten seconds is killed and the test fails.
func (p *Process) Stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
		p.t.Errorf("%s on port %d ignored SIGTERM for 10s; killed", p.name, p.Port)
	}
	p.cmd = nil
}

// Kill stops the process the hard way, as a crash would.
func (p *Process) Kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	p.cmd = nil
}

// Redis is a redis-server a test started.
type Redis struct{ *Process }

// StartRedis starts redis-server on port (a free one when 0) with its files
// in dir and waits until it answers PING. args replace the persistence
// options; without them nothing is persisted. Without redis-server on PATH
// the test is skipped, or fails under ZAQAR_TEST_REQUIRE_ALL=1.
func StartRedis(t testing.TB, dir string, port int, args ...string) *Redis {
	t.Helper()
	bin := LookPath(t, "redis-server")
	if port == 0 {
		port = FreePort(t)
	}
	if len(args) == 0 {
		args = []string{"--save", "", "--appendonly", "no"}
	}
	r := &Redis{}
	r.Process = start(t, "redis", port, dir, func() bool { return redisAnswers(port) }, bin,
		append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no"}, args...)...)
	return r
}

// URL is the server's database 0.
func (r *Redis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.Port) }

// Answers reports whether the server replies PONG.
func (r *Redis) Answers() bool { return redisAnswers(r.Port) }

func redisAnswers(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

// FerretDB is a FerretDB (MongoDB protocol over SQLite) a test started.
type FerretDB struct{ *Process }

// StartFerretDB starts the FerretDB that scripts/ferretdb builds
// (ZAQAR_TEST_FERRETDB names the binary; the test is skipped without it,
// or fails under ZAQAR_TEST_REQUIRE_ALL=1) on port (a free one when 0)
// with its SQLite files in dir, and waits until it accepts connections.
func StartFerretDB(t testing.TB, dir string, port int) *FerretDB {
	t.Helper()
	bin := storagetest.RequireEnv(t, "ZAQAR_TEST_FERRETDB")
	if port == 0 {
		port = FreePort(t)
	}
	accepts := func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	f := &FerretDB{}
	f.Process = start(t, "ferretdb", port, dir, accepts, bin,
		"-listen", "127.0.0.1:"+strconv.Itoa(port), "-dir", filepath.Join(dir, "data"), "-log", filepath.Join(dir, "ferretdb.log"))
	return f
}

// URL is the server's address as a mongodb:// URI.
func (f *FerretDB) URL() string { return fmt.Sprintf("mongodb://127.0.0.1:%d/", f.Port) }

// LookPath finds a program: the test is skipped without it, or fails under
// ZAQAR_TEST_REQUIRE_ALL=1 (testenv.LookPath).
func LookPath(t testing.TB, name string) string {
	t.Helper()
	return testenv.LookPath(t, name, "")
}

// FreePort returns a free loopback port below 55536 (a Redis Cluster node
// also listens on its port + 10000).
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if port <= 55535 {
			return port
		}
	}
	t.Fatal("no free port below 55536")
	return 0
}
