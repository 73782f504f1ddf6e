package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/signedurl"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// outboxProject holds one outbox queue per subscription. No client can name
// it: HTTP header values cannot carry a NUL byte.
const outboxProject = "\x00notify"

// outboxTTL keeps undelivered notifications for the longest message TTL
// Zaqar allows; a subscriber unreachable for longer loses them (logged by
// nobody: the entry simply expires).
const outboxTTL = 1209600 * time.Second

// AllowInternalOption is the subscription option the service sets (and
// strips from client input) when an admin creates a subscription whose
// webhook may reach loopback and link-local addresses.
const AllowInternalOption = "_allow_internal_target"

// Options configure a Notifier; zero values take the defaults in brackets.
type Options struct {
	Logger                 *slog.Logger
	Workers                int           // [notification] max_notifier_workers [10]
	RequireConfirmation    bool          // [notification] require_confirmation
	SignedURLKey           string        // [signed_url] secret_key: signs confirmation URLs
	PublicURL              string        // base URL of this API, for WSGISubscribeURL in confirmations
	DefaultSubscriptionTTL time.Duration // [transport] default_subscription_ttl [3600 s]
	Timeout                time.Duration // per webhook request [10 s]
	// DeniedNetworks are the addresses webhooks may not connect to unless
	// an admin created the subscription ([notification]
	// webhook_denied_networks, used while block_internal_webhooks is on:
	// loopback, link-local (cloud metadata) and the like by default).
	// Empty: no check.
	DeniedNetworks []netip.Prefix
	Mail           MailOptions
	// TrustToken returns a token scoped to a Keystone trust, for
	// trust+http(s) subscribers; nil means they cannot be notified.
	TrustToken func(ctx context.Context, trustID string) (string, error)
	ClaimTTL   time.Duration // how long a worker holds outbox entries before renewing [60 s]
	Sweep      time.Duration // how often to look for outbox work left by crashes or other nodes [30 s]
	CacheTTL   time.Duration // how long a queue's subscriber list is reused on posts [1 s]
	// Observe, when set, is told how each delivery ended (Delivered, or
	// Failed once its retries are spent) and of each retry, with the kind
	// of subscriber (see Kind). For metrics: it must return quickly.
	Observe func(kind string, o Outcome)

	sleep func(context.Context, time.Duration) error // tests shorten retries
}

// Notifier fans posted messages out to subscribers.
type Notifier struct {
	store   storage.Store
	opts    Options
	log     *slog.Logger
	guarded *http.Client // refuses internal addresses
	open    *http.Client
	wake    chan string
	sem     chan struct{}
	mu      sync.Mutex
	active  map[string]bool // subscriptions with a worker on this node
	again   map[string]bool // work arrived while the worker ran
	cache   map[zaqar.QueueRef]cached
	wg      sync.WaitGroup
}

type cached struct {
	subs    []zaqar.Subscription
	expires time.Time
}

// envelope is one outbox entry.
type envelope struct {
	Kind    string          `json:"k"` // kindNotification, kindConfirm, kindUnsubscribe
	Project string          `json:"p"`
	Queue   string          `json:"q"`
	Sub     string          `json:"s"`
	Payload json.RawMessage `json:"b"`
}

const (
	kindNotification = "n"
	kindConfirm      = "c"
	kindUnsubscribe  = "u"
)

// Outcome is how a delivery attempt ended, for Options.Observe.
type Outcome uint8

const (
	Delivered Outcome = iota // the subscriber accepted it
	Failed                   // given up: retries spent, a final refusal, or undeliverable
	Retried                  // one more attempt follows a failed one
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Failed:
		return "failed"
	case Retried:
		return "retried"
	}
	return "unknown"
}

// Kinds of subscriber, as Kind names them.
const (
	KindWebhook = "webhook" // http, https (connection-bound WebSocket subscriptions too)
	KindTrust   = "trust"   // trust+http, trust+https
	KindMail    = "mailto"
	KindOther   = "other" // a scheme that cannot be notified
)

// Kind classifies a subscriber URI by scheme into one of a few kinds, so
// that metrics labelled by it stay bounded.
func Kind(subscriber string) string {
	scheme, _, ok := strings.Cut(subscriber, ":")
	if !ok {
		return KindOther
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		return KindWebhook
	case "trust+http", "trust+https":
		return KindTrust
	case "mailto":
		return KindMail
	}
	return KindOther
}

func (n *Notifier) observe(subscriber string, o Outcome) {
	if n.opts.Observe != nil {
		n.opts.Observe(Kind(subscriber), o)
	}
}

// New returns a Notifier over store; call Run to deliver.
func New(store storage.Store, opts Options) *Notifier {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = 10
	}
	if opts.DefaultSubscriptionTTL <= 0 {
		opts.DefaultSubscriptionTTL = time.Hour
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.ClaimTTL <= 0 {
		opts.ClaimTTL = time.Minute
	}
	if opts.Sweep <= 0 {
		opts.Sweep = 30 * time.Second
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = time.Second
	}
	if opts.sleep == nil {
		opts.sleep = sleepCtx
	}
	opts.Mail.defaults()
	return &Notifier{
		store: store, opts: opts, log: opts.Logger,
		guarded: webhookClient(opts.Timeout, opts.DeniedNetworks),
		open:    webhookClient(opts.Timeout, nil),
		wake:    make(chan string, 1024),
		sem:     make(chan struct{}, opts.Workers),
		active:  map[string]bool{},
		again:   map[string]bool{},
		cache:   map[zaqar.QueueRef]cached{},
	}
}

func outbox(subID string) zaqar.QueueRef { return zaqar.QueueRef{Project: outboxProject, Name: subID} }

// Enqueue durably records one notification per message for every
// subscriber of q that should get it. Call it before storing msgs, and call
// the returned release after, so workers start on them.
func (n *Notifier) Enqueue(ctx context.Context, q zaqar.QueueRef, msgs []zaqar.NewMessage) (release func(), err error) {
	subs, err := n.subscribers(ctx, q)
	if err != nil || len(subs) == 0 {
		return func() {}, err
	}
	var targets []string
	for _, s := range subs {
		if n.opts.RequireConfirmation && !s.Confirmed {
			continue // Zaqar skips unconfirmed subscribers only when confirmation is required
		}
		targets = append(targets, s.ID)
	}
	if len(targets) == 0 {
		return func() {}, nil
	}
	entries := make([]zaqar.NewMessage, len(msgs))
	for i, m := range msgs {
		p := notificationPayload{Body: m.Body, TTL: int64(m.TTL / time.Second), QueueName: q.Name, MessageType: "Notification"}
		if m.Delay > 0 {
			d := int64(m.Delay / time.Second)
			p.Delay = &d
		}
		payload, err := json.Marshal(p)
		if err != nil {
			return func() {}, err
		}
		entries[i] = zaqar.NewMessage{TTL: outboxTTL, Body: payload}
	}
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, id := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]zaqar.NewMessage, len(entries))
			for j, e := range entries {
				env, _ := json.Marshal(envelope{Kind: kindNotification, Project: q.Project, Queue: q.Name, Sub: id, Payload: e.Body})
				batch[j] = zaqar.NewMessage{TTL: e.TTL, Body: env}
			}
			_, errs[i] = n.store.Messages().Post(ctx, outbox(id), batch)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return func() {}, fmt.Errorf("notification outbox: %w", err)
	}
	return func() {
		for _, id := range targets {
			n.signal(id)
		}
	}, nil
}

// notificationPayload is Zaqar's notification body: the message as posted
// after defaults, with the queue name and message type added.
type notificationPayload struct {
	Body        json.RawMessage `json:"body"`
	TTL         int64           `json:"ttl"`
	Delay       *int64          `json:"delay,omitempty"`
	QueueName   string          `json:"queue_name"`
	MessageType string          `json:"Message_Type"`
}

// subscribers lists the live subscriptions of q, reusing a recent answer:
// Zaqar lists them on every post; a short cache keeps that off the hot path.
func (n *Notifier) subscribers(ctx context.Context, q zaqar.QueueRef) ([]zaqar.Subscription, error) {
	now := time.Now()
	n.mu.Lock()
	c, ok := n.cache[q]
	n.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.subs, nil
	}
	var all []zaqar.Subscription
	marker := ""
	for {
		page, err := n.store.Subscriptions().List(ctx, q, marker, 100)
		if err != nil && !errors.Is(err, storage.ErrQueueNotFound) {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < 100 {
			break
		}
		marker = page[len(page)-1].ID
	}
	n.mu.Lock()
	if len(n.cache) > 10000 {
		n.cache = map[zaqar.QueueRef]cached{} // bound memory; entries are cheap to rebuild
	}
	n.cache[q] = cached{subs: all, expires: now.Add(n.opts.CacheTTL)}
	n.mu.Unlock()
	return all, nil
}

// Invalidate drops the cached subscriber list of q after a local change.
func (n *Notifier) Invalidate(q zaqar.QueueRef) {
	n.mu.Lock()
	delete(n.cache, q)
	n.mu.Unlock()
}

// Forget removes what is pending for a deleted subscription.
func (n *Notifier) Forget(ctx context.Context, q zaqar.QueueRef, subID string) error {
	n.Invalidate(q)
	return n.store.Queues().Delete(ctx, outbox(subID))
}

// Confirm sends a subscription (or, with unsubscribe, an unsubscription)
// confirmation request carrying a pre-signed URL to the confirm route. It
// does nothing unless confirmation is required and a signing key is set, as
// in Zaqar.
func (n *Notifier) Confirm(ctx context.Context, q zaqar.QueueRef, sub zaqar.Subscription, unsubscribe bool) error {
	n.Invalidate(q)
	if !n.opts.RequireConfirmation {
		return nil
	}
	if n.opts.SignedURLKey == "" {
		n.log.Error("cannot send a confirmation request: [signed_url] secret_key is not set", "queue", q.Name)
		return nil
	}
	ttl := sub.TTL
	if unsubscribe || ttl <= 0 {
		ttl = n.opts.DefaultSubscriptionTTL
	}
	path := q.Path() + "/subscriptions/" + sub.ID + "/confirm"
	u := signedurl.Sign(n.opts.SignedURLKey, q.Owner(), []string{path}, []string{"PUT"}, time.Now().Add(ttl))
	kind, typ, text := kindConfirm, "SubscriptionConfirmation", "You have chosen to subscribe to the queue: "+q.Name
	if unsubscribe {
		kind, typ = kindUnsubscribe, "UnsubscribeConfirmation"
		text = "You have unsubscribed successfully to the queue: " + q.Name + ", you can resubscribe it by using confirmed=True."
	}
	payload := map[string]any{
		"Message_Type":    typ,
		"Message":         text,
		"URL-Signature":   u.Signature,
		"URL-Methods":     u.Methods[0],
		"URL-Paths":       u.Paths[0],
		"X-Project-ID":    u.Project,
		"URL-Expires":     u.Expires,
		"SubscribeBody":   map[string]bool{"confirmed": true},
		"UnsubscribeBody": map[string]bool{"confirmed": false},
		"queue_name":      q.Name,
	}
	if n.opts.PublicURL != "" {
		payload["WSGISubscribeURL"] = strings.TrimRight(n.opts.PublicURL, "/") + path
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	env, _ := json.Marshal(envelope{Kind: kind, Project: q.Project, Queue: q.Name, Sub: sub.ID, Payload: b})
	if _, err := n.store.Messages().Post(ctx, outbox(sub.ID), []zaqar.NewMessage{{TTL: outboxTTL, Body: env}}); err != nil {
		return fmt.Errorf("notification outbox: %w", err)
	}
	n.signal(sub.ID)
	return nil
}

func (n *Notifier) signal(subID string) {
	select {
	case n.wake <- subID:
	default:
		// The channel is full: the sweep will find this outbox.
	}
}

// Run delivers until ctx ends, then waits for workers to stop.
func (n *Notifier) Run(ctx context.Context) {
	tick := time.NewTicker(n.opts.Sweep)
	defer tick.Stop()
	n.sweep(ctx)
	for {
		select {
		case <-ctx.Done():
			n.wg.Wait()
			return
		case id := <-n.wake:
			n.start(ctx, id)
		case <-tick.C:
			n.sweep(ctx)
		}
	}
}

// sweep starts a worker for every outbox: it finds work left by a crash or
// enqueued by another API node.
func (n *Notifier) sweep(ctx context.Context) {
	marker := ""
	for ctx.Err() == nil {
		qs, err := n.store.Queues().List(ctx, outboxProject, storage.QueueListOptions{Marker: marker, Limit: 100})
		if err != nil {
			n.log.Warn("notification sweep failed", "err", err)
			return
		}
		for _, q := range qs {
			n.start(ctx, q.Name)
		}
		if len(qs) < 100 {
			return
		}
		marker = qs[len(qs)-1].Name
	}
}

func (n *Notifier) start(ctx context.Context, subID string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.active[subID] {
		n.again[subID] = true
		return
	}
	n.active[subID] = true
	n.wg.Add(1)
	go n.worker(ctx, subID)
}

// worker drains one subscription's outbox in order.
func (n *Notifier) worker(ctx context.Context, subID string) {
	defer n.wg.Done()
	select {
	case n.sem <- struct{}{}:
	case <-ctx.Done():
		n.finish(subID)
		return
	}
	defer func() { <-n.sem }()
	ob := outbox(subID)
	for ctx.Err() == nil {
		claim, msgs, err := n.store.Claims().Create(ctx, ob, storage.ClaimOptions{TTL: n.opts.ClaimTTL, Grace: n.opts.ClaimTTL, Limit: 10})
		if err != nil {
			n.log.Warn("notification outbox unavailable", "subscription", subID, "err", err)
			break
		}
		if claim.ID == "" {
			n.mu.Lock()
			if n.again[subID] {
				delete(n.again, subID)
				n.mu.Unlock()
				continue
			}
			delete(n.active, subID)
			n.mu.Unlock()
			return
		}
		// Delivered entries are removed together after the batch: one write
		// instead of one per entry. A crash in between delivers them again,
		// which at-least-once allows.
		var handled []string
		for _, m := range msgs {
			if ctx.Err() != nil {
				break
			}
			ok, gone := n.handle(ctx, ob, claim.ID, m)
			if gone {
				handled = nil // the outbox is already dropped
				break
			}
			if ok {
				handled = append(handled, m.ID)
			}
		}
		if len(handled) > 0 {
			if err := n.store.Messages().DeleteMany(ctx, ob, handled, nil); err != nil {
				n.log.Warn("cannot remove delivered outbox entries; they may be delivered again", "outbox", ob.Name, "err", err)
			}
		}
	}
	n.finish(subID)
}

func (n *Notifier) finish(subID string) {
	n.mu.Lock()
	delete(n.active, subID)
	delete(n.again, subID)
	n.mu.Unlock()
}

// handle delivers one outbox entry. done means the entry is finished
// (delivered, or dropped after its retries) and may be removed; gone means
// the subscription no longer exists and its outbox was dropped.
func (n *Notifier) handle(ctx context.Context, ob zaqar.QueueRef, claimID string, m zaqar.Message) (done, gone bool) {
	var env envelope
	if err := json.Unmarshal(m.Body, &env); err != nil {
		n.log.Error("dropping a malformed outbox entry", "outbox", ob.Name, "err", err)
		return true, false
	}
	ref := zaqar.QueueRef{Project: env.Project, Name: env.Queue}
	sub, err := n.store.Subscriptions().Get(ctx, ref, env.Sub)
	if errors.Is(err, storage.ErrSubscriptionNotFound) || errors.Is(err, storage.ErrQueueNotFound) {
		if err := n.store.Queues().Delete(ctx, ob); err != nil {
			n.log.Warn("cannot drop the outbox of a deleted subscription", "subscription", env.Sub, "err", err)
		}
		return false, true
	}
	if err != nil {
		n.log.Warn("subscription unavailable; delivery will be retried", "subscription", env.Sub, "err", err)
		return false, false // the claim expires and the entry comes back
	}
	if env.Kind == kindNotification && n.opts.RequireConfirmation && !sub.Confirmed {
		return true, false // unconfirmed since it was enqueued
	}
	renewed := time.Now()
	keepAlive := func() {
		if time.Since(renewed) > n.opts.ClaimTTL/2 {
			if err := n.store.Claims().Update(ctx, ob, claimID, n.opts.ClaimTTL, n.opts.ClaimTTL); err != nil {
				n.log.Warn("cannot renew the outbox claim", "subscription", sub.ID, "err", err)
			}
			renewed = time.Now()
		}
	}
	if err := n.deliver(ctx, ref, sub, env, keepAlive); err != nil {
		if ctx.Err() != nil {
			return false, false // shutting down: the claim expires and another try follows
		}
		n.observe(sub.Subscriber, Failed)
		n.log.Error("notification dropped after retries", "project", ref.Owner(), "queue", ref.Name,
			"subscription", sub.ID, "subscriber", redact(sub.Subscriber), "err", err)
		return true, false
	}
	n.observe(sub.Subscriber, Delivered)
	return true, false
}

// deliver sends one entry by the subscriber's scheme.
func (n *Notifier) deliver(ctx context.Context, q zaqar.QueueRef, sub zaqar.Subscription, env envelope, keepAlive func()) error {
	u, err := url.Parse(sub.Subscriber)
	if err != nil {
		return fmt.Errorf("bad subscriber URI: %w", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		var queuePolicy any
		if meta, err := n.store.Queues().Get(ctx, q); err == nil {
			queuePolicy = meta["_retry_policy"]
		}
		return n.webhook(ctx, sub, u.String(), env.Payload, nil, choosePolicy(sub.Options["_retry_policy"], queuePolicy), keepAlive)
	case "mailto":
		return n.mail(ctx, q, sub, u, env)
	case "trust+http", "trust+https":
		// The webhook is sent as the trustor, through the trust created with
		// the subscription (zaqar/notification/tasks/trust.py).
		trustID, _ := sub.Options["trust_id"].(string)
		if n.opts.TrustToken == nil || trustID == "" {
			return fmt.Errorf("trust subscriber without a trust or without Keystone")
		}
		token, err := n.opts.TrustToken(ctx, trustID)
		if err != nil {
			return fmt.Errorf("token for trust: %w", err)
		}
		target := *u
		target.Scheme = strings.TrimPrefix(strings.ToLower(u.Scheme), "trust+")
		var queuePolicy any
		if meta, err := n.store.Queues().Get(ctx, q); err == nil {
			queuePolicy = meta["_retry_policy"]
		}
		return n.webhook(ctx, sub, target.String(), env.Payload, http.Header{"X-Auth-Token": {token}},
			choosePolicy(sub.Options["_retry_policy"], queuePolicy), keepAlive)
	}
	return fmt.Errorf("subscriber scheme %q cannot be notified", u.Scheme)
}

// redact hides credentials of a URI for logs.
func redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}

// pause waits before a retry without holding a worker slot, so subscribers
// that keep failing cannot starve the others of workers; the slot is taken
// back before the next attempt.
func (n *Notifier) pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return n.opts.sleep(ctx, d)
	}
	<-n.sem
	err := n.opts.sleep(ctx, d)
	select {
	case n.sem <- struct{}{}:
	case <-ctx.Done():
		// Shutting down: take the slot anyway so the worker's release balances.
		n.sem <- struct{}{}
	}
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
