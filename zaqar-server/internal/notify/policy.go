package notify

import (
	"encoding/json"
	"math"
	"time"
)

// retryPolicy is Zaqar's _retry_policy with its defaults
// (zaqar/common/consts.py).
type retryPolicy struct {
	RetriesWithNoDelay  int    `json:"retries_with_no_delay"`
	MinimumDelayRetries int    `json:"minimum_delay_retries"`
	MinimumDelay        int    `json:"minimum_delay"`
	MaximumDelay        int    `json:"maximum_delay"`
	MaximumDelayRetries int    `json:"maximum_delay_retries"`
	BackoffFunction     string `json:"retry_backoff_function"`
	IgnoreOverride      bool   `json:"ignore_subscription_override"`
}

func defaultPolicy() retryPolicy {
	return retryPolicy{RetriesWithNoDelay: 3, MinimumDelayRetries: 3, MinimumDelay: 5,
		MaximumDelay: 30, MaximumDelayRetries: 3, BackoffFunction: "linear"}
}

// policyFrom decodes a policy document over the defaults; anything
// malformed falls back to the defaults (documents were validated on write).
func policyFrom(doc any) (retryPolicy, bool) {
	m, ok := doc.(map[string]any)
	if !ok || len(m) == 0 {
		return defaultPolicy(), false
	}
	p := defaultPolicy()
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, &p); err != nil {
		return defaultPolicy(), false
	}
	return p, true
}

// choosePolicy picks between the subscription's and the queue's policy as
// Zaqar's webhook task does.
func choosePolicy(subDoc, queueDoc any) retryPolicy {
	sub, hasSub := policyFrom(subDoc)
	queue, hasQueue := policyFrom(queueDoc)
	switch {
	case (hasSub && sub.IgnoreOverride) || (hasQueue && queue.IgnoreOverride):
		return queue
	case hasSub:
		return sub
	}
	return queue
}

// delays returns the waits before each retry: zero for immediate retries,
// then the minimum delay, the backoff sequence and the maximum delay.
func (p retryPolicy) delays() []time.Duration {
	var out []time.Duration
	add := func(n int, secs int) {
		for i := 0; i < n; i++ {
			out = append(out, time.Duration(secs)*time.Second)
		}
	}
	add(p.RetriesWithNoDelay, 0)
	add(p.MinimumDelayRetries, p.MinimumDelay)
	for _, s := range backoff(p.BackoffFunction, p.MinimumDelay, p.MaximumDelay, 5) {
		add(1, s)
	}
	add(p.MaximumDelayRetries, p.MaximumDelay)
	return out
}

// backoff reproduces zaqar/notification/tasks/webhook.py's sequences.
func backoff(fn string, min, max, times int) []int {
	if min <= 0 || max <= min || times <= 0 {
		return nil
	}
	var out []int
	xmax := (max - min) / times
	switch fn {
	case "geometric", "exponential":
		if xmax < 2 {
			return nil
		}
		k := math.Pow(10, math.Log10(float64(max)/float64(min))/float64(xmax-1))
		for a := 1; a <= xmax; a++ {
			if fn == "geometric" {
				out = append(out, int(float64(min)*math.Pow(k, float64(a-1))))
			} else {
				out = append(out, int(float64(min)/k*math.Pow(k, float64(a))))
			}
		}
	case "arithmetic":
		if xmax < 2 {
			return nil
		}
		d := 2.0 * float64(max-min) / float64(xmax*(xmax-1))
		for a := 1; a <= xmax; a++ {
			out = append(out, int(float64(min)+float64((a-1)*a)*d/2))
		}
	default: // linear: range(min, max, times)
		for s := min; s < max; s += times {
			out = append(out, s)
		}
	}
	return out
}
