// Package prepare creates the queues that event sinks post to, with
// metadata for event traffic, through the Zaqar v2 API. Heat itself never
// creates them (Zaqar creates a queue lazily on the first post, without
// metadata).
//
// Each sink queue gets a dead-letter queue: a message whose claims expired
// MaxClaimCount times without the message being deleted (its listener
// action kept failing) moves there on the next claim, where an operator
// can look at it, instead of blocking or vanishing. Preparing is
// idempotent: existing queues keep their other metadata and only the keys
// prepare owns are set, with one PATCH when something differs.
package prepare

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"sort"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/queues"

	"github.com/zaqar-go/suite/internal/zaqarapi"
)

// Options are the metadata prepare sets. The zero value is not useful:
// start from Defaults.
type Options struct {
	MaxClaimCount    int    // _max_claim_count: claims before a message is dead-lettered
	DeadLetterSuffix string // the dead-letter queue is TARGET+suffix; "" for none
	DeadLetterTTL    int    // _dead_letter_queue_messages_ttl, seconds
}

// Defaults: five tries, then two weeks (Zaqar's maximum message TTL) in
// TARGET-dlq.
var Defaults = Options{MaxClaimCount: 5, DeadLetterSuffix: "-dlq", DeadLetterTTL: 1209600}

// Result says what happened to one queue.
type Result struct {
	Queue  string
	Action string   // "created", "updated" or "unchanged"
	Set    []string // the metadata keys written, sorted
}

var queueName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Queues prepares each target queue and its dead-letter queue, in order
// (the dead-letter queue first, so a target never names a queue that does
// not exist).
func Queues(ctx context.Context, c *gophercloud.ServiceClient, targets []string, o Options) ([]Result, error) {
	var out []Result
	for _, t := range targets {
		meta := map[string]any{}
		if o.DeadLetterSuffix != "" {
			dlq := t + o.DeadLetterSuffix
			if !queueName.MatchString(dlq) {
				return out, fmt.Errorf("dead-letter queue name %q for %q is not a valid queue name (at most 64 characters): choose a shorter suffix", dlq, t)
			}
			r, err := Queue(ctx, c, dlq, nil)
			if err != nil {
				return out, err
			}
			out = append(out, r)
			meta["_dead_letter_queue"] = dlq
			meta["_dead_letter_queue_messages_ttl"] = o.DeadLetterTTL
			meta["_max_claim_count"] = o.MaxClaimCount
		}
		r, err := Queue(ctx, c, t, meta)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Queue creates name with meta, or makes an existing queue's values for
// meta's keys equal to meta's, leaving its other keys alone.
func Queue(ctx context.Context, c *gophercloud.ServiceClient, name string, meta map[string]any) (Result, error) {
	if !queueName.MatchString(name) {
		return Result{}, fmt.Errorf("%q is not a valid queue name", name)
	}
	// Zaqar creates a new queue with meta and leaves an existing one's
	// metadata alone.
	created, err := zaqarapi.CreateQueue(ctx, c, name, meta).Extract()
	if err != nil {
		return Result{}, fmt.Errorf("create queue %s: %w", name, err)
	}
	if created {
		return Result{Queue: name, Action: "created", Set: keys(meta)}, nil
	}
	// Zaqar answers GET of a queue with its metadata only.
	var current map[string]any
	if err := queues.Get(ctx, c, name).ExtractInto(&current); err != nil {
		return Result{}, fmt.Errorf("get queue %s: %w", name, err)
	}
	var patch queues.BatchUpdateOpts
	var set []string
	for _, k := range keys(meta) {
		old, ok := current[k]
		if ok && equal(old, meta[k]) {
			continue
		}
		op := queues.AddOp
		if ok {
			op = queues.ReplaceOp
		}
		patch = append(patch, queues.UpdateOpts{Op: op, Path: "/metadata/" + k, Value: meta[k]})
		set = append(set, k)
	}
	if len(patch) == 0 {
		return Result{Queue: name, Action: "unchanged"}, nil
	}
	if err := queues.Update(ctx, c, name, patch).Err; err != nil {
		return Result{}, fmt.Errorf("update queue %s metadata: %w", name, err)
	}
	return Result{Queue: name, Action: "updated", Set: set}, nil
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// equal compares a decoded JSON value with ours (JSON numbers are float64).
func equal(got, want any) bool {
	if n, ok := want.(int); ok {
		f, ok := got.(float64)
		return ok && f == float64(n)
	}
	return reflect.DeepEqual(got, want)
}
