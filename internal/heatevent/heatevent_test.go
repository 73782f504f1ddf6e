package heatevent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

const captures = "../../../shared/reference/heat-captures"

// capturedMessages returns the Zaqar messages Heat posted in a capture.
func capturedMessages(t *testing.T, file, field string) []json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(captures, file))
	if err != nil {
		t.Skipf("capture: %v", err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var msgs []struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(doc[field], &msgs); err != nil {
		t.Fatalf("%s %s: %v", file, field, err)
	}
	out := make([]json.RawMessage, len(msgs))
	for i, m := range msgs {
		out[i] = m.Body
	}
	return out
}

func TestDecodeCaptures(t *testing.T) {
	for _, c := range []struct{ file, field string }{
		{"heat-sink-messages.json", "messages"},
		{"heat-hook-messages.json", "messages"},
		{"heat-hook-nested.json", "sink_messages"},
	} {
		bodies := capturedMessages(t, c.file, c.field)
		if len(bodies) == 0 {
			t.Fatalf("%s: no messages", c.file)
		}
		nullPhysical := 0
		for i, b := range bodies {
			e, err := Decode(b)
			if err != nil {
				t.Fatalf("%s message %d: %v", c.file, i, err)
			}
			if e.Version != EventVersion || e.Payload.Version != EventVersion || e.Payload.StackID == "" || e.Payload.ResourceType == "" {
				t.Errorf("%s message %d: %+v", c.file, i, e)
			}
			if _, err := e.Time(); err != nil {
				t.Errorf("%s message %d: timestamp %q: %v", c.file, i, e.Timestamp, err)
			}
			if e.Payload.PhysicalResourceID == nil {
				nullPhysical++
			}
			// Our encoding of the decoded event carries the same JSON.
			again, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			var a, b2 any
			json.Unmarshal(b, &a)
			json.Unmarshal(again, &b2)
			if ja, _ := json.Marshal(a); string(ja) != func() string { jb, _ := json.Marshal(b2); return string(jb) }() {
				t.Errorf("%s message %d: re-encoded\n%s\nwant\n%s", c.file, i, again, b)
			}
		}
		if c.file == "heat-hook-messages.json" && nullPhysical == 0 {
			t.Errorf("%s: expected pre-create hook events with a null physical_resource_id", c.file)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, body := range []string{
		`[]`,
		`{"type": "other", "id": "x", "payload": {"resource_action": "CREATE", "resource_status": "COMPLETE"}}`,
		`{"type": "os.heat.event", "payload": {"resource_action": "CREATE", "resource_status": "COMPLETE"}}`,
		`{"type": "os.heat.event", "id": "x", "payload": {}}`,
	} {
		if _, err := Decode([]byte(body)); err == nil {
			t.Errorf("Decode(%s) succeeded", body)
		}
	}
}

func TestSplitStatus(t *testing.T) {
	for in, want := range map[string][2]string{
		"CREATE_IN_PROGRESS": {"CREATE", "IN_PROGRESS"},
		"INIT_COMPLETE":      {"INIT", "COMPLETE"},
		"ROLLBACK_FAILED":    {"ROLLBACK", "FAILED"},
		"SNAPSHOT_COMPLETE":  {"SNAPSHOT", "COMPLETE"},
	} {
		a, s, ok := SplitStatus(in)
		if !ok || a != want[0] || s != want[1] {
			t.Errorf("SplitStatus(%q) = %q, %q, %v", in, a, s, ok)
		}
	}
	if _, _, ok := SplitStatus("COMPLETE"); ok {
		t.Error("SplitStatus(COMPLETE) ok")
	}
}
