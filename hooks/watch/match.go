package watch

import (
	"regexp"

	"github.com/zaqar-go/suite/heatsink/listen"
	"github.com/zaqar-go/suite/hooks"
)

type field struct {
	get func(hooks.Hook) string
	res []*regexp.Regexp
}

func compileMatch(m Match) ([]field, error) {
	var out []field
	for _, f := range []struct {
		ps  listen.Patterns
		get func(hooks.Hook) string
	}{
		{m.Stack, func(h hooks.Hook) string { return h.Root.Name }},
		{m.Resource, func(h hooks.Hook) string { return h.Resource }},
		{m.Path, func(h hooks.Hook) string { return h.Path }},
		{m.Hook, func(h hooks.Hook) string { return h.Type }},
		{m.Action, func(h hooks.Hook) string { return h.Action }},
		{m.ResourceType, func(h hooks.Hook) string { return h.ResourceType }},
	} {
		if len(f.ps) == 0 {
			continue
		}
		fl := field{get: f.get}
		for _, p := range f.ps {
			re, err := listen.Glob(p)
			if err != nil {
				return nil, err
			}
			fl.res = append(fl.res, re)
		}
		out = append(out, fl)
	}
	return out, nil
}

// matches reports whether every field matches one of its globs.
func matches(fs []field, h hooks.Hook) bool {
	for _, f := range fs {
		v, ok := f.get(h), false
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
