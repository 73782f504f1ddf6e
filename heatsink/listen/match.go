package listen

import (
	"github.com/zaqar-go/suite/internal/heatevent"
	"github.com/zaqar-go/suite/internal/match"
)

// matcher is a compiled Match.
type matcher = match.Matcher[heatevent.Payload]

func compileMatch(m Match) (matcher, error) {
	type f = match.Field[heatevent.Payload]
	return match.Compile(
		f{Patterns: m.ResourceType, Get: func(p heatevent.Payload) string { return p.ResourceType }},
		f{Patterns: m.ResourceName, Get: func(p heatevent.Payload) string { return p.ResourceName }},
		f{Patterns: m.Action, Get: func(p heatevent.Payload) string { return p.ResourceAction }},
		f{Patterns: m.Status, Get: func(p heatevent.Payload) string { return p.ResourceStatus }},
		f{Patterns: m.Reason, Get: func(p heatevent.Payload) string { return p.ResourceStatusReason }},
		f{Patterns: m.StackID, Get: func(p heatevent.Payload) string { return p.StackID }},
	)
}
