package redis

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var _ storage.Store = (*Store)(nil)

// Store is the Redis store. It is safe for concurrent use; each Store has
// its own connection pool, so several Stores on one server behave as
// separate API nodes.
type Store struct {
	rdb redis.UniversalClient
	// scripts runs the Lua scripts: rdb, or its autopipeliner (Target.Pipeline).
	scripts redis.Scripter
	// posts and deletes group concurrent single operations on one queue
	// into one script call (see combiner).
	posts   *combiner[postPart, struct{}]
	deletes *combiner[deletePart, int64]
	// sig holds the long-polling subscriptions (signal.go).
	sig signals
	// retries is whether go-redis may send a command again (max_retries):
	// only then can a post arrive twice, and the post script check for it.
	retries bool
}

// Open connects to the Redis deployment uri names (see ParseURI) and checks
// that it answers.
func Open(ctx context.Context, uri string) (*Store, error) {
	rdb, t, err := newClient(uri)
	if err != nil {
		return nil, err
	}
	// go-redis reads 0 as its default of three retries; -1 is none.
	s := &Store{rdb: rdb, scripts: rdb, retries: t.MaxRetries >= 0}
	s.posts = newCombiner(postGroupLimit, s.postGroup)
	s.deletes = newCombiner(deleteGroupLimit, s.deleteGroup)
	if t.Pipeline {
		// Closed with rdb.
		if s.scripts, err = rdb.AutoPipeline(); err != nil {
			rdb.Close()
			return nil, fmt.Errorf("redis store: %w", err)
		}
	}
	if err := s.Ping(ctx); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis store: %w", err)
	}
	if err := checkLayout(ctx, rdb); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis store: %w", err)
	}
	return s, nil
}

func (s *Store) Queues() storage.QueueStore               { return (*queueStore)(s) }
func (s *Store) Messages() storage.MessageStore           { return (*messageStore)(s) }
func (s *Store) Claims() storage.ClaimStore               { return (*claimStore)(s) }
func (s *Store) Subscriptions() storage.SubscriptionStore { return (*subscriptionStore)(s) }

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// Close closes the signal subscriptions and the connection pool.
func (s *Store) Close() error {
	err := s.sig.close()
	if cerr := s.rdb.Close(); cerr != nil {
		err = cerr
	}
	return err
}

// unavailable turns any failure of Redis or of the network into the 503
// Zaqar answers for storage errors; the service fills in a description
// naming the operation. The cause is kept for the log, never sent.
func unavailable(err error) error {
	return zaqar.Unavailablef(err, "")
}

// Keys. Every key of a queue starts with "zq:{<project>/<queue>}": Redis
// Cluster hashes only the part between the braces, so a queue's keys share
// a slot and one script can use them all. A project's queue index has its
// own tag "zq:{<project>}". esc keeps the tag unambiguous: '/', '{', '}'
// and '%' in names are percent-encoded.
var escaper = strings.NewReplacer("%", "%25", "/", "%2F", "{", "%7B", "}", "%7D")

func esc(s string) string { return escaper.Replace(s) }

func queueTag(q zaqar.QueueRef) string { return "zq:{" + esc(q.Project) + "/" + esc(q.Name) + "}" }

// queueSuffixes follow the tag in the keys the queue scripts take, in the
// order of lua/queue.lua.
var queueSuffixes = [...]string{"", ":ord", ":msg", ":exp", ":clm", ":clx", ":out", ":rx"}

// queueKeys are the keys the queue scripts take. Every script call needs
// them, so they are cut from one string instead of nine concatenations.
func queueKeys(q zaqar.QueueRef) []string {
	t := queueTag(q)
	var b strings.Builder
	b.Grow(len(queueSuffixes)*len(t) + 32)
	for _, sfx := range queueSuffixes {
		b.WriteString(t)
		b.WriteString(sfx)
	}
	all := b.String()
	keys := make([]string, len(queueSuffixes))
	at := 0
	for i, sfx := range queueSuffixes {
		n := len(t) + len(sfx)
		keys[i] = all[at : at+n]
		at += n
	}
	return keys
}

// subKeys are the keys the subscription scripts take (lua/subscription.lua).
func subKeys(q zaqar.QueueRef) []string {
	t := queueTag(q)
	return []string{t + ":sub", t + ":sub:by", t + ":sub:exp"}
}

func indexKey(project string) string { return "zq:{" + esc(project) + "}:queues" }

// Scripts, embedded and run with EVALSHA; go-redis sends the source with
// EVAL when the server answers NOSCRIPT (after a restart or SCRIPT FLUSH),
// which also caches it again.
//
//go:embed lua/*.lua
var luaFS embed.FS

func script(lib, name string) *redis.Script {
	src := func(n string) string {
		b, err := luaFS.ReadFile("lua/" + n + ".lua")
		if err != nil {
			panic(err) // embedded: cannot happen
		}
		return string(b)
	}
	return redis.NewScript(src("common") + "\n" + src(lib) + "\n" + src(name))
}

var (
	postScript        = script("queue", "post")
	listScript        = script("queue", "list")
	getScript         = script("queue", "get")
	deleteScript      = script("queue", "delete")
	deleteManyScript  = script("queue", "delete_many")
	popScript         = script("queue", "pop")
	statsScript       = script("queue", "stats")
	claimScript       = script("queue", "claim")
	acceptScript      = script("queue", "accept")
	ackScript         = script("queue", "ack")
	claimGetScript    = script("queue", "claim_get")
	claimUpdateScript = script("queue", "claim_update")
	claimDeleteScript = script("queue", "claim_delete")
	queueCreateScript = script("queue", "queue_create")
	queueSetScript    = script("queue", "queue_set")
	queueDeleteScript = script("queue", "queue_delete")
	queueIndexScript  = script("queue", "queue_indexed")
	subCreateScript   = script("subscription", "sub_create")
	subGetScript      = script("subscription", "sub_get")
	subListScript     = script("subscription", "sub_list")
	subUpdateScript   = script("subscription", "sub_update")
	subConfirmScript  = script("subscription", "sub_confirm")
	subDeleteScript   = script("subscription", "sub_delete")
)

// run runs a script and returns its reply, any failure as unavailable.
func (s *Store) run(ctx context.Context, sc *redis.Script, keys []string, args ...any) (any, error) {
	v, err := sc.Run(ctx, s.scripts, keys, args...).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	return v, nil
}

// runInt runs a script that answers an integer.
func (s *Store) runInt(ctx context.Context, sc *redis.Script, keys []string, args ...any) (int64, error) {
	v, err := s.run(ctx, sc, keys, args...)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok {
		return 0, unavailable(fmt.Errorf("script reply %T, want integer", v))
	}
	return n, nil
}

// runList runs a script that answers an array.
func (s *Store) runList(ctx context.Context, sc *redis.Script, keys []string, args ...any) (reply, error) {
	v, err := s.run(ctx, sc, keys, args...)
	if err != nil {
		return nil, err
	}
	r, ok := v.([]any)
	if !ok {
		return nil, unavailable(fmt.Errorf("script reply %T, want array", v))
	}
	return r, nil
}

// reply is a script's array answer; scripts send numbers as decimal strings
// (or small integers), so the readers accept both.
type reply []any

func (r reply) str(i int) string {
	if i >= len(r) {
		return ""
	}
	switch v := r[i].(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

func (r reply) int(i int) int64 {
	if i < len(r) {
		if v, ok := r[i].(int64); ok {
			return v
		}
	}
	n, _ := strconv.ParseInt(r.str(i), 10, 64)
	return n
}

// msgFields is the width of one message in a script reply (lua/queue.lua view).
const msgFields = 9

// messages decodes count messages from r starting at i, read at now.
func (r reply) messages(i, count int, now int64) []zaqar.Message {
	out := make([]zaqar.Message, 0, count)
	for ; count > 0 && i+msgFields <= len(r); count-- {
		created := r.int(i + 4)
		out = append(out, zaqar.Message{
			ID:         r.str(i),
			Body:       []byte(r.str(i + 1)),
			Marker:     r.str(i + 2),
			TTL:        ms(r.int(i + 3)),
			Created:    time.UnixMilli(created),
			Age:        storage.Age(now, created),
			ClientID:   r.str(i + 5),
			ClaimID:    r.str(i + 6),
			ClaimCount: int(r.int(i + 7)),
			Checksum:   r.str(i + 8),
		})
		i += msgFields
	}
	return out
}

// allMessages decodes every message after the leading now.
func (r reply) allMessages() []zaqar.Message {
	return r.messages(1, (len(r)-1)/msgFields, r.int(0))
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// pageSize applies Zaqar's default page size to a missing limit.
func pageSize(limit int) int {
	if limit <= 0 {
		return zaqar.DefaultPageSize
	}
	return min(limit, math.MaxInt32)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// isNil reports redis.Nil, the answer for a missing key or field.
func isNil(err error) bool { return errors.Is(err, redis.Nil) }
