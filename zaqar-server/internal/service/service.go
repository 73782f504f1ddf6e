// Package service is the one service layer shared by the REST and WebSocket
// transports: it validates input with Zaqar's rules and messages, applies
// defaults and queue-level settings (reserved metadata), calls the store and
// turns storage errors into client-facing *zaqar.Error values. It knows
// nothing of HTTP: hrefs, headers and status codes belong to the transports.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/notify"
	"github.com/zaqar-go/suite/zaqar-server/internal/policy"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Options configure a Service.
type Options struct {
	Limits       zaqar.Limits
	Checksum     bool   // [DEFAULT] enable_checksum
	SignedURLKey string // [signed_url] secret_key; empty disables pre-signed URLs
	// Notifier delivers to subscribers; nil stores subscriptions but notifies nobody.
	Notifier *notify.Notifier
	// CreateTrust delegates the caller's roles to the service user until
	// expires, for trust+http(s) subscribers (Keystone); nil refuses them.
	CreateTrust func(ctx context.Context, sc Scope, expires time.Time) (trustID string, err error)
	// EncryptionKey is [transport] message_encryption_key, used by queues
	// with _enable_encrypt_messages; PreviousKeys still open older bodies.
	EncryptionKey string
	PreviousKeys  []string
	// Policy decides Authorize; nil means Zaqar's default rules.
	Policy *policy.Enforcer
	// ReadyTTL is how long a readiness answer is reused (default 1 s).
	ReadyTTL time.Duration
	// WaitRecheck is how often a long poll re-checks the store unasked
	// (delays ending, claims expiring, signals lost); default 1 s.
	WaitRecheck time.Duration
	Logger      *slog.Logger
}

// Service implements every Zaqar operation over one storage.Store.
type Service struct {
	store     storage.Store
	limits    zaqar.Limits
	checksum  bool
	signedKey string
	notifier  *notify.Notifier
	trust     func(ctx context.Context, sc Scope, expires time.Time) (string, error)
	metas     metaCache
	sealer    *sealer
	ready     readiness
	log       *slog.Logger
	policy    *policy.Enforcer
	waiters   *waiters
}

// New returns a Service over store.
func New(store storage.Store, opts Options) *Service {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key := opts.EncryptionKey
	if key == "" {
		key = "AES256" // Zaqar's default message_encryption_key
	}
	sealer, err := newSealer(key, opts.PreviousKeys, log)
	if err != nil {
		panic(err) // AES-256 keys are always 32 bytes: cannot happen
	}
	if opts.ReadyTTL <= 0 {
		opts.ReadyTTL = time.Second
	}
	if opts.Policy == nil {
		opts.Policy, _ = policy.New(policy.Defaults())
	}
	signals := storage.SignalerOf(store)
	return &Service{store: store, limits: opts.Limits, checksum: opts.Checksum, signedKey: opts.SignedURLKey,
		notifier: opts.Notifier, trust: opts.CreateTrust, sealer: sealer, ready: readiness{ttl: opts.ReadyTTL}, log: log,
		policy: opts.Policy, waiters: newWaiters(opts.Limits, signals, opts.WaitRecheck, log)}
}

// Limits returns the limits the service enforces.
func (s *Service) Limits() zaqar.Limits { return s.limits }

// Scope is who is asking: the project, the client's Client-ID and, when
// known, the user and roles (from a Keystone token, or X-Roles without auth).
type Scope struct {
	Project  string
	ClientID string
	UserID   string
	Roles    []string
	// Signed is set when a pre-signed URL, not a token, authorised the request.
	Signed bool
	// Token is the caller's Keystone token, kept only to create trusts for
	// trust+http(s) subscribers; never logged.
	Token string
}

// Ping reports whether storage answers.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return storeErr(err, "Storage is not reachable.")
	}
	return nil
}

var queueNameRE = regexp.MustCompile(`^[a-zA-Z0-9_\-.]+$`)

// ValidateQueue checks a queue name and project id with Zaqar's rules
// (zaqar/transport/validation.py queue_identification).
func ValidateQueue(q zaqar.QueueRef) error {
	if len(q.Owner()) > zaqar.MaxProjectIDLen {
		return zaqar.Invalidf("Project ids may not be more than %d characters long.", zaqar.MaxProjectIDLen)
	}
	if len(q.Name) > zaqar.MaxQueueNameLen {
		return zaqar.Invalidf("Queue names may not be more than %d characters long.", zaqar.MaxQueueNameLen)
	}
	if !queueNameRE.MatchString(q.Name) {
		if q.IsTopic() {
			return zaqar.Invalidf("Topic names may only contain ASCII letters, digits, underscores, and dashes.")
		}
		return zaqar.Invalidf("Queue names may only contain ASCII letters, digits, underscores, and dashes.")
	}
	return nil
}

// storeErr turns a storage failure into a client-facing error. Errors that
// already carry a Kind pass through; anything else is a backend failure,
// answered as Zaqar does with 503 and desc (zaqar/transport/wsgi/errors.py).
func storeErr(err error, desc string) error {
	var ze *zaqar.Error
	if errors.As(err, &ze) {
		if ze.Kind == zaqar.Unavailable && ze.Desc == "" {
			return &zaqar.Error{Kind: zaqar.Unavailable, Title: zaqar.TitleUnavailable, Desc: desc, Err: err}
		}
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &zaqar.Error{Kind: zaqar.Unavailable, Title: zaqar.TitleUnavailable, Desc: desc, Err: err}
	}
	return zaqar.Unavailablef(err, "%s", desc)
}

func queueNotFound(q zaqar.QueueRef) error {
	if q.IsTopic() {
		return zaqar.NotFoundf("Topic %s does not exist for project %s", q.Name, q.Owner())
	}
	return zaqar.NotFoundf("Queue %s does not exist for project %s", q.Name, q.Project)
}

func pyList(ids []string) string {
	// Zaqar formats id lists with Python's repr: ['a', 'b'].
	out := "["
	for i, id := range ids {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("'%s'", id)
	}
	return out + "]"
}
