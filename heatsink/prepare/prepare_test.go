package prepare_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/queues"

	"github.com/zaqar-go/suite/heatsink/prepare"
	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/zaqartest"
)

// TestQueuesIdempotent runs against the real zaqar-server (started by the
// test, no auth).
func TestMain(m *testing.M) { zaqartest.Main(m) }

func TestQueuesIdempotent(t *testing.T) {
	c := cloud.NoAuth(zaqartest.Start(t, ""), "heatsink-prepare")
	ctx := t.Context()

	summary := func(rs []prepare.Result) string {
		var parts []string
		for _, r := range rs {
			parts = append(parts, fmt.Sprintf("%s %s %v", r.Queue, r.Action, r.Set))
		}
		return strings.Join(parts, "; ")
	}
	rs, err := prepare.Queues(ctx, c, []string{"events", "more"}, prepare.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	want := "events-dlq created []; events created [_dead_letter_queue _dead_letter_queue_messages_ttl _max_claim_count]; " +
		"more-dlq created []; more created [_dead_letter_queue _dead_letter_queue_messages_ttl _max_claim_count]"
	if got := summary(rs); got != want {
		t.Errorf("first run:\n%s\nwant\n%s", got, want)
	}
	rs, err = prepare.Queues(ctx, c, []string{"events"}, prepare.Defaults)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(rs), "events-dlq unchanged []; events unchanged []"; got != want {
		t.Errorf("second run: %s, want %s", got, want)
	}

	// An operator's own metadata stays; a changed setting is patched.
	err = queues.Update(ctx, c, "events", queues.BatchUpdateOpts{{Op: queues.AddOp, Path: "/metadata/owner", Value: "ops"}}).Err
	if err != nil {
		t.Fatal(err)
	}
	opts := prepare.Defaults
	opts.MaxClaimCount = 9
	rs, err = prepare.Queues(ctx, c, []string{"events"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(rs), "events-dlq unchanged []; events updated [_max_claim_count]"; got != want {
		t.Errorf("third run: %s, want %s", got, want)
	}
	var meta map[string]any
	if err := queues.Get(ctx, c, "events").ExtractInto(&meta); err != nil {
		t.Fatal(err)
	}
	if meta["owner"] != "ops" || meta["_max_claim_count"] != float64(9) || meta["_dead_letter_queue"] != "events-dlq" ||
		meta["_dead_letter_queue_messages_ttl"] != float64(1209600) {
		t.Errorf("metadata = %v", meta)
	}

	if _, err := prepare.Queues(ctx, c, []string{strings.Repeat("q", 62)}, prepare.Defaults); err == nil ||
		!strings.Contains(err.Error(), "choose a shorter suffix") {
		t.Errorf("62-character target: %v", err)
	}
	rs, err = prepare.Queues(ctx, c, []string{"plain"}, prepare.Options{})
	if err != nil || summary(rs) != "plain created []" {
		t.Errorf("without dead-letter queue: %s, %v", summary(rs), err)
	}
}
