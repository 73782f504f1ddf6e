// Package match matches values against globs the way Heat matches resource
// names (Python's fnmatch: * ? [abc] [!abc], case-sensitive): a Patterns
// field in a YAML file is one glob or a list of them, and a Matcher checks
// chosen fields of a value. heatsink's listener matches Heat event payloads
// with it, hooks matches hooks.
package match

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Patterns is a glob or a list of globs.
type Patterns []string

// UnmarshalYAML accepts a scalar or a list of scalars.
func (p *Patterns) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*p = Patterns{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*p = list
	return nil
}

// Glob translates an fnmatch pattern (Python's fnmatch.translate) into an
// anchored regular expression: * and ? match any character, including /,
// and [!...] negates a class.
func Glob(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			if j < len(p) && p[j] == '!' {
				j++
			}
			if j < len(p) && p[j] == ']' {
				j++
			}
			for j < len(p) && p[j] != ']' {
				j++
			}
			if j >= len(p) { // no closing bracket: a literal [
				b.WriteString(`\[`)
				continue
			}
			class := p[i+1 : j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			} else if strings.HasPrefix(class, "^") {
				class = `\` + class
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`)$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("bad glob %q: %w", p, err)
	}
	return re, nil
}

// Field is one field of a T to match against globs: what Get returns must
// match one of Patterns. Fields without patterns match anything.
type Field[T any] struct {
	Patterns Patterns
	Get      func(T) string
}

// Matcher matches a T when every one of its fields matches (hooks uses it
// for hook fields, heatsink's listener for event payloads).
type Matcher[T any] struct {
	fields []compiledField[T]
}

type compiledField[T any] struct {
	get func(T) string
	res []*regexp.Regexp
}

// Compile compiles the fields' globs.
func Compile[T any](fields ...Field[T]) (Matcher[T], error) {
	var out Matcher[T]
	for _, f := range fields {
		if len(f.Patterns) == 0 {
			continue
		}
		cf := compiledField[T]{get: f.Get}
		for _, p := range f.Patterns {
			re, err := Glob(p)
			if err != nil {
				return Matcher[T]{}, err
			}
			cf.res = append(cf.res, re)
		}
		out.fields = append(out.fields, cf)
	}
	return out, nil
}

// Match reports whether every field of v matches one of its globs.
func (m Matcher[T]) Match(v T) bool {
	for _, f := range m.fields {
		s, ok := f.get(v), false
		for _, re := range f.res {
			if re.MatchString(s) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// CheckNames reports the patterns that match none of names (a typo such as
// CRATE for CREATE would silently match nothing): the index in ps of each,
// with the error.
func CheckNames(ps Patterns, names []string) (int, error) {
	for i, p := range ps {
		re, err := Glob(p)
		if err != nil {
			return i, err
		}
		if !slices.ContainsFunc(names, re.MatchString) {
			return i, fmt.Errorf("%q matches none of %s", p, strings.Join(names, ", "))
		}
	}
	return -1, nil
}
