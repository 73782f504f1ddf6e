// Package env reads Heat environment files (environment.yml, `-e` files)
// as Heat's API does (heat/common/environment_format.py,
// heat/engine/environment.py) and reports, with file:line:column, both what
// Heat refuses and what Heat accepts and then silently fails on: an
// event_sinks entry with a string ttl, a ttl Zaqar refuses, a bad queue
// name or an unknown sink type lets the stack be created while no event
// ever reaches the queue (Heat logs sink failures at DEBUG only).
//
// It owns the event_sinks section; the other sections are checked only for
// the shape Heat requires, never rewritten.
package env

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/zaqar-go/suite/heatsink"
	"github.com/zaqar-go/suite/internal/heatevent"
)

// Sections are the top-level keys Heat allows, with the YAML kind each
// must have.
var Sections = map[string]yaml.Kind{
	"parameters":                 yaml.MappingNode,
	"parameter_defaults":         yaml.MappingNode,
	"resource_registry":          yaml.MappingNode,
	"encrypted_param_names":      yaml.SequenceNode,
	"event_sinks":                yaml.SequenceNode,
	"parameter_merge_strategies": yaml.MappingNode,
}

// Zaqar's message TTL range with its default configuration
// ([transport] max_message_ttl; the minimum is fixed).
const (
	MinTTL = 60
	MaxTTL = 1209600
)

var queueName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Pos is a place in an environment file.
type Pos struct {
	File         string
	Line, Column int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Problem is one finding. Warnings are legal for Heat and for Zaqar but
// probably not meant (the same queue named twice).
type Problem struct {
	Pos     Pos
	Msg     string
	Warning bool
}

func (p Problem) Error() string {
	if p.Warning {
		return p.Pos.String() + ": warning: " + p.Msg
	}
	return p.Pos.String() + ": " + p.Msg
}

// Problems is what Parse and Merge return; it is an error only when it
// holds something other than warnings (see Err).
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps as an error when it has at least one non-warning, nil
// otherwise.
func (ps Problems) Err() error {
	for _, p := range ps {
		if !p.Warning {
			return ps
		}
	}
	return nil
}

// Warnings returns the warnings of ps.
func (ps Problems) Warnings() Problems {
	var out Problems
	for _, p := range ps {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Sink is one event_sinks entry.
type Sink struct {
	Type   string
	Target string // the queue name
	TTL    int    // seconds; heatsink.DefaultTTL when the entry has none
	Pos    Pos
}

// Environment is one parsed environment file. Sections holds every
// top-level section as parsed, for callers that need more than the sinks.
type Environment struct {
	File       string
	Sections   map[string]*yaml.Node
	EventSinks []Sink
	// HasEventSinks is true when the file has an event_sinks key, even an
	// empty list: that is what makes Heat's merge of two -e files fail.
	HasEventSinks bool
	sinksPos      Pos
}

// ParseFile reads and parses the file at path.
func ParseFile(path string) (*Environment, Problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{Pos: Pos{File: path}, Msg: err.Error()}}
	}
	return Parse(path, data)
}

// Parse parses data read from file (the name is only used in positions).
// The Environment is nil when the document could not be read at all; the
// Problems hold everything Heat would refuse or silently fail on, and
// warnings.
func Parse(file string, data []byte) (*Environment, Problems) {
	p := &parser{file: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, Problems{p.yamlError(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.add(&extra, "a second YAML document: Heat reads exactly one (PyYAML: expected a single document)")
		return nil, p.problems
	}
	e := &Environment{File: file, Sections: map[string]*yaml.Node{}}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	switch {
	case root.Kind == 0 || (root.Kind == yaml.ScalarNode && root.Tag == "!!null"):
		return e, nil // an empty file is an empty environment, as in Heat
	case root.Kind != yaml.MappingNode:
		p.add(root, "Environment not in valid format: The environment is not a valid YAML mapping data type. (Heat answers 400)")
		return nil, p.problems
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		name := k.Value
		if k.Kind != yaml.ScalarNode {
			p.add(k, "section names must be strings (Heat answers 400)")
			continue
		}
		want, ok := Sections[name]
		if !ok {
			msg := fmt.Sprintf("environment has wrong section %q (Heat answers 400)", name)
			if s := suggest(name); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			p.add(k, msg)
			continue
		}
		if prev, dup := seen[name]; dup {
			p.add(k, fmt.Sprintf("section %q appears twice (first at line %d): Heat silently keeps only this one", name, prev.Line))
		}
		seen[name] = k
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			p.add(k, fmt.Sprintf("environment has empty section %q (Heat answers 400)", name))
			continue
		}
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if v.Kind != want {
			p.add(v, fmt.Sprintf("section %q must be a %s, not a %s (Heat refuses the stack)", name, kindName(want), kindName(v.Kind)))
			continue
		}
		e.Sections[name] = v
		switch name {
		case "event_sinks":
			e.HasEventSinks = true
			e.sinksPos = p.pos(k)
			e.EventSinks = p.sinks(v)
		case "resource_registry":
			if r := mapValue(v, "resources"); r != nil {
				p.hooks(r)
			}
		}
	}
	return e, p.problems
}

// Merge combines environment files given in order, as `openstack stack
// create -e a.yml -e b.yml` sends them and Heat's API merges them: sinks
// from at most one file, because Heat answers 400 (AttributeError in
// merge_map) when two files both have event_sinks. It also warns about a
// queue named by more than one sink: Heat posts every event to each sink,
// so that queue gets every event twice.
func Merge(envs ...*Environment) ([]Sink, Problems) {
	var (
		sinks []Sink
		ps    Problems
		owner *Environment
	)
	for _, e := range envs {
		if e == nil || !e.HasEventSinks {
			continue
		}
		if owner != nil {
			ps = append(ps, Problem{Pos: e.sinksPos, Msg: fmt.Sprintf(
				"event_sinks is also in %s: Heat answers 400 (AttributeError) when two environment files both have event_sinks; keep all sinks in one file", owner.sinksPos)})
			continue
		}
		owner = e
		sinks = append(sinks, e.EventSinks...)
	}
	byTarget := map[string]Sink{}
	for _, s := range sinks {
		if first, dup := byTarget[s.Target]; dup {
			ps = append(ps, Problem{Pos: s.Pos, Warning: true, Msg: fmt.Sprintf(
				"queue %q is also the target of the sink at %s: it will get every event twice", s.Target, first.Pos)})
			continue
		}
		byTarget[s.Target] = s
	}
	return sinks, ps
}

// Targets returns the distinct queue names of sinks, sorted.
func Targets(sinks []Sink) []string {
	set := map[string]bool{}
	for _, s := range sinks {
		set[s.Target] = true
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

type parser struct {
	file     string
	problems Problems
}

func (p *parser) pos(n *yaml.Node) Pos { return Pos{File: p.file, Line: n.Line, Column: n.Column} }

func (p *parser) add(n *yaml.Node, msg string) {
	p.problems = append(p.problems, Problem{Pos: p.pos(n), Msg: msg})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func (p *parser) yamlError(err error) Problem {
	msg := err.Error()
	pos := Pos{File: p.file}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		pos.Column = 1
		msg = strings.TrimPrefix(msg, m[0])
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return Problem{Pos: pos, Msg: "not valid YAML: " + msg + " (Heat answers 400)"}
}

// sinks checks each event_sinks entry as Heat's environment loader and
// ZaqarEventSink(target, ttl=None) would, and as Zaqar would check each post.
func (p *parser) sinks(list *yaml.Node) []Sink {
	var out []Sink
	for _, item := range list.Content {
		if item.Kind == yaml.AliasNode {
			item = item.Alias
		}
		if item.Kind != yaml.MappingNode {
			p.add(item, fmt.Sprintf("an event sink must be a mapping with type and target, not a %s (Heat refuses the stack)", kindName(item.Kind)))
			continue
		}
		s := Sink{TTL: heatsink.DefaultTTL, Pos: p.pos(item)}
		var typ, target *yaml.Node
		ok := true
		seen := map[string]bool{}
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			if seen[k.Value] {
				p.add(k, fmt.Sprintf("key %q appears twice in this sink: Heat silently keeps the last one", k.Value))
				ok = false
			}
			seen[k.Value] = true
			switch k.Value {
			case "type":
				typ = v
			case "target":
				target = v
			case "ttl":
				ttl, good := p.ttl(v)
				s.TTL, ok = ttl, ok && good
			default:
				p.add(k, fmt.Sprintf("unknown event sink key %q: zaqar-queue takes only target and ttl (Heat answers 400)", k.Value))
				ok = false
			}
		}
		switch {
		case typ == nil:
			p.add(item, "event sink without type (Heat answers 500, KeyError); use type: "+heatsink.SinkType)
			ok = false
		case typ.Kind != yaml.ScalarNode || typ.Tag != "!!str" || typ.Value != heatsink.SinkType:
			p.add(typ, fmt.Sprintf("unknown event sink type %q: Heat ships only %s (Heat answers 500, KeyError)", typ.Value, heatsink.SinkType))
			ok = false
		default:
			s.Type = typ.Value
		}
		switch {
		case target == nil:
			p.add(item, "event sink without target, the queue name (Heat answers 400)")
			ok = false
		case target.Kind != yaml.ScalarNode || target.Tag != "!!str":
			p.add(target, fmt.Sprintf("target must be a queue name string, not %s: Heat accepts the stack and every post fails", describe(target)))
			ok = false
		case !queueName.MatchString(target.Value):
			p.add(target, fmt.Sprintf("target %q is not a valid Zaqar queue name (1-64 of A-Z a-z 0-9 _ -): Heat accepts the stack and every post fails, so no event lands (nor in any sink listed after it)", target.Value))
			ok = false
		default:
			s.Target = target.Value
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) ttl(v *yaml.Node) (int, bool) {
	silent := ": Heat accepts the stack and every post fails, so no event lands (nor in any sink listed after it)"
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		p.add(v, fmt.Sprintf("ttl must be an integer number of seconds, not %s (Zaqar: ttl must be an int)%s", describe(v), silent))
		return 0, false
	}
	n, err := strconv.ParseInt(v.Value, 0, 64)
	if err != nil {
		p.add(v, fmt.Sprintf("ttl %s: %v", v.Value, err))
		return 0, false
	}
	if n < MinTTL || n > MaxTTL {
		p.add(v, fmt.Sprintf("ttl %d is outside Zaqar's range %d..%d%s", n, MinTTL, MaxTTL, silent))
		return 0, false
	}
	return int(n), true
}

// hooks checks hook names under resource_registry.resources, at any
// nesting depth (nested stacks' resources are nested maps).
func (p *parser) hooks(resources *yaml.Node) {
	if resources.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		k, v := resources.Content[i], resources.Content[i+1]
		if k.Value == "hooks" {
			names := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				names = v.Content
			}
			for _, n := range names {
				if n.Kind != yaml.ScalarNode || !contains(heatevent.Hooks, n.Value) {
					p.add(n, fmt.Sprintf("invalid hook %q; Heat knows %s (Heat answers 400)", n.Value, strings.Join(heatevent.Hooks, ", ")))
				}
			}
			continue
		}
		if v.Kind == yaml.MappingNode {
			p.hooks(v)
		}
	}
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

func describe(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return "a " + kindName(n.Kind)
	}
	switch n.Tag {
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!float":
		return "the float " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	case "!!null":
		return "null"
	}
	return n.Value
}

// suggest returns the section name within edit distance 2 of name, if any.
func suggest(name string) string {
	best, bestD := "", 3
	for s := range Sections {
		if d := distance(name, s); d < bestD {
			best, bestD = s, d
		}
	}
	return best
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
