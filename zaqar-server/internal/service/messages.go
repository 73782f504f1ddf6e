package service

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// PostMessages validates a message post document ({"messages": [...]}) with
// the queue's settings and stores it, creating the queue when absent. The
// size limit applies to the document as received (Zaqar checks the
// Content-Length, given as size): the smaller of max_messages_post_size and
// the queue's _max_messages_post_size. Over the limit, body is not looked at.
func (s *Service) PostMessages(ctx context.Context, sc Scope, q zaqar.QueueRef, body []byte, size int64) ([]string, error) {
	if err := ValidateQueue(q); err != nil {
		return nil, err
	}
	meta, err := s.settings(ctx, q)
	if err != nil {
		return nil, storeErr(err, "Messages could not be enqueued.")
	}
	max := s.limits.MaxMessagesPostSize
	if qmax, ok := asInt(meta["_max_messages_post_size"]); ok && qmax > 0 && qmax < max {
		if size > qmax {
			return nil, zaqar.Invalidf("Message collection size is too large. The max size for current queue is %d. It is calculated by max size = min(max_messages_post_size_config: %d, max_messages_post_size_queue: %d).", qmax, max, qmax)
		}
	}
	if size > max {
		return nil, zaqar.Invalidf("Message collection size is too large. Max size %d", max)
	}
	msgs, err := s.parseMessages(meta, body, sc.ClientID)
	if err != nil {
		return nil, err
	}
	if encrypted(meta) {
		// Sealed before anything is written, outbox included, so no store
		// holds the plaintext; subscribers get the sealed body, as in Zaqar.
		s.sealAll(msgs)
	}
	release := func() {}
	if s.notifier != nil {
		// Notifications are durable before the messages, so an acknowledged
		// post is always notified (see package notify).
		if release, err = s.notifier.Enqueue(ctx, q, msgs); err != nil {
			return nil, storeErr(err, "Messages could not be enqueued.")
		}
	}
	ids, err := s.store.Messages().Post(ctx, q, msgs)
	release()
	if err != nil {
		return nil, storeErr(err, "Messages could not be enqueued.")
	}
	s.waiters.posted(q, len(ids))
	return ids, nil
}

func (s *Service) parseMessages(meta zaqar.Metadata, body []byte, clientID string) ([]zaqar.NewMessage, error) {
	raw, err := decodeDoc(body)
	if err != nil {
		return nil, err
	}
	var list []byte // a top-level array has no "messages" either
	if raw[0] == '{' {
		err := walkObject(raw, func(key, val []byte, _ bool) error {
			if string(key) == "messages" {
				list = val // the last one wins, as in a decoded map
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if list == nil {
		return nil, zaqar.Invalidf("No messages were found in the request body.")
	}
	if list[0] != '[' {
		return nil, errDocType
	}
	defTTL := int64(s.limits.DefaultMessageTTL / time.Second)
	if n, ok := asInt(meta["_default_message_ttl"]); ok && n != 0 {
		defTTL = n
	}
	delayed := false
	var defDelay int64
	if n, ok := asInt(meta["_default_message_delay"]); ok && n != 0 {
		delayed, defDelay = true, n
	}
	maxTTL := int64(s.limits.MaxMessageTTL / time.Second)
	maxDelay := int64(s.limits.MaxMessageDelay / time.Second)
	var out []zaqar.NewMessage
	err = walkArray(list, func(item []byte, _ bool) error {
		if item[0] != '{' {
			return errDocType
		}
		var ttlRaw, delayRaw, b []byte
		bodyCompact := true
		err := walkObject(item, func(key, val []byte, compact bool) error {
			switch string(key) {
			case "ttl":
				ttlRaw = val
			case "delay":
				delayRaw = val
			case "body":
				b, bodyCompact = val, compact
			}
			return nil
		})
		if err != nil {
			return err
		}
		ttl, delay := defTTL, int64(0)
		if ttlRaw != nil {
			if ttl, err = parseInt("ttl", ttlRaw); err != nil {
				return err
			}
		}
		if b == nil {
			return zaqar.BadBodyf(`Missing "body" field.`)
		}
		// Every stored message must be readable in both encodings.
		if err := checkNumbers(b); err != nil {
			return err
		}
		if delayed {
			delay = defDelay
			if delayRaw != nil {
				if delay, err = parseInt("delay", delayRaw); err != nil {
					return err
				}
			}
		}
		if bodyCompact {
			b = bytes.Clone(b)
		} else {
			b = compact(b)
		}
		out = append(out, zaqar.NewMessage{
			Body:     b,
			TTL:      time.Duration(ttl) * time.Second,
			Delay:    time.Duration(delay) * time.Second,
			ClientID: clientID,
		})
		if ttl < 60 || ttl > maxTTL {
			return zaqar.Invalidf("The TTL for a message may not exceed %d seconds, and must be at least 60 seconds long.", maxTTL)
		}
		if delay < 0 || delay > maxDelay {
			return zaqar.Invalidf("The Delay TTL for a message may not exceed %d seconds,and must be at least 0 seconds long.", maxDelay)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, zaqar.Invalidf("No messages to enqueu.")
	}
	if s.checksum {
		for i := range out {
			out[i].Checksum = checksum(out[i].Body)
		}
	}
	return out, nil
}

func compact(b json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}

// checksum is Zaqar's "MD5:<hex>" of the serialised body, empty for null.
func checksum(body json.RawMessage) string {
	if string(body) == "null" {
		return ""
	}
	sum := md5.Sum(body)
	return "MD5:" + hex.EncodeToString(sum[:])
}

// MessageListParams are a listing's parameters after defaults.
type MessageListParams struct {
	Marker         string
	Limit          *int
	Echo           bool
	IncludeClaimed bool
	IncludeDelayed bool
	// Wait is how long to wait, in seconds, for a page that is not empty
	// (long polling; nil or 0: answer at once).
	Wait *int
}

// MessagePage is one page of messages.
type MessagePage struct {
	Messages []zaqar.Message
	// DelayIgnored is true when the queue has no _default_message_delay, so
	// include_delayed was forced on (Zaqar then repeats include_delayed=true
	// in the next link).
	DelayIgnored bool
}

// ListMessages lists messages in queue order after the marker.
func (s *Service) ListMessages(ctx context.Context, sc Scope, q zaqar.QueueRef, p MessageListParams) (MessagePage, error) {
	limit := zaqar.DefaultPageSize
	if p.Limit != nil {
		limit = *p.Limit
		if err := s.checkPage(limit); err != nil {
			return MessagePage{}, err
		}
	}
	meta, err := s.settings(ctx, q)
	if err != nil {
		return MessagePage{}, storeErr(err, "Messages could not be listed.")
	}
	page := MessagePage{}
	if n, ok := asInt(meta["_default_message_delay"]); !ok || n == 0 {
		page.DelayIgnored, p.IncludeDelayed = true, true
	}
	wait, err := s.waitFor(p.Wait)
	if err != nil {
		return MessagePage{}, err
	}
	opts := storage.MessageListOptions{
		Marker: p.Marker, Limit: limit, ClientID: sc.ClientID, Echo: p.Echo,
		IncludeClaimed: p.IncludeClaimed, IncludeDelayed: p.IncludeDelayed,
	}
	err = s.await(ctx, q, false, wait, func() (bool, error) {
		msgs, err := s.store.Messages().List(ctx, q, opts)
		if err != nil && !errors.Is(err, storage.ErrQueueNotFound) {
			return false, storeErr(err, "Messages could not be listed.")
		}
		page.Messages = msgs
		return len(msgs) > 0, nil
	})
	if err != nil {
		return MessagePage{}, err
	}
	page.Messages = s.openAll(page.Messages)
	return page, nil
}

func (s *Service) checkPage(n int) error {
	if n < 1 || n > s.limits.MaxMessagesPerPage {
		return zaqar.Invalidf("Limit must be at least 1 and may not be greater than %d.", s.limits.MaxMessagesPerPage)
	}
	return nil
}

// GetMessage returns one message.
func (s *Service) GetMessage(ctx context.Context, q zaqar.QueueRef, id string) (zaqar.Message, error) {
	m, err := s.store.Messages().Get(ctx, q, id)
	if errors.Is(err, storage.ErrMessageNotFound) || errors.Is(err, storage.ErrQueueNotFound) {
		return zaqar.Message{}, zaqar.NotFoundf("Message %s does not exist in %s %s for project %s", id, q.Kind(), q.Name, q.Owner())
	}
	if err != nil {
		return zaqar.Message{}, storeErr(err, "Message could not be retrieved.")
	}
	return s.openAll([]zaqar.Message{m})[0], nil
}

// GetMessages returns the messages of ids that exist; 404 when none does.
func (s *Service) GetMessages(ctx context.Context, q zaqar.QueueRef, ids []string) ([]zaqar.Message, error) {
	if err := s.checkPage(len(ids)); err != nil {
		return nil, err
	}
	msgs, err := s.store.Messages().GetMany(ctx, q, ids)
	if err != nil && !errors.Is(err, storage.ErrQueueNotFound) {
		return nil, storeErr(err, "Message could not be retrieved.")
	}
	if len(msgs) == 0 {
		return nil, zaqar.NotFoundf("No messages with IDs: %s found in the %s %s for project %s.", pyList(ids), q.Kind(), q.Name, q.Owner())
	}
	return s.openAll(inOrderAsked(msgs, ids)), nil
}

// inOrderAsked orders msgs as ids names them, as Zaqar's Redis driver
// answers (a pipeline of one read per id); stores return queue order. A
// message named twice comes once, where it is first named.
func inOrderAsked(msgs []zaqar.Message, ids []string) []zaqar.Message {
	if len(msgs) < 2 {
		return msgs
	}
	byID := make(map[string]zaqar.Message, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
	}
	out := msgs[:0:0]
	for _, id := range ids {
		if m, ok := byID[id]; ok {
			out = append(out, m)
			delete(byID, id)
		}
	}
	return out
}

// Errors of deleting a message with or without a claim
// (zaqar/transport/wsgi/v2_0/messages.py ItemResource.on_delete).
var (
	errNotClaimed = &zaqar.Error{Kind: zaqar.Invalid, Title: zaqar.TitleUnableDelete,
		Desc: "A claim was specified, but the message is not currently claimed."}
	errClaimGone = &zaqar.Error{Kind: zaqar.Invalid, Title: zaqar.TitleUnableDelete,
		Desc: "The specified claim does not exist or has expired."}
	errClaimed = &zaqar.Error{Kind: zaqar.Forbidden, Title: zaqar.TitleUnableDelete,
		Desc: "This message is claimed; it cannot be deleted without a valid claim ID."}
)

// DeleteMessage deletes one message, enforcing claim ownership.
func (s *Service) DeleteMessage(ctx context.Context, q zaqar.QueueRef, id, claimID string) error {
	err := s.store.Messages().Delete(ctx, q, id, claimID)
	switch {
	case err == nil, errors.Is(err, storage.ErrMessageNotFound), errors.Is(err, storage.ErrQueueNotFound):
		return nil
	case errors.Is(err, storage.ErrMessageNotClaimed):
		return errNotClaimed
	case errors.Is(err, storage.ErrClaimNotFound):
		return errClaimGone
	case errors.Is(err, storage.ErrMessageClaimed):
		return errClaimed
	}
	return storeErr(err, "Message could not be deleted.")
}

// DeleteParams are the query of a bulk delete: ids or pop, and claim_ids.
type DeleteParams struct {
	IDs      []string // nil when absent
	Pop      *int
	ClaimIDs []string // nil when absent
}

// ValidateDeletion checks a bulk delete as Zaqar's message_deletion.
func (s *Service) ValidateDeletion(p DeleteParams) error {
	if p.Pop != nil && p.IDs != nil {
		return zaqar.Invalidf("pop and id params cannot be present together in the delete request.")
	}
	if p.Pop == nil && p.IDs == nil {
		return zaqar.Invalidf(`The request should have either "ids" or "pop" parameter in the request, to be able to delete.`)
	}
	if s.limits.MessageDeleteWithClaimID && ((p.IDs != nil && p.ClaimIDs == nil) || (p.IDs == nil && p.ClaimIDs != nil)) {
		return zaqar.Invalidf(`The request should have both "ids" and "claim_ids" parameter in the request when message_delete_with_claim_id is True.`)
	}
	if p.Pop != nil && (*p.Pop < 1 || *p.Pop > s.limits.MaxMessagesPerClaimOrPop) {
		return zaqar.Invalidf("Pop value must be at least 1 and may not be greater than %d.", s.limits.MaxMessagesPerClaimOrPop)
	}
	if p.IDs != nil && (len(p.IDs) < 1 || len(p.IDs) > s.limits.MaxMessagesPerPage) {
		return zaqar.Invalidf("ids parameter should have at least 1 and not greater than %d values.", s.limits.MaxMessagesPerPage)
	}
	return nil
}

// DeleteMessages is a bulk delete as both wires ask for it: by ids, or a
// pop of up to p.Pop messages, which returns the messages it removed.
func (s *Service) DeleteMessages(ctx context.Context, q zaqar.QueueRef, p DeleteParams) (popped []zaqar.Message, err error) {
	if err := s.ValidateDeletion(p); err != nil {
		return nil, err
	}
	if p.IDs != nil {
		return nil, s.deleteByIDs(ctx, q, p)
	}
	return s.PopMessages(ctx, q, *p.Pop)
}

// deleteByIDs deletes messages by id, ignoring claims unless
// message_delete_with_claim_id is on.
func (s *Service) deleteByIDs(ctx context.Context, q zaqar.QueueRef, p DeleteParams) error {
	var claimIDs []string
	if s.limits.MessageDeleteWithClaimID {
		claimIDs = p.ClaimIDs
	}
	err := s.store.Messages().DeleteMany(ctx, q, p.IDs, claimIDs)
	switch {
	case err == nil, errors.Is(err, storage.ErrQueueNotFound):
		return nil
	case errors.Is(err, storage.ErrMessageClaimed):
		return errClaimed
	}
	return storeErr(err, "Messages could not be deleted.")
}

// PopMessages removes and returns up to n unclaimed messages.
func (s *Service) PopMessages(ctx context.Context, q zaqar.QueueRef, n int) ([]zaqar.Message, error) {
	if err := s.ValidateDeletion(DeleteParams{Pop: &n}); err != nil {
		return nil, err
	}
	msgs, err := s.store.Messages().Pop(ctx, q, n)
	if err != nil && !errors.Is(err, storage.ErrQueueNotFound) {
		return nil, storeErr(err, "Messages could not be popped.")
	}
	return s.openAll(msgs), nil
}
