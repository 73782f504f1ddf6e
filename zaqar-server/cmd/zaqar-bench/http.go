package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const clientID = "3381af92-2b9e-11e3-b191-71861300734c"

// client speaks Zaqar's HTTP API with keep-alive connections, or a new
// connection per request with -no-keepalive (for servers that close after
// each answer, such as uwsgi's --http-socket: reusing their connections
// fails).
type client struct {
	base string
	http *http.Client
	// wire carries the requests to plain-http endpoints with keep-alive
	// (nil: http does).
	wire *wire
	// headers are sent with every request, by either client (name, value
	// pairs).
	headers []string
}

func newClient(c config) *client {
	conns := c.producers + c.consumers + c.listers + c.churn + 4
	cl := &client{base: strings.TrimRight(c.endpoint, "/"),
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
			DisableKeepAlives: c.noKeepAlive}}}
	if !c.noKeepAlive && !c.netHTTP {
		cl.wire = newWire(cl.base)
	}
	cl.headers = []string{"Client-ID", clientID, "X-Project-ID", c.project, "Content-Type", "application/json"}
	if c.token != "" {
		cl.headers = append(cl.headers, "X-Auth-Token", c.token)
	}
	return cl
}

// do sends a request and returns status and body; err only for transport failures.
func (c *client) do(ctx context.Context, method, path string, body []byte) (int, http.Header, []byte, error) {
	if c.wire != nil {
		return c.wire.do(ctx, method, path, c.headers, body)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	for i := 0; i+1 < len(c.headers); i += 2 {
		req.Header.Set(c.headers[i], c.headers[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b, err
}

func (c *client) deleteQueue(ctx context.Context, q string) {
	c.do(ctx, "DELETE", "/v2/queues/"+q, nil)
}

// queueTotal asks the server how many messages q holds, claimed or not.
func (c *client) queueTotal(ctx context.Context, q string) (int64, error) {
	status, _, body, err := c.do(ctx, "GET", "/v2/queues/"+q+"/stats", nil)
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("GET /v2/queues/%s/stats: status %d: %s", q, status, truncate(string(body), 200))
	}
	var doc struct {
		Messages *struct {
			Total *int64 `json:"total"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Messages == nil || doc.Messages.Total == nil {
		return 0, fmt.Errorf("GET /v2/queues/%s/stats: no messages.total in %s", q, truncate(string(body), 200))
	}
	return *doc.Messages.Total, nil
}

func pad(size int) string {
	if size <= 30 {
		return ""
	}
	return strings.Repeat("x", size-30)
}

// postBody builds {"messages": [...]} with sequence numbers from seq,
// stamped with the time now (to be sent at once).
func postBody(producer int, seq int64, n, size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"messages":[`)
	p := pad(size)
	sent := time.Now().UnixNano()
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		body, _ := json.Marshal(payload{P: producer, S: seq + int64(i), T: sent, Pad: p})
		fmt.Fprintf(&b, `{"ttl":3600,"body":%s}`, body)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// failed records a failed request under its status (or "transport") with
// the server's answer or the transport error as detail. After a transport
// error it pauses a little: nothing was served, and a dead endpoint
// would otherwise be hammered in a tight loop.
func failed(rec *recorder, op string, status int, body []byte, err error) {
	if err != nil {
		rec.fail(op, "transport", err.Error())
		time.Sleep(10 * time.Millisecond)
		return
	}
	rec.fail(op, strconv.Itoa(status), string(body))
}

// produceHTTP posts until until ends. Requests run under ctx, not until, so
// a post in flight when the time is up still completes and is counted:
// otherwise the server could store a message the checker never heard of.
//
// With -rate, each of the c.producers HTTP producers posts on its own
// schedule, c.producers*c.batch/c.rate apart, offset from the others so
// the posts spread evenly; a producer that falls behind posts at once but
// does not catch up with a burst.
func produceHTTP(ctx, until context.Context, cl *client, rec *recorder, chk *checker, q string, id int, c config, ceiling bool) {
	var seq int64 = 1
	path := "/v2/queues/" + q + "/messages"
	var every time.Duration
	var next time.Time
	if c.rate > 0 && !ceiling {
		every = time.Duration(float64(time.Second) * float64(c.producers*c.batch) / c.rate)
		next = time.Now().Add(every * time.Duration(id) / time.Duration(c.producers))
	}
	for until.Err() == nil {
		if every > 0 {
			if !sleepUntil(until, next) {
				return
			}
			next = next.Add(every)
			if now := time.Now(); next.Before(now) {
				next = now
			}
		}
		body := postBody(id, seq, c.batch, c.msgSize)
		start := time.Now()
		status, _, answer, err := cl.do(ctx, "POST", path, body)
		d := time.Since(start)
		if ctx.Err() != nil {
			return // interrupted
		}
		if err != nil || status != http.StatusCreated {
			failed(rec, "post", status, answer, err)
			continue
		}
		rec.ok("post", d, c.batch)
		if !ceiling {
			chk.posted(id, c.batch)
		}
		seq += int64(c.batch)
	}
}

// sleepUntil waits for t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

type claimedMessage struct {
	Href string          `json:"href"`
	Body json.RawMessage `json:"body"`
}

func consumeHTTP(ctx context.Context, cl *client, rec *recorder, chk *checker, q string, id int, c config, idle chan<- string) {
	claimPath := fmt.Sprintf("/v2/queues/%s/claims?limit=%d", q, c.claimLimit)
	if c.wait > 0 {
		claimPath += fmt.Sprintf("&wait=%d", c.wait)
	}
	claimBody := []byte(fmt.Sprintf(`{"ttl":%d,"grace":60}`, c.claimTTL))
	empties := 0
	told := false
	for ctx.Err() == nil {
		start := time.Now()
		status, _, body, err := cl.do(ctx, "POST", claimPath, claimBody)
		d := time.Since(start)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil && status == http.StatusNoContent:
			rec.ok("claim", d, 0)
			empties++
			if empties >= 2 && !told && producersDone(rec) {
				idle <- q
				told = true
			}
			if c.wait == 0 {
				time.Sleep(c.poll)
			}
			continue
		case err != nil || status != http.StatusCreated:
			failed(rec, "claim", status, body, err)
			continue
		}
		empties = 0
		var doc struct{ Messages []claimedMessage }
		if err := json.Unmarshal(body, &doc); err != nil {
			rec.fail("claim", "bad-json", err.Error())
			continue
		}
		rec.ok("claim", d, len(doc.Messages))
		bodies := make([]json.RawMessage, len(doc.Messages))
		for i, m := range doc.Messages {
			bodies[i] = m.Body
		}
		keys := chk.claimedBatch(id, bodies, start)
		for i, m := range doc.Messages {
			if ctx.Err() != nil {
				return
			}
			// A delete under way when the drain ends completes, so that
			// the checker knows whether the message is gone.
			start := time.Now()
			status, _, answer, err := cl.do(context.WithoutCancel(ctx), "DELETE", m.Href, nil)
			if err != nil || status != http.StatusNoContent {
				failed(rec, "delete", status, answer, err)
				continue
			}
			rec.ok("delete", time.Since(start), 1)
			if i < len(keys) {
				chk.deleted(keys[i])
			}
		}
	}
}

// producersDone is set by load when the producing phase is over.
func producersDone(rec *recorder) bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return !rec.producing
}

func listHTTP(ctx context.Context, cl *client, rec *recorder, chk *checker, q string, c config) {
	for ctx.Err() == nil {
		next := "/v2/queues/" + q + "/messages?echo=true&include_claimed=true&limit=20"
		last := map[int]int64{}
		for next != "" && ctx.Err() == nil {
			start := time.Now()
			status, _, body, err := cl.do(ctx, "GET", next, nil)
			d := time.Since(start)
			if ctx.Err() != nil {
				return
			}
			if err != nil || status != http.StatusOK {
				failed(rec, "list", status, body, err)
				break
			}
			var doc struct {
				Messages []claimedMessage
				Links    []struct{ Href string }
			}
			json.Unmarshal(body, &doc)
			rec.ok("list", d, len(doc.Messages))
			bodies := make([]json.RawMessage, len(doc.Messages))
			for i, m := range doc.Messages {
				bodies[i] = m.Body
			}
			chk.listedPage(bodies, last)
			next = ""
			if len(doc.Messages) > 0 && len(doc.Links) > 0 {
				next = doc.Links[0].Href
			}
		}
	}
}

func churnHTTP(ctx context.Context, cl *client, rec *recorder, runID string, id int) {
	for i := 0; ctx.Err() == nil; i++ {
		q := fmt.Sprintf("/v2/queues/churn-%s-%d-%d", runID, id, i)
		start := time.Now()
		status, _, answer, err := cl.do(ctx, "PUT", q, nil)
		if ctx.Err() != nil {
			return
		}
		if err != nil || (status != http.StatusCreated && status != http.StatusNoContent) {
			failed(rec, "queue-create", status, answer, err)
			continue
		}
		rec.ok("queue-create", time.Since(start), 0)
		start = time.Now()
		// Completed even when the run ends meanwhile: the queue goes, and
		// a cancelled request is not counted as a failure.
		status, _, answer, err = cl.do(context.WithoutCancel(ctx), "DELETE", q, nil)
		if err != nil || status != http.StatusNoContent {
			failed(rec, "queue-delete", status, answer, err)
			continue
		}
		rec.ok("queue-delete", time.Since(start), 0)
	}
}
