package emit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/zaqar-go/suite/internal/heatevent"
)

const captures = "../../../shared/reference/heat-captures"

func readCapture(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(captures, name))
	if err != nil {
		t.Skipf("capture %s: %v", name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

type sinkMessage struct {
	Body heatevent.Event `json:"body"`
}

// TestConvertMatchesHeat converts the events API view of sink-demo
// (heat-sink-events.json; resource_type and resource_properties, which
// only the single-event GET has, taken from the message) and compares with
// the message Heat's sink posted for the same event: equal but for the
// timestamp's microseconds.
func TestConvertMatchesHeat(t *testing.T) {
	var api struct {
		Events []apiEvent `json:"events"`
	}
	var sink struct {
		Messages []sinkMessage `json:"messages"`
	}
	readCapture(t, "heat-sink-events.json", &api)
	readCapture(t, "heat-sink-messages.json", &sink)
	byID := map[string]heatevent.Event{}
	for _, m := range sink.Messages {
		byID[m.Body.ID] = m.Body
	}
	if len(api.Events) < 12 {
		t.Fatalf("%d events in the capture", len(api.Events))
	}
	for _, e := range api.Events {
		want, ok := byID[e.ID]
		if !ok {
			t.Fatalf("event %s has no sink message", e.ID)
		}
		e.ResourceType = want.Payload.ResourceType
		e.ResourceProperties = want.Payload.ResourceProperties
		got, err := convert(e)
		if err != nil {
			t.Fatal(err)
		}
		if got.Timestamp != want.Timestamp[:19] {
			t.Errorf("event %s timestamp %s, want %s", e.ID, got.Timestamp, want.Timestamp[:19])
		}
		got.Timestamp = want.Timestamp
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("event %s:\n got %s\nwant %s", e.ID, g, w)
		}
	}
}

// TestSentByHeat: of the hook-demo events the API listed, exactly those
// Heat's sink posted pass the filter (the "Hook ... is cleared" ones do
// not).
func TestSentByHeat(t *testing.T) {
	var trace struct {
		Trace []struct {
			Step   string     `json:"step"`
			Events []apiEvent `json:"events"`
		} `json:"trace"`
	}
	var sink struct {
		Messages []sinkMessage `json:"messages"`
	}
	readCapture(t, "heat-hook-trace.json", &trace)
	readCapture(t, "heat-hook-messages.json", &sink)
	posted := map[string]bool{}
	for _, m := range sink.Messages {
		posted[m.Body.ID] = true
	}
	checked, skipped := 0, 0
	for _, step := range trace.Trace {
		for _, e := range step.Events {
			checked++
			if sentByHeat(e) != posted[e.ID] {
				t.Errorf("event %s %q: sentByHeat = %v, Heat posted it: %v", e.ID, e.ResourceStatusReason, sentByHeat(e), posted[e.ID])
			}
			if !sentByHeat(e) {
				skipped++
			}
		}
	}
	if checked < 24 || skipped == 0 {
		t.Errorf("checked %d events, %d skipped", checked, skipped)
	}
	signal := apiEvent{ResourceStatus: "SIGNAL_COMPLETE", ResourceStatusReason: "Signal: deployment succeeded"}
	if sentByHeat(signal) {
		t.Error("SIGNAL events are not sent by Heat")
	}
}

func TestNullPhysicalResourceID(t *testing.T) {
	empty := ""
	for _, p := range []*string{nil, &empty} {
		e := apiEvent{ID: "x", EventTime: "2026-11-24T21:14:40Z", ResourceStatus: "INIT_COMPLETE",
			Links: []gophercloud.Link{{Href: "http://h/v1/p/stacks/s/id1", Rel: "stack"}}, PhysicalResourceID: p}
		got, err := convert(e)
		if err != nil {
			t.Fatal(err)
		}
		if got.Payload.PhysicalResourceID != nil || got.Payload.StackID != "id1" || got.Timestamp != "2026-11-24T21:14:40" ||
			got.Payload.ResourceProperties == nil {
			t.Errorf("convert = %+v", got)
		}
	}
}

func TestListQuery(t *testing.T) {
	o := listOpts{NestedDepth: 2}
	o.Marker, o.Limit, o.SortDir = "m1", 100, "asc"
	q, err := o.ToStackEventListQuery()
	if err != nil {
		t.Fatal(err)
	}
	if want := "?limit=100&marker=m1&nested_depth=2&sort_dir=asc"; q != want {
		t.Errorf("query = %s, want %s", q, want)
	}
}
