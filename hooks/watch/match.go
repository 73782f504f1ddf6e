package watch

import (
	"github.com/zaqar-go/suite/hooks"
	"github.com/zaqar-go/suite/internal/match"
)

func compileMatch(m Match) (match.Matcher[hooks.Hook], error) {
	type f = match.Field[hooks.Hook]
	return match.Compile(
		f{Patterns: m.Stack, Get: func(h hooks.Hook) string { return h.Root.Name }},
		f{Patterns: m.Resource, Get: func(h hooks.Hook) string { return h.Resource }},
		f{Patterns: m.Path, Get: func(h hooks.Hook) string { return h.Path }},
		f{Patterns: m.Hook, Get: func(h hooks.Hook) string { return h.Type }},
		f{Patterns: m.Action, Get: func(h hooks.Hook) string { return h.Action }},
		f{Patterns: m.ResourceType, Get: func(h hooks.Hook) string { return h.ResourceType }},
	)
}
