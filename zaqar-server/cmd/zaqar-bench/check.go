package main

import (
	"encoding/json"
	"sync"
	"time"
)

// payload is every message's body: who produced it, its sequence number,
// when its post was sent (Unix nanoseconds, for the delivery latency), and
// padding up to -msg-size.
type payload struct {
	P   int    `json:"p"`
	S   int64  `json:"s"`
	T   int64  `json:"t,omitempty"`
	Pad string `json:"pad,omitempty"`
}

type key struct {
	p int
	s int64
}

// checker verifies delivery: nothing lost, nothing handed to two consumers
// while a claim on it is live, and each consumer sees a producer's messages
// in sequence (FIFO per queue), redeliveries after a claim expired aside.
type checker struct {
	claimTTL time.Duration
	mu       sync.Mutex
	produced map[int]int64     // producer -> messages acknowledged
	claimed  map[key]time.Time // message -> when its live claim ends
	done     map[key]bool      // deleted after processing
	lastSeq  map[[2]int]int64  // (consumer, producer) -> highest first-time seq seen
	dups     int64
	ooo      int64
	// delivery holds, for each message's first delivery, the time from
	// its post being sent to the claim carrying it being answered.
	delivery histogram
}

func newChecker(claimTTL time.Duration) *checker {
	return &checker{claimTTL: claimTTL, produced: map[int]int64{}, claimed: map[key]time.Time{},
		done: map[key]bool{}, lastSeq: map[[2]int]int64{}}
}

func (c *checker) posted(producer, n int) {
	c.mu.Lock()
	c.produced[producer] += int64(n)
	c.mu.Unlock()
}

// claimedBatch records the messages of one claim, in the order received;
// at is when the claim was sent.
func (c *checker) claimedBatch(consumer int, bodies []json.RawMessage, at time.Time) []key {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]key, 0, len(bodies))
	for _, b := range bodies {
		var p payload
		if json.Unmarshal(b, &p) != nil {
			continue
		}
		k := key{p.P, p.S}
		keys = append(keys, k)
		if until, ok := c.claimed[k]; ok && at.Before(until.Add(-time.Second)) {
			c.dups++ // handed out again while its first claim was live
		}
		redelivery := c.done[k] || !c.claimed[k].IsZero()
		c.claimed[k] = at.Add(c.claimTTL)
		if !redelivery && p.T > 0 {
			c.delivery.add(now.Sub(time.Unix(0, p.T)))
		}
		if !redelivery {
			ck := [2]int{consumer, p.P}
			if last, ok := c.lastSeq[ck]; ok && p.S < last {
				c.ooo++
			}
			if p.S > c.lastSeq[ck] {
				c.lastSeq[ck] = p.S
			}
		}
	}
	return keys
}

func (c *checker) deleted(k key) {
	c.mu.Lock()
	c.done[k] = true
	c.mu.Unlock()
}

// listedPage checks that one page of a listing is in sequence per producer.
func (c *checker) listedPage(bodies []json.RawMessage, last map[int]int64) {
	for _, b := range bodies {
		var p payload
		if json.Unmarshal(b, &p) != nil {
			continue
		}
		if prev, ok := last[p.P]; ok && p.S <= prev {
			c.mu.Lock()
			c.ooo++
			c.mu.Unlock()
		}
		last[p.P] = p.S
	}
}

// unconsumed counts the messages acknowledged to producers that no
// consumer deleted. A message stored although its post failed (an answer
// lost on the way) and then consumed makes up for one: that can hide a
// loss but never invents one.
func (c *checker) unconsumed() int64 {
	p, d := c.totals()
	return max(p-d, 0)
}

func (c *checker) totals() (produced, consumed int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.produced {
		produced += n
	}
	return produced, int64(len(c.done))
}

// deliveries summarises the delivery latencies (Requests: messages).
func (c *checker) deliveries() *OpReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := &c.delivery
	if h.n == 0 {
		return nil
	}
	return &OpReport{Requests: h.n, P50: ms(h.percentile(50)), P90: ms(h.percentile(90)), P99: ms(h.percentile(99)), Max: ms(h.max)}
}

func (c *checker) anomalies() (dups, ooo int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dups, c.ooo
}
