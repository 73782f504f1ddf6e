package rest_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// closedReasons records rest.Options.ConnClosed calls.
type closedReasons struct {
	mu  sync.Mutex
	got []string
}

func (c *closedReasons) add(r string) { c.mu.Lock(); c.got = append(c.got, r); c.mu.Unlock() }
func (c *closedReasons) list() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.got, ",")
}

func guardedServer(t *testing.T, timeout time.Duration, auth func(http.Handler) http.Handler) (string, *closedReasons) {
	t.Helper()
	reasons := &closedReasons{}
	svc := service.New(memory.New(), service.Options{Limits: zaqar.DefaultLimits()})
	srv := httptest.NewServer(rest.New(svc, rest.Options{BodyTimeout: timeout, Authenticate: auth, ConnClosed: reasons.add}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), reasons
}

// rawConn sends a request head and part of a body by hand, as a slow or
// hostile client would.
func rawConn(t *testing.T, addr, head string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A server that neither answers nor closes fails the test here
	// instead of hanging it.
	c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

const postHead = "POST /v2/queues/q/messages HTTP/1.1\r\nHost: x\r\nClient-ID: 3381af92-2b9e-11e3-b191-71861300734c\r\n" +
	"X-Project-ID: p\r\nContent-Type: application/json\r\n"

// A body that does not arrive within the timeout gets 408, and the
// connection is closed.
func TestSlowBodyTimesOut(t *testing.T) {
	addr, reasons := guardedServer(t, 300*time.Millisecond, nil)
	c, rd := rawConn(t, addr, postHead+"Content-Length: 100\r\n\r\n{\"messages\"")
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestTimeout || !res.Close {
		t.Errorf("slow body: %s, close %v, %s; want 408 and Connection: close", res.Status, res.Close, body)
	}
	if _, err := rd.ReadByte(); err != io.EOF {
		t.Errorf("connection still open after 408: %v", err)
	}
	c.Close()
	if got := reasons.list(); got != rest.ClosedBodyTimeout {
		t.Errorf("ConnClosed reasons = %q", got)
	}
}

// An unauthenticated request is answered 401 without reading its body,
// and its connection closed after a short drain rather than held: here
// the body timeout is an hour and most of the body never comes.
func TestUnauthenticatedBodyNotDrained(t *testing.T) {
	deny := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		})
	}
	addr, reasons := guardedServer(t, time.Hour, deny)
	_, rd := rawConn(t, addr, postHead+"Content-Length: 200000\r\n\r\n{\"messages\":[")
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusUnauthorized || !res.Close {
		t.Errorf("unauthenticated: %s, close %v; want 401 and Connection: close", res.Status, res.Close)
	}
	if _, err := rd.ReadByte(); err != io.EOF {
		t.Errorf("connection not closed after the 401: %v", err)
	}
	if got := reasons.list(); got != rest.ClosedUnreadBody {
		t.Errorf("ConnClosed reasons = %q", got)
	}
}

// Requests whose bodies are read keep their connection.
func TestReadBodyKeepsConnection(t *testing.T) {
	addr, reasons := guardedServer(t, time.Minute, nil)
	doc := `{"messages":[{"body":1}]}`
	req := postHead + "Content-Length: " + strconv.Itoa(len(doc)) + "\r\n\r\n" + doc
	c, rd := rawConn(t, addr, req)
	for i := 0; i < 2; i++ {
		res, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, res.Body)
		if res.StatusCode != http.StatusCreated || res.Close {
			t.Fatalf("request %d: %s, close %v", i, res.Status, res.Close)
		}
		if i == 0 {
			io.WriteString(c, req) // the same connection again
		}
	}
	if got := reasons.list(); got != "" {
		t.Errorf("ConnClosed reasons = %q", got)
	}
}

// A client that sends an oversized body at once reads the error answer,
// not a reset: the rest of its body is drained before the close.
func TestOversizedBodyAnswered(t *testing.T) {
	addr, reasons := guardedServer(t, time.Minute, nil)
	for i := 0; i < 3; i++ {
		body := `{"k": "` + strings.Repeat("x", 70000) + `"}`
		req, _ := http.NewRequest("PUT", "http://"+addr+"/v2/queues/big", strings.NewReader(body))
		req.Header.Set("Client-ID", "3381af92-2b9e-11e3-b191-71861300734c")
		req.Header.Set("X-Project-ID", "p")
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("oversized PUT %d: %v (want the 400, not a broken connection)", i, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("oversized PUT %d: %s", i, res.Status)
		}
	}
	if got := reasons.list(); got != strings.Repeat(rest.ClosedUnreadBody+",", 2)+rest.ClosedUnreadBody {
		t.Errorf("ConnClosed reasons = %q", got)
	}
}
