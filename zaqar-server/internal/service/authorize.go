package service

import (
	"github.com/zaqar-go/suite/zaqar-server/internal/policy"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Op is one API operation. Where Zaqar's WebSocket protocol has an action
// for it, the Op is that action's name, so the WebSocket transport needs
// no table of its own; the others are named the same way.
type Op string

// The operations of both wires.
const (
	PingNode        Op = "ping_node"
	CheckNodeHealth Op = "check_node_health"

	QueueList     Op = "queue_list"
	QueueCreate   Op = "queue_create"
	QueueGet      Op = "queue_get"
	QueueUpdate   Op = "queue_update"
	QueueDelete   Op = "queue_delete"
	QueueGetStats Op = "queue_get_stats"
	QueuePurge    Op = "queue_purge"
	QueueShare    Op = "queue_share"

	TopicList     Op = "topic_list"
	TopicCreate   Op = "topic_create"
	TopicGet      Op = "topic_get"
	TopicUpdate   Op = "topic_update"
	TopicDelete   Op = "topic_delete"
	TopicGetStats Op = "topic_get_stats"
	TopicPurge    Op = "topic_purge"

	MessageList       Op = "message_list"
	MessageGet        Op = "message_get"
	MessageGetMany    Op = "message_get_many"
	MessagePost       Op = "message_post"
	MessageDelete     Op = "message_delete"
	MessageDeleteMany Op = "message_delete_many"

	ClaimCreate Op = "claim_create"
	ClaimGet    Op = "claim_get"
	ClaimUpdate Op = "claim_update"
	ClaimDelete Op = "claim_delete"

	SubscriptionList    Op = "subscription_list"
	SubscriptionCreate  Op = "subscription_create"
	SubscriptionGet     Op = "subscription_get"
	SubscriptionUpdate  Op = "subscription_update"
	SubscriptionDelete  Op = "subscription_delete"
	SubscriptionConfirm Op = "subscription_confirm"

	PoolList   Op = "pool_list"
	PoolCreate Op = "pool_create"
	PoolGet    Op = "pool_get"
	PoolUpdate Op = "pool_update"
	PoolDelete Op = "pool_delete"

	FlavorList   Op = "flavor_list"
	FlavorCreate Op = "flavor_create"
	FlavorGet    Op = "flavor_get"
	FlavorUpdate Op = "flavor_update"
	FlavorDelete Op = "flavor_delete"
)

// rules is the one table of which Zaqar policy rule
// (zaqar/common/policies) guards each operation, on either wire.
var rules = map[Op]string{
	PingNode:        "ping:get",
	CheckNodeHealth: "health:get",

	QueueList:     "queues:get_all",
	QueueCreate:   "queues:create",
	QueueGet:      "queues:get",
	QueueUpdate:   "queues:update",
	QueueDelete:   "queues:delete",
	QueueGetStats: "queues:stats",
	QueuePurge:    "queues:purge",
	QueueShare:    "queues:share",

	TopicList:     "topics:get_all",
	TopicCreate:   "topics:create",
	TopicGet:      "topics:get",
	TopicUpdate:   "topics:update",
	TopicDelete:   "topics:delete",
	TopicGetStats: "topics:stats",
	TopicPurge:    "topics:purge",

	MessageList:       "messages:get_all",
	MessageGet:        "messages:get",
	MessageGetMany:    "messages:get_all",
	MessagePost:       "messages:create",
	MessageDelete:     "messages:delete",
	MessageDeleteMany: "messages:delete_all",

	ClaimCreate: "claims:create",
	ClaimGet:    "claims:get",
	ClaimUpdate: "claims:update",
	ClaimDelete: "claims:delete",

	SubscriptionList:    "subscription:get_all",
	SubscriptionCreate:  "subscription:create",
	SubscriptionGet:     "subscription:get",
	SubscriptionUpdate:  "subscription:update",
	SubscriptionDelete:  "subscription:delete",
	SubscriptionConfirm: "subscription:confirm",

	PoolList:   "pools:get_all",
	PoolCreate: "pools:create",
	PoolGet:    "pools:get",
	PoolUpdate: "pools:update",
	PoolDelete: "pools:delete",

	FlavorList:   "flavors:get_all",
	FlavorCreate: "flavors:create",
	FlavorGet:    "flavors:get",
	FlavorUpdate: "flavors:update",
	FlavorDelete: "flavors:delete",
}

var errNotAuthorized = &zaqar.Error{Kind: zaqar.Forbidden, Title: zaqar.TitleNotAuthorized,
	Desc: "You are not authorized to complete this action."}

// Authorize is the one policy check of both wires: may the caller sc do op
// on its own project? An operation missing from the table is refused: a
// route or action added without a rule must not run unguarded.
func (s *Service) Authorize(sc Scope, op Op) error {
	rule, ok := rules[op]
	if !ok {
		return errNotAuthorized
	}
	creds := policy.Creds{ProjectID: sc.Project, UserID: sc.UserID, Roles: sc.Roles}
	if !s.policy.Allowed(rule, creds, policy.Target{"project_id": sc.Project}) {
		return errNotAuthorized
	}
	return nil
}

// AllowsAll reports whether op's rule lets every caller through (most of
// Zaqar's default rules), so a transport can skip the check per request.
func (s *Service) AllowsAll(op Op) bool {
	rule, ok := rules[op]
	return ok && s.policy.AllowsAll(rule)
}
