package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// wsConn is one WebSocket connection speaking Zaqar's JSON protocol; one
// request at a time, so replies match requests.
type wsConn struct {
	c       *websocket.Conn
	headers map[string]string
}

func dialWS(ctx context.Context, c config) (*wsConn, error) {
	conn, _, err := websocket.Dial(ctx, c.wsEndpoint, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(16 << 20)
	w := &wsConn{c: conn, headers: map[string]string{"Client-ID": clientID, "X-Project-ID": c.project}}
	if c.token != "" {
		status, _, err := w.call(ctx, "authenticate", map[string]any{}, map[string]string{"X-Auth-Token": c.token})
		if err != nil || status != 200 {
			conn.Close(websocket.StatusNormalClosure, "")
			return nil, fmt.Errorf("authenticate: status %d: %v", status, err)
		}
	}
	return w, nil
}

func (w *wsConn) call(ctx context.Context, action string, body any, extra map[string]string) (int, json.RawMessage, error) {
	if err := w.send(ctx, action, body, extra); err != nil {
		return 0, nil, err
	}
	return w.reply(ctx)
}

// send writes one request; replies come back in request order (the
// server answers a connection's requests one after another).
func (w *wsConn) send(ctx context.Context, action string, body any, extra map[string]string) error {
	headers := map[string]string{}
	for k, v := range w.headers {
		headers[k] = v
	}
	for k, v := range extra {
		headers[k] = v
	}
	req, _ := json.Marshal(map[string]any{"action": action, "headers": headers, "body": body})
	return w.c.Write(ctx, websocket.MessageText, req)
}

// reply reads the answer to the oldest request not yet answered.
func (w *wsConn) reply(ctx context.Context) (int, json.RawMessage, error) {
	_, data, err := w.c.Read(ctx)
	if err != nil {
		return 0, nil, err
	}
	var res struct {
		Headers struct{ Status int } `json:"headers"`
		Body    json.RawMessage      `json:"body"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return 0, nil, err
	}
	return res.Headers.Status, res.Body, nil
}

// produceWS posts over one connection with up to -ws-window requests in
// flight: a reader goroutine takes the replies in order while this one
// keeps writing, so one connection is not bound by its round trip.
func produceWS(ctx, until context.Context, c config, rec *recorder, chk *checker, q string, id int) {
	w, err := dialWS(ctx, c)
	if err != nil {
		rec.fail("ws-post", "dial", err.Error())
		return
	}
	defer w.c.Close(websocket.StatusNormalClosure, "")
	inflight := make(chan time.Time, max(c.wsWindow, 1)) // send times, oldest first
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for start := range inflight {
			status, answer, err := w.reply(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil || status != 201 {
				failedWS(rec, "ws-post", status, answer, err)
				if err != nil {
					return
				}
				continue
			}
			rec.ok("ws-post", time.Since(start), c.batch)
			chk.posted(id, c.batch)
		}
	}()
	var seq int64 = 1
	p := pad(c.msgSize)
	for until.Err() == nil {
		msgs := make([]map[string]any, c.batch)
		sent := time.Now().UnixNano()
		for i := range msgs {
			msgs[i] = map[string]any{"ttl": 3600, "body": payload{P: id, S: seq + int64(i), T: sent, Pad: p}}
		}
		select {
		case inflight <- time.Now():
		case <-readerDone: // the connection failed
			return
		}
		if err := w.send(ctx, "message_post", map[string]any{"queue_name": q, "messages": msgs}, nil); err != nil {
			if ctx.Err() == nil {
				rec.fail("ws-post", "transport", err.Error())
			}
			break
		}
		seq += int64(c.batch)
	}
	close(inflight)
	<-readerDone
}

func consumeWS(ctx context.Context, c config, rec *recorder, chk *checker, q string, id int, idle chan<- string) {
	w, err := dialWS(ctx, c)
	if err != nil {
		rec.fail("ws-claim", "dial", err.Error())
		return
	}
	defer w.c.Close(websocket.StatusNormalClosure, "")
	empties, told := 0, false
	for ctx.Err() == nil {
		start := time.Now()
		status, body, err := w.call(ctx, "claim_create", map[string]any{"queue_name": q, "limit": c.claimLimit, "ttl": c.claimTTL, "grace": 60}, nil)
		d := time.Since(start)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			rec.fail("ws-claim", "transport", err.Error())
			return
		}
		if status == 204 {
			rec.ok("ws-claim", d, 0)
			if empties++; empties >= 2 && !told && producersDone(rec) {
				idle <- q
				told = true
			}
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if status != 201 {
			rec.fail("ws-claim", strconv.Itoa(status), string(body))
			continue
		}
		empties = 0
		var doc struct {
			ClaimID  string `json:"claim_id"`
			Messages []struct {
				ID   string          `json:"id"`
				Body json.RawMessage `json:"body"`
			}
		}
		json.Unmarshal(body, &doc)
		rec.ok("ws-claim", d, len(doc.Messages))
		bodies := make([]json.RawMessage, len(doc.Messages))
		for i, m := range doc.Messages {
			bodies[i] = m.Body
		}
		keys := chk.claimedBatch(id, bodies, start)
		for i, m := range doc.Messages {
			start := time.Now()
			status, answer, err := w.call(ctx, "message_delete", map[string]any{"queue_name": q, "message_id": m.ID, "claim_id": doc.ClaimID}, nil)
			if err != nil || status != 204 {
				failedWS(rec, "ws-delete", status, answer, err)
				continue
			}
			rec.ok("ws-delete", time.Since(start), 1)
			if i < len(keys) {
				chk.deleted(keys[i])
			}
		}
	}
}

func failedWS(rec *recorder, op string, status int, body []byte, err error) {
	if err != nil {
		rec.fail(op, "transport", err.Error())
		return
	}
	rec.fail(op, strconv.Itoa(status), string(body))
}

// openIdle opens c.wsIdle connections that only answer pings, 64 dials at
// a time.
func openIdle(ctx context.Context, c config) ([]*wsConn, error) {
	conns := make([]*wsConn, c.wsIdle)
	errs := make(chan error, c.wsIdle)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			w, err := dialWS(ctx, c)
			if err != nil {
				errs <- err
				return
			}
			w.c.CloseRead(context.WithoutCancel(ctx)) // answers pings, drops anything else
			conns[i] = w
		}()
	}
	wg.Wait()
	open := conns[:0]
	for _, w := range conns {
		if w != nil {
			open = append(open, w)
		}
	}
	select {
	case err := <-errs:
		return open, fmt.Errorf("idle WebSocket connections: %d of %d failed, first: %w", c.wsIdle-len(open), c.wsIdle, err)
	default:
	}
	return open, nil
}
