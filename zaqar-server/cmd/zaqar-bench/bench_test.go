package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/ws"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 500 * time.Millisecond}, {90, 900 * time.Millisecond}, {99, 990 * time.Millisecond}, {100, time.Second}} {
		got := h.percentile(tc.p)
		if d := float64(got-tc.want) / float64(tc.want); d < -0.02 || d > 0.02 {
			t.Errorf("p%.0f = %v, want %v within 2%%", tc.p, got, tc.want)
		}
	}
	if h.max != time.Second || h.n != 1000 {
		t.Errorf("max %v n %d", h.max, h.n)
	}
}

func raw(p int, s int64) json.RawMessage {
	b, _ := json.Marshal(payload{P: p, S: s})
	return b
}

func TestChecker(t *testing.T) {
	c := newChecker(time.Minute)
	c.posted(1, 3)
	now := time.Now()
	keys := c.claimedBatch(7, []json.RawMessage{raw(1, 1), raw(1, 2)}, now)
	// Handed out again while the first claim is live: a duplicate.
	c.claimedBatch(8, []json.RawMessage{raw(1, 2)}, now.Add(time.Second))
	// Consumer 7 then sees an older message for the first time: out of order.
	c.claimedBatch(7, []json.RawMessage{raw(1, 3), raw(1, 0)}, now.Add(2*time.Second))
	for _, k := range keys {
		c.deleted(k)
	}
	if dups, ooo := c.anomalies(); dups != 1 || ooo != 1 {
		t.Errorf("anomalies = %d duplicates, %d out of order; want 1 and 1", dups, ooo)
	}
	if p, done := c.totals(); p != 3 || done != 2 {
		t.Errorf("totals = %d produced, %d consumed", p, done)
	}
	// A redelivery after the claim expired is not a duplicate.
	c2 := newChecker(time.Second)
	c2.claimedBatch(1, []json.RawMessage{raw(1, 1)}, now)
	c2.claimedBatch(2, []json.RawMessage{raw(1, 1)}, now.Add(5*time.Second))
	if dups, _ := c2.anomalies(); dups != 0 {
		t.Errorf("redelivery after expiry counted as duplicate")
	}
}

// TestLoadAgainstServer runs a short mixed load against our real handler,
// with the lean client and with net/http, and requires a clean bill:
// everything produced is consumed exactly once.
func TestLoadAgainstServer(t *testing.T) {
	svc := service.New(memory.New(), service.Options{Limits: zaqar.DefaultLimits(), Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(rest.New(svc, rest.Options{}))
	defer srv.Close()
	for _, netHTTP := range []bool{false, true} {
		t.Run(fmt.Sprintf("net-http=%v", netHTTP), func(t *testing.T) {
			c := config{endpoint: srv.URL, project: fmt.Sprintf("bench-test-%v", netHTTP), producers: 3, consumers: 3, listers: 1, churn: 1,
				batch: 2, msgSize: 100, claimLimit: 5, claimTTL: 60, queues: 2, duration: 700 * time.Millisecond,
				drain: 10 * time.Second, jsonOnly: true, netHTTP: netHTTP}
			rep, err := load(t.Context(), c, false)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Produced == 0 || rep.Lost != 0 || rep.Duplicated != 0 || rep.OutOfOrder != 0 || rep.Consumed != rep.Produced ||
				rep.OnServer != 0 || rep.Undrained != 0 || rep.FailedRequests != 0 {
				t.Errorf("report = %+v", rep)
			}
			for _, op := range []string{"post", "claim", "delete", "list", "queue-create"} {
				if rep.Ops[op].Requests == 0 || len(rep.Ops[op].Errors) > 0 {
					t.Errorf("%s: %+v", op, rep.Ops[op])
				}
			}
		})
	}
}

// TestWebSocketLoad posts over WebSocket with a window of requests in
// flight on each connection and consumes over WebSocket: the replies must
// be matched to their requests (nothing miscounted), everything produced
// consumed once.
func TestWebSocketLoad(t *testing.T) {
	svc := service.New(memory.New(), service.Options{Limits: zaqar.DefaultLimits(), Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(rest.New(svc, rest.Options{}))
	defer srv.Close()
	wsrv := httptest.NewServer(ws.New(svc, ws.Options{}))
	defer wsrv.Close()
	c := config{endpoint: srv.URL, wsEndpoint: "ws" + strings.TrimPrefix(wsrv.URL, "http"), project: "bench-ws",
		wsProducers: 2, wsWindow: 8, wsConsumers: 2, wsIdle: 20, batch: 3, msgSize: 50, claimLimit: 5, claimTTL: 60, queues: 1,
		duration: 700 * time.Millisecond, drain: 10 * time.Second, jsonOnly: true}
	rep, err := load(t.Context(), c, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Produced == 0 || rep.Lost != 0 || rep.Duplicated != 0 || rep.OutOfOrder != 0 || rep.Consumed != rep.Produced {
		t.Errorf("report = %+v", rep)
	}
	if post := rep.Ops["ws-post"]; post.Requests == 0 || len(post.Errors) > 0 || rep.Produced != 3*post.Requests {
		t.Errorf("ws-post: %+v", post)
	}
}

// TestLongPollLoad runs paced producers against one server and
// long-polling consumers against another on the same store (two API
// nodes): each flag must take effect, everything produced be consumed once
// and every first delivery be timed.
func TestLongPollLoad(t *testing.T) {
	store := memory.New()
	var posts, claims [2]atomic.Int64
	node := func(i int) *httptest.Server {
		svc := service.New(store, service.Options{Limits: zaqar.DefaultLimits(), Logger: slog.New(slog.DiscardHandler)})
		h := rest.New(svc, rest.Options{})
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages"):
				posts[i].Add(1)
			case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/claims"):
				if r.URL.Query().Get("wait") != "5" {
					t.Errorf("claim without wait=5: %s", r.URL)
				}
				claims[i].Add(1)
			}
			h.ServeHTTP(w, r)
		}))
	}
	a, b := node(0), node(1)
	defer a.Close()
	defer b.Close()
	const rate, secs = 40.0, 1.0
	c := config{endpoint: a.URL, consumerEndpoint: b.URL, project: "bench-longpoll", producers: 2, rate: rate, consumers: 3,
		wait: 5, batch: 1, msgSize: 50, claimLimit: 5, claimTTL: 60, queues: 1, duration: time.Duration(secs * float64(time.Second)),
		drain: 20 * time.Second, jsonOnly: true}
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	rep, err := load(t.Context(), c, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Produced == 0 || rep.Lost != 0 || rep.Duplicated != 0 || rep.OutOfOrder != 0 || rep.Consumed != rep.Produced {
		t.Errorf("report = %+v", rep)
	}
	// The schedule allows at most rate*secs posts, plus one per producer
	// at the start.
	if max := int64(rate*secs) + int64(c.producers); rep.Produced > max {
		t.Errorf("produced %d messages at -rate %v for %vs, want at most %d", rep.Produced, rate, secs, max)
	}
	if d := rep.Delivery; d == nil || d.Requests != rep.Consumed || d.P50 <= 0 || d.Max < d.P50 {
		t.Errorf("delivery = %+v, want one latency per message consumed (%d)", d, rep.Consumed)
	}
	if rep.RequestsPerMessage < 2 { // a post and a delete each, at least
		t.Errorf("requests per message = %v", rep.RequestsPerMessage)
	}
	if posts[0].Load() == 0 || posts[1].Load() != 0 || claims[0].Load() != 0 || claims[1].Load() == 0 {
		t.Errorf("posts per node %d/%d, claims per node %d/%d: want posts on the -endpoint only, claims on -consumer-endpoint only",
			posts[0].Load(), posts[1].Load(), claims[0].Load(), claims[1].Load())
	}
}

func TestConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    config
		ok   bool
	}{
		{"defaults", config{producers: 8}, true},
		{"rate", config{producers: 1, rate: 10}, true},
		{"negative rate", config{producers: 1, rate: -1}, false},
		{"rate without producers", config{rate: 10, wsProducers: 1}, false},
		{"negative wait", config{producers: 1, wait: -1}, false},
		{"consumer endpoint without consumers", config{producers: 1, consumerEndpoint: "http://x"}, false},
		{"consumer endpoint", config{producers: 1, consumers: 1, consumerEndpoint: "http://x"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.c.check(); (err == nil) != tc.ok {
				t.Errorf("check() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
