package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// wire is a lean HTTP/1.1 keep-alive client for plain-http endpoints: a
// request is written and its answer read in the calling goroutine, on an
// idle connection it takes for itself. net/http's Transport hands each
// request to a write loop and a read loop goroutine per connection; with
// the load tool sharing two cores with the server, those handoffs cost the
// tool about as much CPU per request as the trivial handler it measures,
// CPU the server under test then lacks. Answers are parsed by
// http.ReadResponse (chunked bodies included).
type wire struct {
	addr   string // host:port to dial
	host   string // the Host header
	prefix string // the endpoint's path, before each request's

	mu   sync.Mutex
	idle []*wireConn
}

type wireConn struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// newWire returns a wire for an http:// endpoint, nil for any other.
func newWire(endpoint string) *wire {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &wire{addr: addr, host: u.Host, prefix: u.EscapedPath()}
}

// errStale: the connection was closed before the request was read.
var errStale = errors.New("connection closed before the request was read")

// timeLongAgo, as a deadline, fails a connection's pending reads and writes.
var timeLongAgo = time.Unix(1, 0)

// do sends one request with the given headers (name, value pairs) and
// returns the answer's status, headers and body.
func (w *wire) do(ctx context.Context, method, path string, headers []string, body []byte) (int, http.Header, []byte, error) {
	status, header, b, reused, err := w.try(ctx, method, path, headers, body)
	if reused && errors.Is(err, errStale) {
		// The server closed the idle connection before reading the
		// request (its keep-alive timeout), as net/http's client retries.
		status, header, b, _, err = w.try(ctx, method, path, headers, body)
	}
	return status, header, b, err
}

func (w *wire) try(ctx context.Context, method, path string, headers []string, body []byte) (int, http.Header, []byte, bool, error) {
	cn, reused, err := w.get(ctx)
	if err != nil {
		return 0, nil, nil, false, err
	}
	stop := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(timeLongAgo) })
	cn.nc.SetDeadline(time.Now().Add(30 * time.Second))
	status, header, b, keep, err := cn.roundTrip(method, w.host, w.prefix+path, headers, body)
	if !stop() {
		// ctx ended during the request: its deadline was pulled in, and
		// the answer may still be on the way.
		keep, err = false, ctx.Err()
	}
	if keep && err == nil {
		w.put(cn)
	} else {
		cn.nc.Close()
	}
	return status, header, b, reused, err
}

func (cn *wireConn) roundTrip(method, host, target string, headers []string, body []byte) (int, http.Header, []byte, bool, error) {
	bw := cn.bw
	bw.WriteString(method)
	bw.WriteByte(' ')
	bw.WriteString(target)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	for i := 0; i+1 < len(headers); i += 2 {
		bw.WriteString("\r\n")
		bw.WriteString(headers[i])
		bw.WriteString(": ")
		bw.WriteString(headers[i+1])
	}
	if body != nil || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		bw.WriteString("\r\nContent-Length: ")
		bw.WriteString(strconv.Itoa(len(body)))
	}
	bw.WriteString("\r\n\r\n")
	bw.Write(body)
	if err := bw.Flush(); err != nil {
		return 0, nil, nil, false, fmt.Errorf("%w: %w", errStale, err)
	}
	// Nothing at all in answer: the server closed the connection (idle)
	// without reading the request.
	if _, err := cn.br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			err = fmt.Errorf("%w: %w", errStale, err)
		}
		return 0, nil, nil, false, err
	}
	res, err := http.ReadResponse(cn.br, &http.Request{Method: method})
	if err != nil {
		return 0, nil, nil, false, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, res.Header, b, !res.Close, err
}

// get takes an idle connection (reused), or dials one.
func (w *wire) get(ctx context.Context) (cn *wireConn, reused bool, err error) {
	w.mu.Lock()
	if n := len(w.idle); n > 0 {
		cn := w.idle[n-1]
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		return cn, true, nil
	}
	w.mu.Unlock()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", w.addr)
	if err != nil {
		return nil, false, err
	}
	return &wireConn{nc: nc, br: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 16<<10)}, false, nil
}

func (w *wire) put(cn *wireConn) {
	w.mu.Lock()
	w.idle = append(w.idle, cn)
	w.mu.Unlock()
}
