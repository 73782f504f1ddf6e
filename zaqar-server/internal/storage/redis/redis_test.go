package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/redis"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
	"github.com/zaqar-go/suite/zaqar-server/internal/testserver"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// open returns a Store on uri, closed when tb ends: its own connection
// pool, as an API node has.
func open(tb testing.TB, uri string) *redis.Store {
	tb.Helper()
	s, err := redis.Open(tb.Context(), uri)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	url := storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL")
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	// Scripts go through go-redis's autopipeliner unless pipeline=false.
	for name, u := range map[string]string{"pipelined": url, "unpipelined": url + sep + "pipeline=false"} {
		t.Run(name, func(t *testing.T) {
			// A store per call, as each API node has its own.
			storagetest.Run(t, func(t *testing.T) storage.Store { return open(t, u) })
		})
	}
}

func BenchmarkStore(b *testing.B) {
	url := storagetest.RequireEnv(b, "ZAQAR_TEST_REDIS_URL")
	storagetest.Bench(b, func(tb testing.TB) storage.Store { return open(tb, url) })
}

// aof makes redis-server persist every write before it answers.
var aof = []string{"--appendonly", "yes", "--appendfsync", "always", "--save", ""}

// A Redis restart loses nothing acknowledged (appendonly yes), calls during
// the outage fail with Unavailable (a 503), and the same Store recovers by
// itself once Redis is back.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.StartRedis(t, dir, 0, aof...)
	s, err := redis.Open(t.Context(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storagetest.Outage(t, s, srv.Stop, func() { testserver.StartRedis(t, dir, srv.Port, aof...) }, 10*time.Second, 10*time.Second)
}

// The conformance suite against a three-node Redis Cluster this test
// starts: a queue's keys share a slot, and what spans slots (the project
// index, dead-letter moves) works across nodes.
func TestCluster(t *testing.T) {
	cli := testserver.LookPath(t, "redis-cli")
	var addrs []string
	for range 3 {
		dir := t.TempDir()
		srv := testserver.StartRedis(t, dir, 0, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--appendonly", "no", "--save", "")
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(srv.Port))
	}
	create := exec.Command(cli, append([]string{"--cluster", "create"}, append(addrs, "--cluster-replicas", "0", "--cluster-yes")...)...)
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	url := "redis+cluster://" + strings.Join(addrs, ",")
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The cluster is usable once every node agrees on the slots.
		s, err := redis.Open(t.Context(), url)
		if err == nil {
			_, err = s.Messages().Post(t.Context(), zaqar.QueueRef{Project: "cluster-probe", Name: rand.Text()},
				[]zaqar.NewMessage{{Body: json.RawMessage(`1`), TTL: time.Minute}})
			s.Close()
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %v not ready after 20s: %v", addrs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t, url) })
}

// TestKeysOutliveTheirData checks the Redis expiry the scripts give a
// queue's keys (reexpire): never earlier than the latest message or claim
// they hold, re-set when a write outlives it, left alone when not.
func TestKeysOutliveTheirData(t *testing.T) {
	url := storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL")
	ctx := t.Context()
	s, err := redis.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw := rawClient(t, url)
	q := zaqar.QueueRef{Project: "ttl-" + strconv.FormatInt(time.Now().UnixNano(), 36), Name: "q"}
	defer s.Queues().Delete(context.WithoutCancel(ctx), q)
	tag := "zq:{" + q.Project + "/" + q.Name + "}"
	// atLeast fails unless every data key lives at least d more (and at
	// most d plus the ten minutes of slack plus a margin).
	atLeast := func(what string, keys []string, d time.Duration) {
		t.Helper()
		for _, k := range keys {
			ttl, err := raw.PTTL(ctx, tag+k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if ttl < d-2*time.Second || ttl > d+10*time.Minute+5*time.Second {
				t.Errorf("%s: key %s expires in %v, want %v (+10 min slack)", what, k, ttl, d)
			}
		}
	}
	msgKeys := []string{":ord", ":msg", ":exp"}
	post := func(ttl time.Duration) {
		t.Helper()
		if _, err := s.Messages().Post(ctx, q, []zaqar.NewMessage{{Body: json.RawMessage(`1`), TTL: ttl, ClientID: "c"}}); err != nil {
			t.Fatal(err)
		}
	}
	post(2 * time.Minute)
	atLeast("first post", msgKeys, 2*time.Minute)
	post(50 * time.Minute) // beyond the slack: the expiry moves
	atLeast("longer post", msgKeys, 50*time.Minute)
	post(time.Minute) // within it: nothing changes
	atLeast("shorter post", msgKeys, 50*time.Minute)

	c, _, err := s.Claims().Create(ctx, q, storage.ClaimOptions{TTL: 70 * time.Minute, Grace: 5 * time.Minute, Limit: 10})
	if err != nil || c.ID == "" {
		t.Fatalf("claim: %v %v", c, err)
	}
	// Claimed messages live until the claim ends plus grace.
	atLeast("claim", append(msgKeys, ":clm", ":clx"), 75*time.Minute)
	if err := s.Claims().Update(ctx, q, c.ID, 90*time.Minute, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	atLeast("claim update", append(msgKeys, ":clm", ":clx"), 95*time.Minute)
}

// A database holding messages in layout 1 (bodies in zq:{p/q}:body) or
// marked with another layout is refused at start with a message naming the
// layout; an unmarked database without such keys is marked as layout 2.
func TestLayoutCheck(t *testing.T) {
	srv := testserver.StartRedis(t, t.TempDir(), 0)
	raw := rawClient(t, srv.URL())
	ctx := t.Context()
	openErr := func() error {
		s, err := redis.Open(ctx, srv.URL())
		if err == nil {
			s.Close()
		}
		return err
	}

	raw.HSet(ctx, "zq:{p/q}:body", "0f1e", "1")
	raw.HSet(ctx, "zq:{p/q}", "meta", "{}", "ctr", "1")
	if err := openErr(); err == nil || !strings.Contains(err.Error(), "zq:{p/q}:body is of layout 1") {
		t.Fatalf("Open on layout 1 = %v, want the layout named", err)
	}
	if n := raw.Exists(ctx, "zq:layout").Val(); n != 0 {
		t.Fatalf("a refused database was marked")
	}

	raw.Del(ctx, "zq:{p/q}:body")
	if err := openErr(); err != nil {
		t.Fatalf("Open on a database without layout 1 keys: %v", err)
	}
	if v := raw.Get(ctx, "zq:layout").Val(); v != "2" {
		t.Fatalf("zq:layout = %q, want 2", v)
	}
	if err := openErr(); err != nil {
		t.Fatalf("Open on a marked database: %v", err)
	}

	raw.Set(ctx, "zq:layout", "3", 0)
	if err := openErr(); err == nil || !strings.Contains(err.Error(), `zq:layout is "3"`) {
		t.Fatalf("Open on layout 3 = %v, want the layout named", err)
	}
}

// commandStats returns Redis's calls per command since the last reset.
func commandStats(t *testing.T, raw *goredis.Client) map[string]int {
	t.Helper()
	info, err := raw.Info(t.Context(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
		calls[name] = n
	}
	delete(calls, "config|resetstat")
	return calls
}

// The commands Redis runs for the hot operations, counted (INFO
// commandstats on a server of the test's own): a post to a queue in use
// runs no GC scan (it ran a moment ago) nor retry check and writes one
// hash entry per message; a consumer's delete of a message it claimed reads no claim; a
// claim writes its messages in one command.
func TestCommandsPerOperation(t *testing.T) {
	srv := testserver.StartRedis(t, t.TempDir(), 0)
	s := open(t, srv.URL())
	raw := rawClient(t, srv.URL())
	ctx := t.Context()
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	post := func() {
		t.Helper()
		if _, err := s.Messages().Post(ctx, q, []zaqar.NewMessage{{Body: json.RawMessage(`1`), TTL: time.Hour}}); err != nil {
			t.Fatal(err)
		}
	}
	post() // creates and indexes the queue, runs the GC
	raw.ConfigResetStat(ctx)
	post()
	got := commandStats(t, raw)
	total := 0
	for _, n := range got {
		total += n
	}
	// EVALSHA, TIME, HMGET (record), HSET (message), ZADD (order), ZADD
	// (expiry), HSET (counter), PUBLISH (long polls); no retry check while
	// retries are off.
	if total > 8 || got["zrangebyscore"] != 0 || got["hset"] != 2 || got["hexists"] != 0 {
		t.Errorf("a post ran %d commands, want at most 8, no ZRANGEBYSCORE or HEXISTS and two HSET: %v", total, got)
	}

	c, msgs, err := s.Claims().Create(ctx, q, storage.ClaimOptions{TTL: time.Minute, Grace: time.Minute, Limit: 1})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("claim: %v %v %v", c, msgs, err)
	}
	raw.ConfigResetStat(ctx)
	if err := s.Messages().Delete(ctx, q, msgs[0].ID, c.ID); err != nil {
		t.Fatal(err)
	}
	got = commandStats(t, raw)
	if got["hget"] != 1 || got["zrangebyscore"] != 0 {
		t.Errorf("a claimed message's delete ran %v, want one HGET (the message, not its claim) and no ZRANGEBYSCORE", got)
	}

	five := make([]zaqar.NewMessage, 5)
	for i := range five {
		five[i] = zaqar.NewMessage{Body: json.RawMessage(`1`), TTL: time.Hour}
	}
	if _, err := s.Messages().Post(ctx, q, five); err != nil {
		t.Fatal(err)
	}
	raw.ConfigResetStat(ctx)
	if _, msgs, err = s.Claims().Create(ctx, q, storage.ClaimOptions{TTL: time.Minute, Grace: time.Minute, Limit: 5}); err != nil || len(msgs) != 5 {
		t.Fatalf("claim: %v %v", msgs, err)
	}
	got = commandStats(t, raw)
	// One HSET for the five messages, one for the claim, one for the hint.
	if got["hset"] != 3 {
		t.Errorf("a claim of five ran %v, want three HSET", got)
	}
}

// rawClient is a plain go-redis client on url, for looking at the keys
// and counters behind the store's back; closed with t.
func rawClient(t *testing.T, url string) *goredis.Client {
	t.Helper()
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}
