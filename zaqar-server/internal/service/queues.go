package service

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// QueueListParams are the parameters of a queue listing; nil means absent.
type QueueListParams struct {
	Marker    string
	Limit     *int
	Detailed  bool
	Name      string
	WithCount bool
	Filter    map[string]string
}

// QueuePage is one page of queues.
type QueuePage struct {
	Queues []zaqar.Queue // metadata (with reserved defaults) only when detailed
	Count  int           // all queues of the project, when asked
}

// ListQueues lists the project's queues by name.
func (s *Service) ListQueues(ctx context.Context, project string, p QueueListParams) (QueuePage, error) {
	limit := zaqar.DefaultPageSize
	if p.Limit != nil {
		limit = *p.Limit
		if limit < 1 || limit > s.limits.MaxQueuesPerPage {
			return QueuePage{}, zaqar.Invalidf("Limit must be at least 1 and no greater than %d.", s.limits.MaxQueuesPerPage)
		}
	}
	qs, err := s.store.Queues().List(ctx, project, storage.QueueListOptions{
		Marker: p.Marker, Limit: limit, Detailed: p.Detailed, Name: p.Name, Filter: p.Filter,
	})
	if err != nil {
		return QueuePage{}, storeErr(err, "Queues could not be listed.")
	}
	if p.Detailed {
		for i := range qs {
			if qs[i].Metadata == nil {
				qs[i].Metadata = zaqar.Metadata{}
			}
			s.withReserved(qs[i].Metadata, zaqar.QueueRef{Project: project}.IsTopic())
		}
	}
	page := QueuePage{Queues: qs}
	if p.WithCount {
		if page.Count, err = s.store.Queues().Count(ctx, project); err != nil {
			return QueuePage{}, storeErr(err, "Queues could not be listed.")
		}
	}
	return page, nil
}

// CheckQueueMetadataSize rejects metadata documents over max_queue_metadata.
func (s *Service) CheckQueueMetadataSize(n int64) error {
	if n > s.limits.MaxQueueMetadata {
		return zaqar.Invalidf("Queue metadata is too large. Max size: %d", s.limits.MaxQueueMetadata)
	}
	return nil
}

// ParseQueueMetadata decodes a queue metadata document (a JSON object).
func ParseQueueMetadata(body []byte) (zaqar.Metadata, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, errEmptyBody
	}
	v, err := decodeValue(body)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errDocType
	}
	return zaqar.Metadata(m), nil
}

// CreateQueue creates a queue with the metadata document doc (nil: none),
// checking its size and decoding it first; on an existing queue it changes
// nothing and returns created=false, as Zaqar does.
func (s *Service) CreateQueue(ctx context.Context, q zaqar.QueueRef, doc []byte) (bool, error) {
	var meta zaqar.Metadata
	if doc != nil {
		if err := s.CheckQueueMetadataSize(int64(len(doc))); err != nil {
			return false, err
		}
		var err error
		if meta, err = ParseQueueMetadata(doc); err != nil {
			return false, err
		}
	}
	return s.createQueueWith(ctx, q, meta)
}

// createQueueWith creates a queue with decoded metadata.
func (s *Service) createQueueWith(ctx context.Context, q zaqar.QueueRef, meta zaqar.Metadata) (bool, error) {
	if err := ValidateQueue(q); err != nil {
		return false, err
	}
	if err := s.validateReserved(meta); err != nil {
		return false, err
	}
	if meta == nil {
		meta = zaqar.Metadata{}
	}
	defer s.forget(q) // after the write, so no reader caches the old state
	created, err := s.store.Queues().Create(ctx, q, meta)
	if err != nil {
		return false, storeErr(err, "Queue could not be created.")
	}
	return created, nil
}

// QueueMetadata returns a queue's metadata with reserved defaults merged in.
// A queue that does not exist answers with the defaults only, as Zaqar does.
func (s *Service) QueueMetadata(ctx context.Context, q zaqar.QueueRef) (zaqar.Metadata, error) {
	meta, err := s.store.Queues().Get(ctx, q)
	if errors.Is(err, storage.ErrQueueNotFound) {
		meta, err = zaqar.Metadata{}, nil
	}
	if err != nil {
		return nil, storeErr(err, "Queue metadata could not be retrieved.")
	}
	return s.withReserved(meta, q.IsTopic()), nil
}

// StoredQueueMetadata returns the metadata as stored, without defaults
// (the WebSocket queue_get answer); empty for a missing queue.
func (s *Service) StoredQueueMetadata(ctx context.Context, q zaqar.QueueRef) (zaqar.Metadata, error) {
	meta, err := s.queueMeta(ctx, q)
	if err != nil {
		return nil, storeErr(err, "Queue metadata could not be retrieved.")
	}
	return meta, nil
}

// queueMeta reads stored metadata, empty when the queue does not exist.
func (s *Service) queueMeta(ctx context.Context, q zaqar.QueueRef) (zaqar.Metadata, error) {
	meta, err := s.store.Queues().Get(ctx, q)
	if errors.Is(err, storage.ErrQueueNotFound) {
		return zaqar.Metadata{}, nil
	}
	return meta, err
}

// PatchQueue applies a JSON-patch document (the body of PATCH with
// application/openstack-messaging-v2.0-json-patch) and returns the new
// metadata with reserved defaults.
func (s *Service) PatchQueue(ctx context.Context, q zaqar.QueueRef, body []byte) (zaqar.Metadata, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, zaqar.BadBodyf("PATCH body could not be empty for update.")
	}
	v, err := decodeValue(body)
	if err != nil {
		return nil, err
	}
	changes, err := parsePatch(v)
	if err != nil {
		return nil, err
	}
	meta, err := s.store.Queues().Get(ctx, q)
	if errors.Is(err, storage.ErrQueueNotFound) {
		return nil, queueNotFound(q)
	}
	if err != nil {
		return nil, storeErr(err, "Queue could not be updated.")
	}
	reserved := s.reservedDefaults(q.IsTopic())
	for _, c := range changes {
		_, isReserved := reserved[c.key]
		switch c.op {
		case "add":
			meta[c.key] = c.value
		case "replace":
			if _, ok := meta[c.key]; !ok && !isReserved {
				return nil, zaqar.Conflictf("Can't replace non-existent object %s.", c.key)
			}
			meta[c.key] = c.value
		case "remove":
			if _, ok := meta[c.key]; ok {
				delete(meta, c.key)
			} else if !isReserved {
				return nil, zaqar.Conflictf("Can't remove non-existent object %s.", c.key)
			}
		}
	}
	if err := s.validateReserved(meta); err != nil {
		var ze *zaqar.Error
		if errors.As(err, &ze) {
			return nil, zaqar.BadBodyf("%s", ze.Desc)
		}
		return nil, err
	}
	defer s.forget(q)
	if err := s.store.Queues().SetMetadata(ctx, q, meta); err != nil {
		if errors.Is(err, storage.ErrQueueNotFound) {
			return nil, queueNotFound(q)
		}
		return nil, storeErr(err, "Queue could not be updated.")
	}
	return s.withReserved(meta, q.IsTopic()), nil
}

// DeleteQueue removes a queue with its messages and claims; deleting a
// missing queue succeeds.
func (s *Service) DeleteQueue(ctx context.Context, q zaqar.QueueRef) error {
	defer s.forget(q)
	if err := s.store.Queues().Delete(ctx, q); err != nil {
		return storeErr(err, "Queue could not be deleted.")
	}
	return nil
}

// QueueStats returns message counts; zeros for a missing queue.
func (s *Service) QueueStats(ctx context.Context, q zaqar.QueueRef) (zaqar.Stats, error) {
	st, err := s.store.Messages().Stats(ctx, q)
	if errors.Is(err, storage.ErrQueueNotFound) {
		return zaqar.Stats{}, nil
	}
	if err != nil {
		return zaqar.Stats{}, storeErr(err, "Queue stats could not be read.")
	}
	if st.Oldest == nil || st.Newest == nil {
		return st, nil
	}
	ids := []string{st.Oldest.ID}
	if st.Newest.ID != st.Oldest.ID {
		ids = append(ids, st.Newest.ID)
	}
	msgs, err := s.store.Messages().GetMany(ctx, q, ids)
	if err != nil && !errors.Is(err, storage.ErrQueueNotFound) {
		return zaqar.Stats{}, storeErr(err, "Queue stats could not be read.")
	}
	for _, m := range s.openAll(msgs) {
		for _, ms := range []*zaqar.MessageStat{st.Oldest, st.Newest} {
			if ms.ID == m.ID {
				ms.Message = &m
			}
		}
	}
	return st, nil
}

// ParsePurge decodes a purge document; an empty body purges everything.
func ParsePurge(body []byte) ([]string, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return []string{"messages", "subscriptions"}, nil
	}
	o, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	raw, ok := o["resource_types"]
	if !ok {
		return nil, zaqar.Invalidf(`Post body must contain key "resource_types".`)
	}
	var types []string
	if err := json.Unmarshal(raw, &types); err != nil {
		return nil, zaqar.Invalidf("Resource types must be a sub set of {'messages', 'subscriptions'}.")
	}
	for _, t := range types {
		if t != "messages" && t != "subscriptions" {
			return nil, zaqar.Invalidf("Resource types must be a sub set of {'messages', 'subscriptions'}.")
		}
	}
	return types, nil
}

// PurgeQueue removes the queue's unclaimed messages and/or its subscriptions.
// Zaqar purges messages by popping them, so claimed messages stay; we do the
// same. Unlike Zaqar (which drops only the first page) every subscription goes.
func (s *Service) PurgeQueue(ctx context.Context, q zaqar.QueueRef, types []string) error {
	for _, t := range types {
		switch t {
		case "messages":
			for {
				msgs, err := s.store.Messages().Pop(ctx, q, 100)
				if err != nil && !errors.Is(err, storage.ErrQueueNotFound) {
					return storeErr(err, "Queue could not be purged.")
				}
				if len(msgs) == 0 {
					break
				}
			}
		case "subscriptions":
			for {
				subs, err := s.store.Subscriptions().List(ctx, q, "", 100)
				if err != nil && !errors.Is(err, storage.ErrQueueNotFound) {
					return storeErr(err, "Queue could not be purged.")
				}
				if len(subs) == 0 {
					break
				}
				for _, sub := range subs {
					if err := s.store.Subscriptions().Delete(ctx, q, sub.ID); err != nil {
						return storeErr(err, "Queue could not be purged.")
					}
				}
			}
		}
	}
	return nil
}

// reservedDefaults are the values shown for reserved keys that are unset or
// falsy (zaqar/transport/wsgi/v2_0/queues.py _get_reserved_metadata);
// topics show only the first three (v2_0/topic.py).
func (s *Service) reservedDefaults(topic bool) map[string]any {
	r := map[string]any{
		"_max_messages_post_size": json.Number(itoa(s.limits.MaxMessagesPostSize)),
		"_default_message_ttl":    json.Number(itoa(int64(s.limits.DefaultMessageTTL / time.Second))),
		"_default_message_delay":  json.Number(itoa(int64(s.limits.DefaultMessageDelay / time.Second))),
	}
	if !topic {
		r["_dead_letter_queue"] = nil
		r["_dead_letter_queue_messages_ttl"] = nil
		r["_max_claim_count"] = nil
		r["_enable_encrypt_messages"] = false
	}
	return r
}

func (s *Service) withReserved(meta zaqar.Metadata, topic bool) zaqar.Metadata {
	for k, v := range s.reservedDefaults(topic) {
		if !truthy(meta[k]) {
			meta[k] = v
		}
	}
	return meta
}

// validateReserved checks reserved keys as Zaqar's queue_metadata_putting:
// types only when the value is truthy, ranges whenever it is not null.
func (s *Service) validateReserved(meta zaqar.Metadata) error {
	if len(meta) == 0 {
		return nil
	}
	maxTTL := int64(s.limits.MaxMessageTTL / time.Second)
	minTTL := int64(zaqar.MinMessageTTL / time.Second)
	intKey := func(key string) (int64, bool, error) {
		v, present := meta[key]
		if !present || v == nil {
			return 0, false, nil
		}
		n, ok := asInt(v)
		if !ok {
			return 0, false, zaqar.Invalidf("%s must be integer.", key)
		}
		return n, true, nil
	}
	if n, ok, err := intKey("_default_message_ttl"); err != nil {
		return err
	} else if ok && (n < minTTL || n > maxTTL) {
		return zaqar.Invalidf("_default_message_ttl can not exceed %d seconds, and must be at least %d seconds long.", maxTTL, minTTL)
	}
	if n, ok, err := intKey("_max_messages_post_size"); err != nil {
		return err
	} else if ok && (n <= 0 || n > s.limits.MaxMessagesPostSize) {
		return zaqar.Invalidf("_max_messages_post_size can not exceed %d,  and must be at least greater than 0.", s.limits.MaxMessagesPostSize)
	}
	// No range for the claim count, so Zaqar checks its type only when truthy.
	if v := meta["_max_claim_count"]; truthy(v) {
		if _, ok := asInt(v); !ok {
			return zaqar.Invalidf("_max_claim_count must be integer.")
		}
	}
	if n, ok, err := intKey("_dead_letter_queue_messages_ttl"); err != nil {
		return err
	} else if ok && (n < minTTL || n > maxTTL) {
		return zaqar.Invalidf("The TTL for a message may not exceed %d seconds, and must be at least %d seconds long.", maxTTL, minTTL)
	}
	maxDelay := int64(s.limits.MaxMessageDelay / time.Second)
	if n, ok, err := intKey("_default_message_delay"); err != nil {
		return err
	} else if ok && (n < 0 || n > maxDelay) {
		return zaqar.Invalidf("The TTL can not exceed %d seconds, and must be at least 0 seconds long.", maxDelay)
	}
	if v, ok := meta["_enable_encrypt_messages"]; ok && truthy(v) {
		if _, isBool := v.(bool); !isBool {
			return zaqar.Invalidf("_enable_encrypt_messages must be boolean.")
		}
	}
	if v, ok := meta["_dead_letter_queue"]; ok && truthy(v) {
		if _, isStr := v.(string); !isStr {
			return zaqar.Invalidf("_dead_letter_queue must be a string.")
		}
	}
	return ValidateRetryPolicy(meta["_retry_policy"])
}

// ValidateRetryPolicy checks a _retry_policy document (queue metadata or
// subscription options) as Zaqar's _validate_retry_policy.
func ValidateRetryPolicy(v any) error {
	if !truthy(v) {
		return nil
	}
	p, ok := v.(map[string]any)
	if !ok {
		return zaqar.Invalidf("retry_policy must be a dict.")
	}
	for _, key := range []string{"retries_with_no_delay", "minimum_delay_retries", "minimum_delay", "maximum_delay", "maximum_delay_retries"} {
		if x := p[key]; truthy(x) {
			if _, ok := asInt(x); !ok {
				return zaqar.Invalidf("Retry policy: %s must be a integer.", key)
			}
		}
	}
	if f := p["retry_backoff_function"]; truthy(f) {
		name, ok := f.(string)
		if !ok {
			return zaqar.Invalidf("retry_backoff_function must be a string.")
		}
		switch name {
		case "linear", "arithmetic", "geometric", "exponential":
		default:
			return zaqar.Invalidf("invalid retry_backoff_function.")
		}
	}
	if x := p["ignore_subscription_override"]; truthy(x) {
		if _, ok := x.(bool); !ok {
			return zaqar.Invalidf("ignore_subscription_override must be a boolean.")
		}
	}
	minDelay, maxDelay := int64(5), int64(30)
	if n, ok := asInt(p["minimum_delay"]); ok {
		minDelay = n
	}
	if n, ok := asInt(p["maximum_delay"]); ok {
		maxDelay = n
	}
	if maxDelay < minDelay {
		return zaqar.Invalidf("minimum_delay must less than maximum_delay.")
	}
	if maxDelay-minDelay < 10 {
		return zaqar.Invalidf("invalid minimum_delay and maximum_delay.")
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
