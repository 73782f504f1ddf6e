package env

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// captures is ../shared/reference/heat-captures, from the repository root.
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

// TestHeatErrorCases runs every malformed event_sinks environment that
// real Heat 19 was given (heat-sink-errors.json): each one Heat refused
// (400/500) or accepted and then dropped every event (201 but nothing in
// the queue) must be an error here; the one that worked must pass.
func TestHeatErrorCases(t *testing.T) {
	var capture struct {
		Cases []struct {
			Case string `json:"case"`
			Call *struct {
				Status      int `json:"status"`
				RequestBody struct {
					Environment json.RawMessage `json:"environment"`
				} `json:"request_body"`
			} `json:"call"`
			Messages *[]json.RawMessage `json:"messages"`
		} `json:"cases"`
	}
	readCapture(t, "heat-sink-errors.json", &capture)
	n := 0
	for _, c := range capture.Cases {
		if c.Call == nil {
			continue
		}
		n++
		t.Run(c.Case, func(t *testing.T) {
			doc := []byte(c.Call.RequestBody.Environment)
			var s string
			if json.Unmarshal(doc, &s) == nil {
				doc = []byte(s) // the environment sent as a YAML string
			}
			_, ps := Parse("env.yaml", doc)
			heatFailed := c.Call.Status >= 400 || strings.Contains(c.Case, "ttl") || strings.Contains(c.Case, "rejects")
			if heatFailed && ps.Err() == nil {
				t.Errorf("Parse(%s) found nothing; Heat answered %d and nothing landed", doc, c.Call.Status)
			}
			if !heatFailed && ps.Err() != nil {
				t.Errorf("Parse(%s) = %v; Heat accepted it and events landed", doc, ps)
			}
		})
	}
	if n < 8 {
		t.Fatalf("only %d cases in the capture", n)
	}
}

func TestCapturedEnvironment(t *testing.T) {
	var capture struct {
		Environment json.RawMessage `json:"environment"`
	}
	readCapture(t, "heat-sink-messages.json", &capture)
	e, ps := Parse("env.json", capture.Environment)
	if ps != nil {
		t.Fatalf("Parse: %v", ps)
	}
	if len(e.EventSinks) != 1 || e.EventSinks[0] != (Sink{Type: "zaqar-queue", Target: "heat-anchor-sink", TTL: 1200, Pos: e.EventSinks[0].Pos}) {
		t.Errorf("sinks = %+v", e.EventSinks)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []Sink // Pos ignored
		problems  []string
	}{
		{name: "empty file", doc: ""},
		{name: "comment only", doc: "# nothing\n"},
		{name: "default ttl", doc: "event_sinks:\n  - type: zaqar-queue\n    target: q\n",
			want: []Sink{{Type: "zaqar-queue", Target: "q", TTL: 3600}}},
		{name: "all sections", doc: `parameters: {a: 1}
parameter_defaults: {b: 2}
resource_registry:
  "OS::X": OS::Heat::None
  resources:
    web_*: {hooks: [pre-create, post-update]}
    child:
      inner: {hooks: pre-delete}
encrypted_param_names: []
parameter_merge_strategies: {default: merge}
event_sinks:
  - {type: zaqar-queue, target: events-1, ttl: 1200}
  - type: zaqar-queue
    target: events_2
    ttl: 60
`, want: []Sink{{Type: "zaqar-queue", Target: "events-1", TTL: 1200}, {Type: "zaqar-queue", Target: "events_2", TTL: 60}}},
		{name: "JSON", doc: `{"event_sinks": [{"type": "zaqar-queue", "target": "q", "ttl": 1209600}]}`,
			want: []Sink{{Type: "zaqar-queue", Target: "q", TTL: 1209600}}},
		{name: "wrong section with suggestion", doc: "event_sink: []\n",
			problems: []string{`env.yaml:1:1: environment has wrong section "event_sink" (Heat answers 400); did you mean "event_sinks"?`}},
		{name: "empty section", doc: "parameters: {}\nevent_sinks:\n",
			problems: []string{`env.yaml:2:1: environment has empty section "event_sinks" (Heat answers 400)`}},
		{name: "not a mapping", doc: "- a\n- b\n",
			problems: []string{"env.yaml:1:1: Environment not in valid format: The environment is not a valid YAML mapping data type. (Heat answers 400)"}},
		{name: "sinks as mapping", doc: "event_sinks:\n  type: zaqar-queue\n  target: q\n",
			problems: []string{"env.yaml:2:3: section \"event_sinks\" must be a list, not a mapping (Heat refuses the stack)"}},
		{name: "parameters as list", doc: "parameters: [a]\n",
			problems: []string{"env.yaml:1:13: section \"parameters\" must be a mapping, not a list (Heat refuses the stack)"}},
		{name: "string ttl", doc: "event_sinks:\n  - type: zaqar-queue\n    target: q\n    ttl: \"1200\"\n",
			problems: []string{`env.yaml:4:10: ttl must be an integer number of seconds, not the string "1200"`}},
		{name: "float ttl", doc: "event_sinks:\n  - {type: zaqar-queue, target: q, ttl: 1.5}\n",
			problems: []string{"env.yaml:2:41: ttl must be an integer number of seconds, not the float 1.5"}},
		{name: "ttl too small", doc: "event_sinks:\n  - {type: zaqar-queue, target: q, ttl: 59}\n",
			problems: []string{"env.yaml:2:41: ttl 59 is outside Zaqar's range 60..1209600"}},
		{name: "ttl too large", doc: "event_sinks:\n  - {type: zaqar-queue, target: q, ttl: 1209601}\n",
			problems: []string{"env.yaml:2:41: ttl 1209601 is outside Zaqar's range"}},
		{name: "bad queue name", doc: "event_sinks:\n  - {type: zaqar-queue, target: \"bad queue!\"}\n",
			problems: []string{`env.yaml:2:33: target "bad queue!" is not a valid Zaqar queue name`}},
		{name: "long queue name", doc: "event_sinks:\n  - {type: zaqar-queue, target: " + strings.Repeat("q", 65) + "}\n",
			problems: []string{"is not a valid Zaqar queue name"}},
		{name: "numeric target", doc: "event_sinks:\n  - {type: zaqar-queue, target: 123}\n",
			problems: []string{"target must be a queue name string, not 123"}},
		{name: "unknown type", doc: "event_sinks:\n  - {type: zaqar, target: q}\n",
			problems: []string{`env.yaml:2:12: unknown event sink type "zaqar": Heat ships only zaqar-queue (Heat answers 500, KeyError)`}},
		{name: "missing type", doc: "event_sinks:\n  - {target: q}\n",
			problems: []string{"env.yaml:2:5: event sink without type (Heat answers 500, KeyError)"}},
		{name: "missing target", doc: "event_sinks:\n  - {type: zaqar-queue}\n",
			problems: []string{"env.yaml:2:5: event sink without target, the queue name (Heat answers 400)"}},
		{name: "extra key", doc: "event_sinks:\n  - {type: zaqar-queue, target: q, foo: 1}\n",
			problems: []string{`env.yaml:2:36: unknown event sink key "foo": zaqar-queue takes only target and ttl (Heat answers 400)`}},
		{name: "entry not a mapping", doc: "event_sinks:\n  - zaqar-queue\n",
			problems: []string{"env.yaml:2:5: an event sink must be a mapping with type and target, not a scalar"}},
		{name: "duplicate section", doc: "event_sinks: []\nevent_sinks:\n  - {type: zaqar-queue, target: q}\n",
			want:     []Sink{{Type: "zaqar-queue", Target: "q", TTL: 3600}},
			problems: []string{`env.yaml:2:1: section "event_sinks" appears twice (first at line 1): Heat silently keeps only this one`}},
		{name: "bad hook", doc: "resource_registry:\n  resources:\n    a:\n      b: {hooks: [pre-create, pre-bogus]}\n",
			problems: []string{`env.yaml:4:31: invalid hook "pre-bogus"`}},
		{name: "bad YAML", doc: "event_sinks:\n  - type: zaqar-queue\n   target: q\n",
			problems: []string{"not valid YAML: did not find expected '-' indicator"}},
		{name: "two documents", doc: "parameters: {}\n---\nparameters: {}\n",
			problems: []string{"env.yaml:2:1: a second YAML document"}},
		{name: "several problems", doc: "event_sinks:\n  - {type: zaqar-queue, target: ok}\n  - {type: zaqar-queue, target: q, ttl: \"60\"}\nbogus: 1\n",
			want:     []Sink{{Type: "zaqar-queue", Target: "ok", TTL: 3600}},
			problems: []string{"env.yaml:3:41: ttl must be", `env.yaml:4:1: environment has wrong section "bogus"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, ps := Parse("env.yaml", []byte(tc.doc))
			if len(ps) != len(tc.problems) {
				t.Fatalf("Parse(%q) problems:\n%v\nwant %d: %q", tc.doc, ps, len(tc.problems), tc.problems)
			}
			for i, want := range tc.problems {
				if got := ps[i].Error(); !strings.Contains(got, want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, want)
				}
			}
			if tc.want == nil {
				if e != nil && len(e.EventSinks) != 0 {
					t.Errorf("sinks = %+v, want none", e.EventSinks)
				}
				return
			}
			if len(e.EventSinks) != len(tc.want) {
				t.Fatalf("sinks = %+v, want %+v", e.EventSinks, tc.want)
			}
			for i, s := range e.EventSinks {
				s.Pos = Pos{}
				if s != tc.want[i] {
					t.Errorf("sink %d = %+v, want %+v", i, s, tc.want[i])
				}
			}
		})
	}
}

func TestSinkPosition(t *testing.T) {
	e, ps := Parse("a.yml", []byte("parameters: {}\nevent_sinks:\n  - type: zaqar-queue\n    target: q\n"))
	if ps != nil {
		t.Fatal(ps)
	}
	if got := e.EventSinks[0].Pos.String(); got != "a.yml:3:5" {
		t.Errorf("sink position = %s, want a.yml:3:5", got)
	}
}

func TestMerge(t *testing.T) {
	parse := func(name, doc string) *Environment {
		e, ps := Parse(name, []byte(doc))
		if ps.Err() != nil {
			t.Fatal(ps)
		}
		return e
	}
	a := parse("a.yml", "event_sinks:\n  - {type: zaqar-queue, target: q1}\n")
	b := parse("b.yml", "parameters: {x: 1}\n")
	c := parse("c.yml", "parameters: {}\nevent_sinks: []\n")
	d := parse("d.yml", "event_sinks:\n  - {type: zaqar-queue, target: q1, ttl: 120}\n  - {type: zaqar-queue, target: q2}\n")

	sinks, ps := Merge(a, b)
	if ps != nil || len(sinks) != 1 || sinks[0].Target != "q1" {
		t.Errorf("Merge(a, b) = %+v, %v", sinks, ps)
	}
	// Two files with event_sinks, even an empty list: Heat's 400.
	_, ps = Merge(a, c)
	if ps.Err() == nil || !strings.Contains(ps.Error(), "c.yml:2:1: event_sinks is also in a.yml:1:1: Heat answers 400") {
		t.Errorf("Merge(a, c) problems = %v", ps)
	}
	sinks, ps = Merge(d)
	if ps.Err() != nil || len(sinks) != 2 {
		t.Errorf("Merge(d) = %+v, %v", sinks, ps)
	}
	d2 := parse("d2.yml", "event_sinks:\n  - {type: zaqar-queue, target: q1}\n  - {type: zaqar-queue, target: q1}\n")
	_, ps = Merge(d2)
	if ps.Err() != nil || len(ps.Warnings()) != 1 || !strings.Contains(ps[0].Error(), "d2.yml:3:5: warning: queue \"q1\" is also the target of the sink at d2.yml:2:5") {
		t.Errorf("Merge(d2) problems = %v", ps)
	}
	if got := Targets(sinks); strings.Join(got, ",") != "q1,q2" {
		t.Errorf("Targets = %v", got)
	}
}
