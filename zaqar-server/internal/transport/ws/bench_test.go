package ws

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

const (
	idleConns   = 2000
	activeConns = 100
)

// BenchmarkConnections holds 2,000 idle connections, opened by a child
// process so that only the server's side is in this process's memory
// figures, and then runs requests on 100 active connections. It reports
// the server's memory per idle connection (heap and stacks in use, after
// GC, before and after the connections open) and the time per request.
//
//	go test -run='^$' -bench=Connections -benchtime=20000x ./zaqar-server/internal/transport/ws/
func BenchmarkConnections(b *testing.B) {
	store := memory.New()
	defer store.Close()
	srv := New(service.New(store, service.Options{Limits: zaqar.DefaultLimits()}), Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/"

	heap0, stacks0 := memInUse()
	before := heap0 + stacks0
	child := exec.Command(os.Args[0], "-test.run=^TestHelperIdleClients$")
	child.Env = append(os.Environ(), "ZAQAR_WS_IDLE_URL="+url, "ZAQAR_WS_IDLE_CONNS="+strconv.Itoa(idleConns))
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); child.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		b.Fatalf("idle clients: %q %v", line, err)
	}
	eventually(b, "the idle connections to register", func() bool { return srv.connCount() == idleConns })
	heap1, stacks1 := memInUse()
	after := heap1 + stacks1
	perConn := float64(after-before) / idleConns
	b.Logf("%d idle connections: server heap+stacks in use %.1f MiB -> %.1f MiB, %.1f KiB per connection (heap %.1f KiB, stacks %.1f KiB); %d goroutines",
		idleConns, float64(before)/(1<<20), float64(after)/(1<<20), perConn/1024,
		float64(heap1-heap0)/idleConns/1024, float64(stacks1-stacks0)/idleConns/1024, runtime.NumGoroutine())

	b.Run(fmt.Sprintf("active=%d", activeConns), func(b *testing.B) {
		clients := make([]*websocket.Conn, activeConns)
		for i := range clients {
			c, _, err := websocket.Dial(b.Context(), url, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseNow()
			clients[i] = c
		}
		var next atomic.Int64
		b.SetParallelism((activeConns + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1)-1) % activeConns
			c := clients[i]
			headers := map[string]string{"Client-ID": clientID, "X-Project-ID": "bench"}
			post, _ := json.Marshal(map[string]any{"action": "message_post", "headers": headers,
				"body": map[string]any{"queue_name": fmt.Sprintf("q%d", i), "messages": []any{map[string]any{"body": map[string]int{"n": i}}}}})
			pop, _ := json.Marshal(map[string]any{"action": "message_delete_many", "headers": headers,
				"body": map[string]any{"queue_name": fmt.Sprintf("q%d", i), "pop": 1}})
			for n := 0; pb.Next(); n++ {
				req := post
				if n%2 == 1 {
					req = pop
				}
				if err := c.Write(context.Background(), websocket.MessageText, req); err != nil {
					b.Error(err)
					return
				}
				_, resp, err := c.Read(context.Background())
				if err != nil {
					b.Error(err)
					return
				}
				if !strings.Contains(string(resp), `"status":20`) {
					b.Errorf("response %s", resp)
					return
				}
			}
		})
		b.ReportMetric(perConn, "idle-B/conn")
	})
	if n := srv.connCount(); n < idleConns {
		b.Errorf("only %d connections left after the run", n)
	}
}

func inUse() uint64 {
	heap, stacks := memInUse()
	return heap + stacks
}

func memInUse() (heap, stacks uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse
}

// TestHelperIdleClients is the child process of BenchmarkConnections: it
// opens the connections, says "ready" and holds them until its stdin
// closes. It does nothing in a normal test run.
func TestHelperIdleClients(t *testing.T) {
	url := os.Getenv("ZAQAR_WS_IDLE_URL")
	if url == "" {
		t.Skip("only run by BenchmarkConnections")
	}
	n, _ := strconv.Atoi(os.Getenv("ZAQAR_WS_IDLE_CONNS"))
	conns := make([]*websocket.Conn, 0, n)
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, res, err := websocket.Dial(ctx, url, nil)
		cancel()
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		if res.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("dial: %s", res.Status)
		}
		// Answer pings while idle.
		c.CloseRead(context.Background())
		conns = append(conns, c)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.CloseNow()
	}
}
