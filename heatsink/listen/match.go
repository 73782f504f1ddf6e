package listen

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/zaqar-go/suite/heatsink"
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

// matcher is a compiled Match.
type matcher struct {
	fields []field
}

type field struct {
	get func(heatsink.Payload) string
	res []*regexp.Regexp
}

func compileMatch(m Match) (matcher, error) {
	var out matcher
	for _, f := range []struct {
		ps  Patterns
		get func(heatsink.Payload) string
	}{
		{m.ResourceType, func(p heatsink.Payload) string { return p.ResourceType }},
		{m.ResourceName, func(p heatsink.Payload) string { return p.ResourceName }},
		{m.Action, func(p heatsink.Payload) string { return p.ResourceAction }},
		{m.Status, func(p heatsink.Payload) string { return p.ResourceStatus }},
		{m.Reason, func(p heatsink.Payload) string { return p.ResourceStatusReason }},
		{m.StackID, func(p heatsink.Payload) string { return p.StackID }},
	} {
		if len(f.ps) == 0 {
			continue
		}
		fl := field{get: f.get}
		for _, p := range f.ps {
			re, err := compileGlob(p)
			if err != nil {
				return matcher{}, err
			}
			fl.res = append(fl.res, re)
		}
		out.fields = append(out.fields, fl)
	}
	return out, nil
}

// match reports whether every field of m matches one of its globs.
func (m matcher) match(p heatsink.Payload) bool {
	for _, f := range m.fields {
		v, ok := f.get(p), false
		for _, re := range f.res {
			if re.MatchString(v) {
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
