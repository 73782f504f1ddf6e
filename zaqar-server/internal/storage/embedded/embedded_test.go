package embedded_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/embedded"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// The crash test re-runs this binary as a writer it kills; TestMain sends
// that child to crashChild instead of the tests.
const envCrashDir = "ZAQAR_EMBEDDED_CRASH_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envCrashDir); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return open(t, t.TempDir(), nil)
	})
}

func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(tb testing.TB) storage.Store {
		return open(tb, tb.TempDir(), nil)
	})
}

// open opens the store in dir and closes it when the test ends.
func open(tb testing.TB, dir string, clock zaqar.Clock) *embedded.Store {
	tb.Helper()
	s, err := embedded.Open(context.Background(), dir, embedded.WithClock(clock))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func newFakeClock() *testenv.Clock { return testenv.NewClock(time.Unix(1_700_000_000, 0)) }

// client calls a store and fails the test on any error.
type client struct {
	t testing.TB
	s storage.Store
}

func (c client) post(q zaqar.QueueRef, msgs ...zaqar.NewMessage) []string {
	c.t.Helper()
	ids, err := c.s.Messages().Post(context.Background(), q, msgs)
	noErr(c.t, err)
	return ids
}

func (c client) get(q zaqar.QueueRef, id string) zaqar.Message {
	c.t.Helper()
	m, err := c.s.Messages().Get(context.Background(), q, id)
	noErr(c.t, err)
	return m
}

func (c client) list(q zaqar.QueueRef) []zaqar.Message {
	c.t.Helper()
	msgs, err := c.s.Messages().List(context.Background(), q, everything)
	noErr(c.t, err)
	return msgs
}

func (c client) claim(q zaqar.QueueRef, opts storage.ClaimOptions) (zaqar.Claim, []zaqar.Message) {
	c.t.Helper()
	cl, msgs, err := c.s.Claims().Create(context.Background(), q, opts)
	noErr(c.t, err)
	return cl, msgs
}

func (c client) getClaim(q zaqar.QueueRef, id string) (zaqar.Claim, []zaqar.Message) {
	c.t.Helper()
	cl, msgs, err := c.s.Claims().Get(context.Background(), q, id)
	noErr(c.t, err)
	return cl, msgs
}

func (c client) subscribe(q zaqar.QueueRef, sub zaqar.Subscription) zaqar.Subscription {
	c.t.Helper()
	got, _, err := c.s.Subscriptions().Create(context.Background(), q, sub)
	noErr(c.t, err)
	return got
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func msg(body string, ttl time.Duration) zaqar.NewMessage {
	return zaqar.NewMessage{Body: json.RawMessage(body), TTL: ttl, ClientID: "c0ffee00-0000-4000-8000-000000000001"}
}

var everything = storage.MessageListOptions{Limit: 1000, Echo: true, IncludeClaimed: true, IncludeDelayed: true}

func marker(t testing.TB, m zaqar.Message) int64 {
	t.Helper()
	n, err := strconv.ParseInt(m.Marker, 10, 64)
	noErr(t, err)
	return n
}

// Everything written before Close is there after Open, deletes included,
// and markers continue where they stopped.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	clock := newFakeClock()
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	gone := zaqar.QueueRef{Project: "p", Name: "gone"}
	dlq := zaqar.QueueRef{Project: "p", Name: "dlq"}
	meta := zaqar.Metadata{"n": json.Number("9007199254740993"), "s": "v", "o": map[string]any{"a": []any{true, nil}}}

	s := open(t, dir, clock)
	_, err := s.Queues().Create(ctx, q, meta)
	noErr(t, err)
	c := client{t, s}
	ids := c.post(q, msg(`1`, time.Hour), msg(`"two"`, time.Hour), msg(`{"three":3}`, time.Hour), msg(`4`, time.Hour), msg(`5`, time.Hour))
	c.post(gone, msg(`"gone"`, time.Hour))
	noErr(t, s.Queues().Delete(ctx, gone))
	noErr(t, s.Messages().Delete(ctx, q, ids[1], ""))
	cl, claimed := c.claim(q, storage.ClaimOptions{TTL: time.Minute, Grace: time.Minute, Limit: 2})
	if len(claimed) != 2 {
		t.Fatalf("claimed %d messages, want 2", len(claimed))
	}
	noErr(t, s.Messages().Delete(ctx, q, ids[2], cl.ID))
	// ids[3] is dead-lettered by a claim that finds its count at the limit.
	c2, _ := c.claim(q, storage.ClaimOptions{TTL: time.Minute, Limit: 1})
	noErr(t, s.Claims().Delete(ctx, q, c2.ID))
	c.claim(q, storage.ClaimOptions{TTL: time.Minute, Limit: 1, MaxClaimCount: 1, DeadLetterQueue: dlq.Name})
	sub := c.subscribe(q, zaqar.Subscription{Subscriber: "http://a", TTL: time.Hour, Options: map[string]any{"k": json.Number("1")}})
	dropped := c.subscribe(q, zaqar.Subscription{Subscriber: "http://b", TTL: time.Hour})
	noErr(t, s.Subscriptions().Delete(ctx, q, dropped.ID))
	noErr(t, s.Subscriptions().Confirm(ctx, q, sub.ID, true))

	before := dump(t, s, "p")
	lastMarker := marker(t, c.get(q, ids[4]))
	volume, err := s.Volume(ctx)
	noErr(t, err)
	noErr(t, s.Close())

	s = open(t, dir, clock)
	c = client{t, s}
	after := dump(t, s, "p")
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("state after reopen differs\nbefore: %+v\nafter:  %+v", before, after)
	}
	// ids[0] under cl; ids[4] in q and ids[3] in the dead-letter queue free.
	if v, err := s.Volume(ctx); err != nil || v != volume || v != (storage.Volume{Free: 2, Claimed: 1}) {
		t.Errorf("Volume after reopen = %+v, %v; before %+v, want 2 free, 1 claimed", v, err, volume)
	}
	if _, err := s.Messages().Get(ctx, q, ids[1]); !errors.Is(err, storage.ErrMessageNotFound) {
		t.Errorf("deleted message after reopen: %v", err)
	}
	if _, err := s.Queues().Get(ctx, gone); !errors.Is(err, storage.ErrQueueNotFound) {
		t.Errorf("deleted queue after reopen: %v", err)
	}
	if _, err := s.Messages().Get(ctx, dlq, ids[3]); err != nil {
		t.Errorf("dead-lettered message after reopen: %v", err)
	}
	got, msgs := c.getClaim(q, cl.ID)
	if got.ID != cl.ID || len(msgs) != 1 || msgs[0].ID != ids[0] {
		t.Errorf("claim after reopen = %+v %v, want %s holding %s", got, msgs, cl.ID, ids[0])
	}
	next := c.post(q, msg(`6`, time.Hour))
	if m := marker(t, c.get(q, next[0])); m <= lastMarker {
		t.Errorf("marker after reopen = %d, want > %d", m, lastMarker)
	}
	// A deleted queue's counter goes with it, as in Zaqar.
	reborn := c.post(gone, msg(`"again"`, time.Hour))
	if m := marker(t, c.get(gone, reborn[0])); m != 1 {
		t.Errorf("first marker of a re-created queue = %d, want 1", m)
	}
}

// state is what a client can read of a project, for comparing stores.
type state struct {
	Queues []queueState
}

type queueState struct {
	Name     string
	Meta     zaqar.Metadata
	Messages []zaqar.Message
	Claims   map[string][]string
	Stats    zaqar.Stats
	Subs     []zaqar.Subscription
}

func dump(t testing.TB, s storage.Store, project string) state {
	t.Helper()
	ctx := context.Background()
	var st state
	c := client{t, s}
	qs, err := s.Queues().List(ctx, project, storage.QueueListOptions{Limit: 1000, Detailed: true})
	noErr(t, err)
	for _, q := range qs {
		ref := zaqar.QueueRef{Project: project, Name: q.Name}
		qst := queueState{Name: q.Name, Meta: q.Metadata, Claims: map[string][]string{}}
		qst.Messages = c.list(ref)
		for _, m := range qst.Messages {
			if m.ClaimID == "" || qst.Claims[m.ClaimID] != nil {
				continue
			}
			cl, msgs := c.getClaim(ref, m.ClaimID)
			key := fmt.Sprintf("%s ttl=%v grace=%v age=%v", cl.ID, cl.TTL, cl.Grace, cl.Age)
			for _, cm := range msgs {
				qst.Claims[key] = append(qst.Claims[key], cm.ID)
			}
		}
		qst.Stats, err = s.Messages().Stats(ctx, ref)
		noErr(t, err)
		qst.Subs, err = s.Subscriptions().List(ctx, ref, "", 1000)
		noErr(t, err)
		st.Queues = append(st.Queues, qst)
	}
	return st
}

// Concurrent random work, then Close and Open: the replayed file must give
// back exactly the state memory had. This checks that the journal sees
// mutations in the order they were applied.
func TestReplayMatchesMemory(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	clock := newFakeClock()
	s := open(t, dir, clock)
	const project = "p"
	names := []string{"a", "b", "c", "dlq"}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for i := range 300 {
				q := zaqar.QueueRef{Project: project, Name: names[rng.IntN(3)]}
				var err error
				switch op := rng.IntN(20); {
				case op < 7:
					n := 1 + rng.IntN(3)
					batch := make([]zaqar.NewMessage, n)
					for j := range batch {
						batch[j] = msg(fmt.Sprintf(`{"w":%d,"i":%d,"j":%d}`, w, i, j), time.Duration(1+rng.IntN(120))*time.Second)
					}
					_, err = s.Messages().Post(ctx, q, batch)
				case op < 11:
					var c zaqar.Claim
					var msgs []zaqar.Message
					c, msgs, err = s.Claims().Create(ctx, q, storage.ClaimOptions{
						TTL: time.Duration(1+rng.IntN(60)) * time.Second, Grace: 30 * time.Second, Limit: 1 + rng.IntN(4),
						MaxClaimCount: 2, DeadLetterQueue: "dlq", DeadLetterTTL: time.Duration(rng.IntN(2)) * time.Hour,
					})
					if err == nil && len(msgs) > 0 {
						switch rng.IntN(3) {
						case 0:
							err = s.Messages().Delete(ctx, q, msgs[0].ID, c.ID)
						case 1:
							err = s.Claims().Delete(ctx, q, c.ID)
						default:
							err = s.Claims().Update(ctx, q, c.ID, time.Duration(rng.IntN(90))*time.Second, time.Minute)
						}
					}
				case op < 13:
					_, err = s.Messages().Pop(ctx, q, 1+rng.IntN(3))
				case op < 15:
					page, lerr := s.Messages().List(ctx, q, storage.MessageListOptions{Limit: 5, Echo: true})
					err = lerr
					if err == nil && len(page) > 0 {
						ids := []string{page[0].ID, page[len(page)-1].ID}
						err = s.Messages().DeleteMany(ctx, q, ids, nil)
					}
				case op < 16:
					err = s.Queues().Delete(ctx, q)
				case op < 17:
					err = s.Queues().SetMetadata(ctx, q, zaqar.Metadata{"w": json.Number(strconv.Itoa(w)), "i": json.Number(strconv.Itoa(i))})
				case op < 19:
					_, _, err = s.Subscriptions().Create(ctx, q, zaqar.Subscription{
						Subscriber: fmt.Sprintf("http://h/%d", rng.IntN(5)), TTL: time.Duration(1+rng.IntN(90)) * time.Second,
					})
				default:
					clock.Advance(time.Duration(rng.IntN(20)) * time.Second)
				}
				// Other workers delete queues, claims and messages and move
				// the clock, so these are expected.
				if errors.Is(err, storage.ErrClaimNotFound) || errors.Is(err, storage.ErrMessageClaimed) ||
					errors.Is(err, storage.ErrMessageNotClaimed) || errors.Is(err, storage.ErrQueueNotFound) {
					err = nil
				}
				if err != nil {
					t.Errorf("worker %d op %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	before := dump(t, s, project)
	n := 0
	for _, q := range before.Queues {
		n += len(q.Messages)
	}
	t.Logf("%d queues, %d messages to replay", len(before.Queues), n)
	noErr(t, s.Close())
	s = open(t, dir, clock)
	after := dump(t, s, project)
	if !reflect.DeepEqual(before, after) {
		for i := range max(len(before.Queues), len(after.Queues)) {
			var b, a queueState
			if i < len(before.Queues) {
				b = before.Queues[i]
			}
			if i < len(after.Queues) {
				a = after.Queues[i]
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("queue %d differs after reopen\nbefore: %+v\nafter:  %+v", i, b, a)
			}
		}
	}
	// Markers keep growing where each queue left off.
	for _, qs := range before.Queues {
		q := zaqar.QueueRef{Project: project, Name: qs.Name}
		c := client{t, s}
		ids := c.post(q, msg(`"last"`, time.Hour))
		m := marker(t, c.get(q, ids[0]))
		for _, old := range qs.Messages {
			if marker(t, old) >= m {
				t.Errorf("queue %s: new marker %d not after old marker %s", qs.Name, m, old.Marker)
			}
		}
	}
}

// A write that returned survives kill -9: a child process posts (from
// several goroutines, so commits are grouped) and deletes, printing each
// acknowledged call; it is killed mid-stream and the file must hold every
// acknowledged post, in order, and none of the acknowledged deletes.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envCrashDir+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	noErr(t, err)
	noErr(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	posted := map[int][]string{}  // worker -> ids in post order
	deleting := map[string]bool{} // the child may or may not have deleted these
	deleted := map[string]bool{}  // and these it did
	acks := 0
	read := func(line string) {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "post":
			w, err := strconv.Atoi(f[1])
			noErr(t, err)
			posted[w] = append(posted[w], f[2])
			acks++
		case len(f) == 2 && f[0] == "deleting":
			deleting[f[1]] = true
		case len(f) == 2 && f[0] == "deleted":
			deleted[f[1]] = true
			acks++
		default:
			t.Fatalf("child said %q", line)
		}
	}
	sc := bufio.NewScanner(out)
	// 1,500 acknowledgements of 8 KiB posts (and deletes) fill several
	// logs, so the kill lands after hand-overs, maybe during a checkpoint.
	for acks < 1500 && sc.Scan() {
		read(sc.Text())
	}
	noErr(t, cmd.Process.Signal(syscall.SIGKILL))
	if acks < 1500 {
		t.Fatalf("child stopped after %d acknowledgements: %v", acks, sc.Err())
	}
	// What the child printed before it died is still in the pipe.
	for sc.Scan() {
		read(sc.Text())
	}
	cmd.Wait()

	s := open(t, dir, nil)
	ctx := t.Context()
	q := zaqar.QueueRef{Project: "crash", Name: "q"}
	all, err := s.Messages().List(ctx, q, storage.MessageListOptions{Limit: 100000, Echo: true, IncludeClaimed: true})
	noErr(t, err)
	pos := map[string]int{}
	for i, m := range all {
		pos[m.ID] = i
		if i > 0 && marker(t, m) <= marker(t, all[i-1]) {
			t.Fatalf("markers out of order after crash: %s then %s", all[i-1].Marker, m.Marker)
		}
	}
	for w, ids := range posted {
		last := -1
		for _, id := range ids {
			p, ok := pos[id]
			switch {
			case deleted[id] && ok:
				t.Errorf("acknowledged delete of %s undone by the crash", id)
			case deleting[id]:
			case !ok:
				t.Errorf("acknowledged post %s (worker %d) lost in the crash", id, w)
			case p <= last:
				t.Errorf("worker %d: %s is before the worker's earlier post", w, id)
			default:
				last = p
			}
		}
	}
	for id := range deleted {
		if _, err := s.Messages().Get(ctx, q, id); !errors.Is(err, storage.ErrMessageNotFound) {
			t.Errorf("deleted message %s: %v", id, err)
		}
	}
	t.Logf("%d acknowledgements checked, %d messages in the file", acks, len(all))
}

// crashChild writes until it is killed, printing each call once it returned nil.
func crashChild(dir string) int {
	ctx := context.Background()
	s, err := embedded.Open(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	q := zaqar.QueueRef{Project: "crash", Name: "q"}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		fmt.Printf(format+"\n", args...)
		mu.Unlock()
	}
	deadline := time.Now().Add(time.Minute) // never outlive a parent that died
	pad := strings.Repeat("x", 8<<10)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				ids, err := s.Messages().Post(ctx, q, []zaqar.NewMessage{msg(fmt.Sprintf(`{"w":%d,"i":%d,"pad":%q}`, w, i, pad), time.Hour)})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				say("post %d %s", w, ids[0])
				if i%3 == 2 {
					say("deleting %s", ids[0])
					if err := s.Messages().Delete(ctx, q, ids[0], ""); err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(1)
					}
					say("deleted %s", ids[0])
				}
			}
		})
	}
	wg.Wait()
	return 0
}

// Open accepts a data directory and uses FileName in it.
func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	noErr(t, s.Close())
	if _, err := os.Stat(filepath.Join(dir, embedded.FileName)); err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(dir, "a", "b") + string(os.PathSeparator)
	s = open(t, nested, nil)
	noErr(t, s.Close())
	if _, err := os.Stat(filepath.Join(nested, embedded.FileName)); err != nil {
		t.Fatal(err)
	}
}

// A second Open of a file in use fails instead of sharing it.
func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if s, err := embedded.Open(ctx, dir); err == nil {
		s.Close()
		t.Fatal("second Open of the same file succeeded")
	}
}

// After Close calls fail as Unavailable rather than hang or panic.
func TestUseAfterClose(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir(), nil)
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	client{t, s}.post(q, msg(`1`, time.Hour))
	noErr(t, s.Close())
	noErr(t, s.Close())
	_, err := s.Messages().Post(ctx, q, []zaqar.NewMessage{msg(`2`, time.Hour)})
	if zaqar.KindOf(err) != zaqar.Unavailable {
		t.Errorf("Post after Close = %v, want an Unavailable error", err)
	}
	if zaqar.KindOf(s.Ping(ctx)) != zaqar.Unavailable {
		t.Errorf("Ping after Close = %v, want an Unavailable error", s.Ping(ctx))
	}
}

// Every id a post returns reads back in post order after reopening, for
// batches of several sizes.
func TestBatchOrderSurvives(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	q := zaqar.QueueRef{Project: "p", Name: "q"}
	var want []string
	for _, n := range []int{1, 20, 3, 7} {
		batch := make([]zaqar.NewMessage, n)
		for i := range batch {
			batch[i] = msg(strconv.Itoa(len(want)+i), time.Hour)
		}
		want = append(want, client{t, s}.post(q, batch...)...)
	}
	noErr(t, s.Close())
	s = open(t, dir, nil)
	var got []string
	for _, m := range (client{t, s}).list(q) {
		got = append(got, m.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("after reopen got %v, want %v", got, want)
	}
}

// BenchmarkPostConcurrent posts single messages from many goroutines, as
// many HTTP clients would: the group commit lets them share fsyncs, so the
// time per post falls well below one commit.
func BenchmarkPostConcurrent(b *testing.B) {
	s := open(b, b.TempDir(), nil)
	q := zaqar.QueueRef{Project: "p", Name: "bench"}
	body := json.RawMessage(`{"event":"benchmark","payload":{"id":12345,"tags":["a","b","c"]}}`)
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Messages().Post(context.Background(), q, []zaqar.NewMessage{{Body: body, TTL: time.Hour}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
