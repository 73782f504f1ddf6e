package service

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

type scopeKey struct{}

// WithScope returns ctx carrying the request's identity.
func WithScope(ctx context.Context, sc Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, sc)
}

// ScopeFrom returns the identity stored by WithScope, zero if none.
func ScopeFrom(ctx context.Context) Scope {
	sc, _ := ctx.Value(scopeKey{}).(Scope)
	return sc
}

// ValidateClientID checks a Client-ID as [transport] client_id_uuid_safe says:
// "strict" wants a UUID as Python's uuid.UUID parses it, "off" only a length.
func (s *Service) ValidateClientID(id string) error {
	if s.limits.ClientIDUUIDSafe == "off" {
		if len(id) < s.limits.MinLengthClientID || len(id) > s.limits.MaxLengthClientID {
			return &zaqar.Error{Kind: zaqar.Invalid, Title: "Length of client id must be at least " +
				itoa(int64(s.limits.MinLengthClientID)) + " and no greater than " + itoa(int64(s.limits.MaxLengthClientID)) + "."}
		}
		return nil
	}
	if !pythonUUID(id) {
		return &zaqar.Error{Kind: zaqar.Invalid, Title: "Wrong UUID value", Desc: "Malformed hexadecimal UUID."}
	}
	return nil
}

// pythonUUID accepts what uuid.UUID(hex) does: optional "urn:" and "uuid:"
// prefixes and braces, hyphens anywhere, then exactly 32 hex digits.
func pythonUUID(s string) bool {
	s = strings.TrimPrefix(s, "urn:")
	s = strings.TrimPrefix(s, "uuid:")
	s = strings.Trim(s, "{}")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}
