package mongodb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

var _ storage.Store = (*Store)(nil)

// Options are the [drivers:message_store:mongodb] settings; zero values take
// Zaqar's defaults (zaqar/conf/drivers_message_store_mongodb.py) in brackets.
type Options struct {
	Database string // [zaqar]
	// Partitions is the number of message collections queues are hashed
	// over [2]. Changing it hides the messages of every queue that moves.
	Partitions int
	// MaxAttempts bounds the retries of a post that keeps losing its
	// markers to other posters [1000]; between attempts it sleeps
	// attempt/MaxAttempts*MaxRetrySleep plus up to MaxRetryJitter.
	MaxAttempts    int
	MaxRetrySleep  time.Duration // [100ms]
	MaxRetryJitter time.Duration // [5ms]
	GCInterval     time.Duration // how often expired data is reclaimed [5s]
	Logger         *slog.Logger  // [discard]
}

func (o Options) withDefaults() Options {
	if o.Database == "" {
		o.Database = "zaqar"
	}
	if o.Partitions <= 0 {
		o.Partitions = 2
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 1000
	}
	if o.MaxRetrySleep < 0 {
		o.MaxRetrySleep = 0
	} else if o.MaxRetrySleep == 0 {
		o.MaxRetrySleep = 100 * time.Millisecond
	}
	if o.MaxRetryJitter < 0 {
		o.MaxRetryJitter = 0
	} else if o.MaxRetryJitter == 0 {
		o.MaxRetryJitter = 5 * time.Millisecond
	}
	if o.GCInterval <= 0 {
		o.GCInterval = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is the MongoDB store. It is safe for concurrent use; each Store has
// its own client and connection pool, so several Stores on one deployment
// behave as separate API nodes.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	queues *mongo.Collection
	claims *mongo.Collection
	subs   *mongo.Collection
	snap   bool // listings read with read concern "snapshot"
	ferret bool // the server is FerretDB: look documents up by _id one at a time
	opts   Options
	log    *slog.Logger
	clock  clock

	mu    sync.Mutex
	ready map[int]bool // partitions whose indexes this store has checked

	// complete remembers batches seen complete, which they stay (see
	// completeness); cleared when it reaches completeCap entries.
	complete map[string]bool

	// Posts to one queue from one store take turns, and so do claims and
	// pops: racing each other they would mostly lose their inserts to one
	// another and read the queue again. Stores (API nodes) still race, and
	// the unique indexes decide (see the package doc).
	posting, taking [64]sync.Mutex

	stop context.CancelFunc
	done chan struct{}
}

// Open connects to the deployment uri names (a mongodb:// or mongodb+srv://
// connection string), checks that it answers, synchronises the store's clock
// with the server's, creates the collections' indexes when missing, and
// starts the background reclamation of expired data (see the package doc).
//
// Unless uri says otherwise, writes use write concern "majority" (as Zaqar)
// and a call waits at most 5 s for a server before failing with a 503.
func Open(ctx context.Context, uri string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	co := options.Client().ApplyURI(uri)
	if err := co.Validate(); err != nil {
		return nil, fmt.Errorf("mongodb uri: %w", err)
	}
	if co.WriteConcern == nil {
		co.SetWriteConcern(writeconcern.Majority())
	}
	if co.ServerSelectionTimeout == nil {
		co.SetServerSelectionTimeout(5 * time.Second)
	}
	if co.ConnectTimeout == nil {
		co.SetConnectTimeout(5 * time.Second)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("mongodb store: %w", err)
	}
	db := client.Database(opts.Database)
	s := &Store{
		client: client,
		db:     db,
		queues: db.Collection("queues"),
		claims: db.Collection("claims"),
		subs:   db.Collection("subscriptions"),
		opts:   opts,
		log:    opts.Logger,
		ready:  map[int]bool{},

		complete: map[string]bool{},
	}
	h, err := s.hello(ctx)
	if err != nil {
		client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("mongodb store: %w", err)
	}
	// Snapshot reads make a listing page one point-in-time read, so a page
	// never shows a message without every message before it (see "Order").
	// Replica sets and sharded clusters of MongoDB 5.0 (wire version 13)
	// and later serve them outside transactions; FerretDB v1 answers a page
	// from one SQLite statement, which is a snapshot already.
	s.snap = (h.SetName != "" || h.Msg == "isdbgrid") && h.MaxWireVersion >= 13
	var bi bson.M
	if err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&bi); err != nil {
		client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("mongodb store: %w", err)
	}
	_, s.ferret = bi["ferretdbVersion"]
	if err := s.ensureIndexes(ctx); err != nil {
		client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("mongodb store: indexes: %w", err)
	}
	if opts.Partitions <= eagerPartitions {
		for p := range opts.Partitions {
			if _, err := s.partition(ctx, p); err != nil {
				client.Disconnect(context.WithoutCancel(ctx))
				return nil, fmt.Errorf("mongodb store: indexes: %w", err)
			}
		}
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop, s.done = stop, make(chan struct{})
	go s.background(bg)
	return s, nil
}

func (s *Store) Queues() storage.QueueStore               { return (*queueStore)(s) }
func (s *Store) Messages() storage.MessageStore           { return (*messageStore)(s) }
func (s *Store) Claims() storage.ClaimStore               { return (*claimStore)(s) }
func (s *Store) Subscriptions() storage.SubscriptionStore { return (*subscriptionStore)(s) }

// Ping reports whether the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Database(s.opts.Database).RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// Close stops the background reclamation and disconnects.
func (s *Store) Close() error {
	s.stop()
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.client.Disconnect(ctx)
}

// helloReply holds what the store reads from the hello command.
type helloReply struct {
	LocalTime      time.Time `bson:"localTime"`
	SetName        string    `bson:"setName"`
	Msg            string    `bson:"msg"`
	MaxWireVersion int       `bson:"maxWireVersion"`
}

// hello runs the hello command and sets the clock from the server's
// localTime, taken to be read halfway through the round trip.
func (s *Store) hello(ctx context.Context) (helloReply, error) {
	var h helloReply
	sent := time.Now()
	err := s.client.Database("admin").RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&h)
	got := time.Now()
	if err != nil {
		return h, unavailable(err)
	}
	if h.LocalTime.IsZero() {
		s.clock.set(got.UnixMilli(), got) // no server time: the node's own clock
		return h, nil
	}
	s.clock.set(h.LocalTime.UnixMilli()+got.Sub(sent).Milliseconds()/2, got)
	return h, nil
}

// clock is the store's estimate of the server's time in Unix milliseconds:
// the server's localTime at the last synchronisation plus the time elapsed
// since on this process's monotonic clock. It never goes backwards.
type clock struct {
	mu     sync.Mutex
	base   int64     // server time at sync
	at     time.Time // local time of sync, with its monotonic reading
	last   int64     // last value handed out
	synced bool
}

func (c *clock) set(server int64, at time.Time) {
	c.mu.Lock()
	c.base, c.at, c.synced = server, at, true
	c.mu.Unlock()
}

func (c *clock) now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := time.Now().UnixMilli()
	if c.synced {
		n = c.base + time.Since(c.at).Milliseconds()
	}
	if n < c.last {
		n = c.last
	}
	c.last = n
	return n
}

// since reports how long ago the clock was last synchronised.
func (c *clock) since() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Since(c.at)
}

// unavailable turns any failure of the server or of the network into the
// 503 Zaqar answers for storage errors; the service fills in a description
// naming the operation. The cause is kept for the log, never sent.
func unavailable(err error) error {
	return zaqar.Unavailablef(err, "")
}

// isDup reports a unique-index violation. FerretDB v1 answers one caused by
// an update with an InternalError naming SQLite's constraint, not 11000.
func isDup(err error) bool {
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	var ce mongo.CommandError
	return errors.As(err, &ce) && strings.Contains(ce.Message, "UNIQUE constraint failed")
}

// dupCodes are the server codes of a duplicate key.
func dupCode(code int) bool { return code == 11000 || code == 11001 || code == 12582 }

// turn returns the lock of ref among locks.
func turn(locks *[64]sync.Mutex, ref zaqar.QueueRef) *sync.Mutex {
	h := crc32.NewIEEE()
	h.Write([]byte(strconv.Itoa(len(ref.Project)) + ":" + ref.Project))
	h.Write([]byte(ref.Name))
	return &locks[h.Sum32()%uint32(len(locks))]
}

// partPrefix names the message collections: messages_p0, messages_p1, ...
const partPrefix = "messages_p"

// eagerPartitions is the largest partition count whose message collections
// Open indexes at start-up; with more (FerretDB setups), each is indexed
// when this store first uses it, before any query on it.
const eagerPartitions = 64

// messages returns the message collection of ref's partition. The partition
// is a hash of an unambiguous encoding of both names, so no two queues
// depend on a separator.
func (s *Store) messages(ctx context.Context, ref zaqar.QueueRef) (*mongo.Collection, error) {
	h := crc32.NewIEEE()
	h.Write([]byte(strconv.Itoa(len(ref.Project)) + ":" + ref.Project))
	h.Write([]byte(ref.Name))
	return s.partition(ctx, int(h.Sum32()%uint32(s.opts.Partitions)))
}

// partition returns message collection p, creating its indexes the first
// time this store uses it.
func (s *Store) partition(ctx context.Context, p int) (*mongo.Collection, error) {
	c := s.db.Collection(partPrefix + strconv.Itoa(p))
	s.mu.Lock()
	ready := s.ready[p]
	s.mu.Unlock()
	if !ready {
		if err := ensure(ctx, c, messageIndexes); err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.ready[p] = true
		s.mu.Unlock()
	}
	return c, nil
}

// listing returns c for reads that must see one point in time: with read
// concern "snapshot" where the server offers it (see "Order" in the package doc).
func (s *Store) listing(c *mongo.Collection) *mongo.Collection {
	if !s.snap {
		return c
	}
	return s.db.Collection(c.Name(), options.Collection().SetReadConcern(readconcern.Snapshot()))
}

// queueKey is the _id of a queue record: both names escaped (so '/' and
// '%' in them cannot collide) around a '/'. The record also keeps the names
// in fields p and q, which every query uses.
func queueKey(ref zaqar.QueueRef) string {
	return url.PathEscape(ref.Project) + "/" + url.PathEscape(ref.Name)
}

// newID returns a fresh id: an ObjectId in hex, as Zaqar's MongoDB driver issues.
func newID() string { return bson.NewObjectID().Hex() }

// copyID is the id of the copy of message id that dead-lettering makes:
// derived, so a move that is repeated after a failure finds its copy.
func copyID(id string) string {
	sum := sha256.Sum256([]byte("dead-letter\x00" + id))
	return hex.EncodeToString(sum[:12])
}

// never is the expiry of something without a TTL.
const never = math.MaxInt64

// expiry is when something with ttl (ms) started at now expires; never when ttl <= 0.
func expiry(now, ttl int64) int64 {
	if ttl <= 0 {
		return never
	}
	return now + ttl
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// pageSize applies Zaqar's default page size to a missing limit.
func pageSize(limit int) int {
	if limit <= 0 {
		return zaqar.DefaultPageSize
	}
	return min(limit, 10000)
}

// backoff sleeps before retry attempt (zero-based) as Zaqar's
// calculate_backoff does: linear in attempt/MaxAttempts up to MaxRetrySleep,
// plus random jitter.
func (s *Store) backoff(ctx context.Context, attempt int) error {
	d := time.Duration(float64(s.opts.MaxRetrySleep) * float64(attempt) / float64(s.opts.MaxAttempts))
	if j := s.opts.MaxRetryJitter; j > 0 {
		d += time.Duration(rand.Int64N(int64(j)))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return unavailable(ctx.Err())
	case <-t.C:
		return nil
	}
}
