package listen

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/zaqar-go/suite/internal/heatevent"
)

// compileGlob translates an fnmatch pattern (Python's fnmatch.translate)
// into an anchored regular expression: * and ? match any character,
// including /, and [!...] negates a class.
func compileGlob(p string) (*regexp.Regexp, error) {
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

// Glob compiles an fnmatch pattern as the listener's matches do, for
// programs that match other fields the same way.
func Glob(pattern string) (*regexp.Regexp, error) { return compileGlob(pattern) }

// Field is one field of a T to match against globs: what Get returns must
// match one of Patterns. Fields without patterns match anything.
type Field[T any] struct {
	Patterns Patterns
	Get      func(T) string
}

// Matcher matches a T when every one of its fields matches (hooks uses it
// for hook fields, this package for event payloads).
type Matcher[T any] struct {
	fields []compiledField[T]
}

type compiledField[T any] struct {
	get func(T) string
	res []*regexp.Regexp
}

// CompileMatcher compiles the fields' globs.
func CompileMatcher[T any](fields ...Field[T]) (Matcher[T], error) {
	var out Matcher[T]
	for _, f := range fields {
		if len(f.Patterns) == 0 {
			continue
		}
		cf := compiledField[T]{get: f.Get}
		for _, p := range f.Patterns {
			re, err := compileGlob(p)
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

// matcher is a compiled Match.
type matcher = Matcher[heatevent.Payload]

func compileMatch(m Match) (matcher, error) {
	type f = Field[heatevent.Payload]
	return CompileMatcher(
		f{m.ResourceType, func(p heatevent.Payload) string { return p.ResourceType }},
		f{m.ResourceName, func(p heatevent.Payload) string { return p.ResourceName }},
		f{m.Action, func(p heatevent.Payload) string { return p.ResourceAction }},
		f{m.Status, func(p heatevent.Payload) string { return p.ResourceStatus }},
		f{m.Reason, func(p heatevent.Payload) string { return p.ResourceStatusReason }},
		f{m.StackID, func(p heatevent.Payload) string { return p.StackID }},
	)
}

// CheckNames reports the patterns that match none of names (a typo such as
// CRATE for CREATE would silently match nothing): the index in ps of each,
// with the error.
func CheckNames(ps Patterns, names []string) (int, error) {
	for i, p := range ps {
		re, err := compileGlob(p)
		if err != nil {
			return i, err
		}
		if !slices.ContainsFunc(names, re.MatchString) {
			return i, fmt.Errorf("%q matches none of %s", p, strings.Join(names, ", "))
		}
	}
	return -1, nil
}

// CheckURL reports a webhook URL that is not http(s) with a host.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want http:// or https:// and a host", raw)
	}
	return nil
}
