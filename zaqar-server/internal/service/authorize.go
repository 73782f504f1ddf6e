package service

import (
	"github.com/zaqar-go/suite/zaqar-server/internal/policy"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var errNotAuthorized = &zaqar.Error{Kind: zaqar.Forbidden, Title: zaqar.TitleNotAuthorized,
	Desc: "You are not authorized to complete this action."}

// Authorize is the one policy check of both wires: may the caller sc do
// what rule (a Zaqar policy name such as "queues:create") guards, on its
// own project? REST names the rule of each route, WebSocket the rule of
// the route each action stands for.
func (s *Service) Authorize(sc Scope, rule string) error {
	creds := policy.Creds{ProjectID: sc.Project, UserID: sc.UserID, Roles: sc.Roles}
	if !s.policy.Allowed(rule, creds, policy.Target{"project_id": sc.Project}) {
		return errNotAuthorized
	}
	return nil
}

// AllowsAll reports whether rule lets every caller through (most of
// Zaqar's default rules), so a transport can skip the check per request.
func (s *Service) AllowsAll(rule string) bool { return s.policy.AllowsAll(rule) }
