package service

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/notify"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// subscriptionDoc is a validated subscription create or update document.
type subscriptionDoc struct {
	subscriber *string
	ttl        *time.Duration
	options    map[string]any
}

// parseSubscription validates a document as Zaqar's subscription_posting
// (create) or subscription_patching (update).
func (s *Service) parseSubscription(sc Scope, body []byte, create bool) (subscriptionDoc, error) {
	var d subscriptionDoc
	var m map[string]any
	if len(strings.TrimSpace(string(body))) > 0 {
		v, err := decodeValue(body)
		if err != nil {
			return d, err
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return d, zaqar.Invalidf("Subscriptions must be a dict.")
		}
		m = obj
	}
	if _, ok := m["subscriber"]; create && !ok {
		return d, zaqar.Invalidf("Missing parameter subscriber in body.")
	}
	if len(m) == 0 {
		return d, zaqar.Invalidf("No subscription to create.")
	}
	if v, ok := m["subscriber"]; ok && truthy(v) {
		sub, ok := v.(string)
		if !ok {
			return d, zaqar.Invalidf("The subscriber type of subscription must be supported in the list %s.", pyList(s.limits.SubscriberTypes))
		}
		u, err := url.Parse(sub)
		if err != nil || !contains(s.limits.SubscriberTypes, strings.ToLower(u.Scheme)) {
			return d, zaqar.Invalidf("The subscriber type of subscription must be supported in the list %s.", pyList(s.limits.SubscriberTypes))
		}
		if _, hasPassword := u.User.Password(); hasPassword {
			// A password in the URI would be echoed back by every GET.
			return d, zaqar.Invalidf("Subscriber URIs must not carry credentials; use options.post_headers.")
		}
		if strings.HasPrefix(u.Scheme, "http") || strings.HasPrefix(u.Scheme, "trust+http") {
			if u.Host == "" {
				return d, zaqar.Invalidf("The subscriber URI %s has no host.", sub)
			}
		}
		d.subscriber = &sub
	} else if ok && create {
		return d, zaqar.Invalidf("Missing parameter subscriber in body.")
	}
	if v, ok := m["options"]; ok && truthy(v) {
		opts, ok := v.(map[string]any)
		if !ok {
			return d, zaqar.Invalidf("Options must be a dict.")
		}
		if err := ValidateRetryPolicy(opts["_retry_policy"]); err != nil {
			return d, err
		}
		d.options = opts
	} else if ok {
		d.options = map[string]any{}
	}
	if v, ok := m["ttl"]; ok && truthy(v) {
		n, isInt := asInt(v)
		if !isInt {
			return d, zaqar.Invalidf("TTL must be an integer.")
		}
		if n < int64(zaqar.MinSubscriptionTTL/time.Second) {
			return d, zaqar.Invalidf("The TTL for a subscription must be at least 60 seconds long.")
		}
		if n > int64((1<<62)/time.Second) {
			return d, zaqar.Invalidf("The TTL seconds for a subscription plus current time must be less than 9999-12-31 23:59:59.999999.")
		}
		ttl := time.Duration(n) * time.Second
		d.ttl = &ttl
	}
	if d.options != nil {
		// Only the server decides whether a webhook may reach internal
		// addresses: admins may, others may not.
		delete(d.options, notify.AllowInternalOption)
		if hasRole(sc.Roles, "admin") {
			d.options[notify.AllowInternalOption] = true
		}
	}
	return d, nil
}

func hasRole(roles []string, want string) bool {
	for _, r := range roles {
		if strings.EqualFold(r, want) {
			return true
		}
	}
	return false
}

// CreateSubscription subscribes to q, creating the queue first (Zaqar does,
// even when the document is then refused). created is false when the
// subscriber was already subscribed but unconfirmed: the existing id is
// returned and the confirmation sent again; a confirmed duplicate is a 409.
func (s *Service) CreateSubscription(ctx context.Context, sc Scope, q zaqar.QueueRef, body []byte) (id string, err error) {
	if _, err := s.store.Queues().Create(ctx, q, zaqar.Metadata{}); err != nil {
		return "", storeErr(err, "Subscription could not be created.")
	}
	d, err := s.parseSubscription(sc, body, true)
	if err != nil {
		return "", err
	}
	ttl := s.limits.DefaultSubscriptionTTL
	if d.ttl != nil {
		ttl = *d.ttl
	}
	opts := d.options
	if opts == nil {
		opts = map[string]any{}
		if hasRole(sc.Roles, "admin") {
			opts[notify.AllowInternalOption] = true
		}
	}
	if strings.HasPrefix(strings.ToLower(*d.subscriber), "trust+") {
		if err := s.ensureTrust(ctx, sc, opts, ttl); err != nil {
			return "", err
		}
	}
	sub, created, err := s.store.Subscriptions().Create(ctx, q, zaqar.Subscription{
		Source: q.Name, Subscriber: *d.subscriber, TTL: ttl, Options: opts,
	})
	if err != nil {
		return "", storeErr(err, "Subscription could not be created.")
	}
	if !created && sub.Confirmed {
		return "", &zaqar.Error{Kind: zaqar.Conflict, Title: zaqar.TitleConflict,
			Desc: "Such subscription already exists.Subscriptions are unique by project + queue + subscriber URI."}
	}
	if s.notifier != nil {
		if err := s.notifier.Confirm(ctx, q, sub, false); err != nil {
			s.log.ErrorContext(ctx, "subscription confirmation not queued", "project", q.Project, "queue", q.Name, "subscription", sub.ID, "err", err)
		}
	}
	return sub.ID, nil
}

// SubscribeConnection subscribes target, the internal listener of a
// WebSocket connection, to q (subscription_create without a subscriber);
// body may carry ttl and options. The server made the URL, so its webhook
// may reach internal addresses. Any duplicate is a conflict, as over
// Zaqar's WebSocket. The caller deletes the subscription when the
// connection ends.
func (s *Service) SubscribeConnection(ctx context.Context, sc Scope, q zaqar.QueueRef, target string, body []byte) (string, error) {
	if _, err := s.store.Queues().Create(ctx, q, zaqar.Metadata{}); err != nil {
		return "", storeErr(err, "Subscription could not be created.")
	}
	ttl := s.limits.DefaultSubscriptionTTL
	opts := map[string]any{}
	if len(strings.TrimSpace(string(body))) > 0 && strings.TrimSpace(string(body)) != "{}" {
		d, err := s.parseSubscription(sc, body, false)
		if err != nil {
			return "", err
		}
		if d.ttl != nil {
			ttl = *d.ttl
		}
		if d.options != nil {
			opts = d.options
		}
	}
	opts[notify.AllowInternalOption] = true
	sub, created, err := s.store.Subscriptions().Create(ctx, q, zaqar.Subscription{Source: q.Name, Subscriber: target, TTL: ttl, Options: opts})
	if err != nil {
		return "", storeErr(err, "Subscription could not be created.")
	}
	if !created {
		return "", zaqar.Conflictf("Subscription %s not created.", q.Name)
	}
	if s.notifier != nil {
		s.notifier.Invalidate(q)
	}
	return sub.ID, nil
}

// ensureTrust gives a trust+http(s) subscription the Keystone trust its
// notifications are sent with, unless options already name one: the
// caller's roles, delegated to the service user for the subscription's
// life (zaqar/notification/tasks/trust.py register).
func (s *Service) ensureTrust(ctx context.Context, sc Scope, opts map[string]any, ttl time.Duration) error {
	if id, _ := opts["trust_id"].(string); id != "" {
		return nil
	}
	if s.trust == nil || sc.Token == "" {
		return zaqar.Invalidf("trust+http and trust+https subscribers need Keystone authentication ([DEFAULT] auth_strategy = keystone).")
	}
	id, err := s.trust(ctx, sc, time.Now().Add(ttl))
	if err != nil {
		return storeErr(err, "Subscription could not be created: no trust could be made for it.")
	}
	opts["trust_id"] = id
	return nil
}

// ListSubscriptions lists subscriptions of q by id after marker.
func (s *Service) ListSubscriptions(ctx context.Context, q zaqar.QueueRef, marker string, limit *int) ([]zaqar.Subscription, error) {
	n := zaqar.DefaultPageSize
	if limit != nil {
		n = *limit
		if n < 1 || n > s.limits.MaxSubscriptionsPerPage {
			return nil, zaqar.Invalidf("Limit must be at least 1 and may not be greater than %d.", s.limits.MaxSubscriptionsPerPage)
		}
	}
	subs, err := s.store.Subscriptions().List(ctx, q, marker, n)
	if err != nil && !errors.Is(err, storage.ErrQueueNotFound) {
		return nil, storeErr(err, "Subscriptions could not be listed.")
	}
	return subs, nil
}

func subscriptionNotFound(id string) error {
	return zaqar.NotFoundf("Subscription %s does not exist", id)
}

// GetSubscription returns one subscription.
func (s *Service) GetSubscription(ctx context.Context, q zaqar.QueueRef, id string) (zaqar.Subscription, error) {
	sub, err := s.store.Subscriptions().Get(ctx, q, id)
	if errors.Is(err, storage.ErrSubscriptionNotFound) || errors.Is(err, storage.ErrQueueNotFound) {
		return zaqar.Subscription{}, subscriptionNotFound(id)
	}
	if err != nil {
		return zaqar.Subscription{}, storeErr(err, "Subscription could not be retrieved.")
	}
	return sub, nil
}

// UpdateSubscription changes subscriber, ttl and/or options.
func (s *Service) UpdateSubscription(ctx context.Context, sc Scope, q zaqar.QueueRef, id string, body []byte) error {
	d, err := s.parseSubscription(sc, body, false)
	if err != nil {
		return err
	}
	err = s.store.Subscriptions().Update(ctx, q, id, storage.SubscriptionUpdate{Subscriber: d.subscriber, TTL: d.ttl, Options: d.options})
	switch {
	case err == nil:
		if s.notifier != nil {
			s.notifier.Invalidate(q)
		}
		return nil
	case errors.Is(err, storage.ErrSubscriptionNotFound), errors.Is(err, storage.ErrQueueNotFound):
		return subscriptionNotFound(id)
	case errors.Is(err, storage.ErrSubscriptionExists):
		return zaqar.Conflictf("Such subscription already exists. Subscriptions are unique by project + queue + subscriber URI.")
	case zaqar.KindOf(err) == zaqar.Unavailable:
		return storeErr(err, "Subscription could not be updated.")
	}
	return &zaqar.Error{Kind: zaqar.Invalid, Title: "Unable to update subscription",
		Desc: "Subscription " + id + " could not be updated.", Err: err}
}

// DeleteSubscription removes a subscription and what it had pending.
func (s *Service) DeleteSubscription(ctx context.Context, q zaqar.QueueRef, id string) error {
	if err := s.store.Subscriptions().Delete(ctx, q, id); err != nil && !errors.Is(err, storage.ErrQueueNotFound) {
		return storeErr(err, "Subscription could not be deleted.")
	}
	if s.notifier != nil {
		if err := s.notifier.Forget(ctx, q, id); err != nil {
			s.log.WarnContext(ctx, "pending notifications of a deleted subscription not dropped", "subscription", id, "err", err)
		}
	}
	return nil
}

// ConfirmSubscription sets the confirmed flag ({"confirmed": bool});
// unconfirming sends an unsubscribe confirmation, as Zaqar does.
func (s *Service) ConfirmSubscription(ctx context.Context, q zaqar.QueueRef, id string, body []byte) error {
	var doc map[string]json.RawMessage
	if len(strings.TrimSpace(string(body))) > 0 {
		o, err := decodeObject(body)
		if err != nil {
			return err
		}
		doc = o
	}
	var confirmed bool
	if raw, ok := doc["confirmed"]; !ok || json.Unmarshal(raw, &confirmed) != nil {
		return zaqar.Invalidf("The 'confirmed' should be boolean.")
	}
	err := s.store.Subscriptions().Confirm(ctx, q, id, confirmed)
	if errors.Is(err, storage.ErrSubscriptionNotFound) || errors.Is(err, storage.ErrQueueNotFound) {
		return subscriptionNotFound(id)
	}
	if err != nil {
		return &zaqar.Error{Kind: zaqar.Invalid, Title: "Unable to confirm subscription",
			Desc: "Subscription " + id + " could not be confirmed.", Err: err}
	}
	if s.notifier != nil {
		s.notifier.Invalidate(q)
		if !confirmed {
			sub, err := s.store.Subscriptions().Get(ctx, q, id)
			if err == nil {
				err = s.notifier.Confirm(ctx, q, sub, true)
			}
			if err != nil {
				s.log.ErrorContext(ctx, "unsubscribe confirmation not queued", "subscription", id, "err", err)
			}
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
