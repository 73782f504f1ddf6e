package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Run runs every conformance case against stores from newStore. newStore
// is called from the case's own (sub)test, so it may t.Fatal and register
// t.Cleanup to close the store.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	var waiting []testCase
	for _, c := range cases() {
		if c.waits {
			waiting = append(waiting, c)
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(newEnv(t, newStore))
		})
	}
	// Cases that wait for a TTL spend seconds asleep. t.Parallel would queue
	// them behind -parallel (GOMAXPROCS, 2 on CI); starting them from
	// goroutines, which t.Run allows, pays the wait once for all of them.
	t.Run("Expiry", func(t *testing.T) {
		t.Parallel()
		var wg sync.WaitGroup
		for _, c := range waiting {
			wg.Go(func() {
				t.Run(c.name, func(t *testing.T) { c.fn(newEnv(t, newStore)) })
			})
		}
		wg.Wait()
	})
}

// RequireEnv returns the value of the environment variable name, which
// locates the backend a driver's tests need. When it is empty the test is
// skipped, or fails when ZAQAR_TEST_REQUIRE_ALL=1 (set by scripts/test), so
// CI never passes by skipping a driver.
func RequireEnv(t testing.TB, name string) string {
	t.Helper()
	return testenv.Env(t, name, "")
}

// testCase is one behaviour of the contract.
type testCase struct {
	name  string
	fn    func(e *env)
	waits bool // waits for the store's clock to pass a TTL or delay
}

func cases() []testCase {
	var all []testCase
	for _, group := range [][]testCase{
		queueCases(),
		messageCases(),
		claimCases(),
		deadLetterCases(),
		subscriptionCases(),
		isolationCases(),
		concurrencyCases(),
	} {
		all = append(all, group...)
	}
	return all
}

// env is what one case works with: its store, its own project and its test.
type env struct {
	t        *testing.T
	ctx      context.Context
	s        storage.Store
	project  string
	newStore func(t *testing.T) storage.Store
}

func newEnv(t *testing.T, newStore func(t *testing.T) storage.Store) *env {
	s := newStore(t)
	if s == nil {
		t.Fatal("newStore returned a nil store")
	}
	return &env{t: t, ctx: t.Context(), s: s, project: newProject(), newStore: newStore}
}

// newProject returns a project id no other case (or earlier run against the
// same server) uses, which is what lets cases share a server.
func newProject() string { return "storagetest-" + rand.Text() }

func (e *env) q(name string) zaqar.QueueRef {
	return zaqar.QueueRef{Project: e.project, Name: name}
}

// Long enough that nothing a case did not mean to expire expires, even on a
// loaded machine.
const long = time.Hour

func newMsg(body string) zaqar.NewMessage {
	return zaqar.NewMessage{Body: json.RawMessage(body), TTL: long}
}

func (e *env) post(q zaqar.QueueRef, msgs ...zaqar.NewMessage) []string {
	e.t.Helper()
	ids, err := e.s.Messages().Post(e.ctx, q, msgs)
	require_NoError(e.t, err, "post")
	require_Len(e.t, ids, len(msgs), "post ids")
	return ids
}

// postN posts n messages, one per call, with bodies {"n":0}, {"n":1}, ...
func (e *env) postN(q zaqar.QueueRef, n int) []string {
	e.t.Helper()
	var ids []string
	for i := range n {
		ids = append(ids, e.post(q, newMsg(`{"n":`+strconv.Itoa(i)+`}`))...)
	}
	return ids
}

// claimOpts are long-lived so a claim lasts as long as the case.
func claimOpts(limit int) storage.ClaimOptions {
	return storage.ClaimOptions{TTL: long, Grace: time.Minute, Limit: limit}
}

func (e *env) claim(q zaqar.QueueRef, limit int) (zaqar.Claim, []zaqar.Message) {
	e.t.Helper()
	c, msgs, err := e.s.Claims().Create(e.ctx, q, claimOpts(limit))
	require_NoError(e.t, err, "claim")
	return c, msgs
}

// allOpts lists every live message whoever posted it.
var allOpts = storage.MessageListOptions{Echo: true, IncludeClaimed: true, IncludeDelayed: true}

// listAll pages through q with opts (its Limit is the page size, 7 when 0)
// and fails on a page larger than the limit or a page that does not advance.
func (e *env) listAll(q zaqar.QueueRef, opts storage.MessageListOptions) []zaqar.Message {
	e.t.Helper()
	if opts.Limit == 0 {
		opts.Limit = 7
	}
	var all []zaqar.Message
	for range 10000 {
		page, err := e.s.Messages().List(e.ctx, q, opts)
		require_NoError(e.t, err, "list messages")
		if len(page) == 0 {
			return all
		}
		if len(page) > opts.Limit {
			e.t.Fatalf("list returned %d messages, limit %d", len(page), opts.Limit)
		}
		last := page[len(page)-1].Marker
		if last == "" || last == opts.Marker {
			e.t.Fatalf("list page does not advance: marker %q after %q", last, opts.Marker)
		}
		opts.Marker = last
		all = append(all, page...)
	}
	e.t.Fatal("list never ended")
	return nil
}

func (e *env) stats(q zaqar.QueueRef) zaqar.Stats {
	e.t.Helper()
	st, err := e.s.Messages().Stats(e.ctx, q)
	require_NoError(e.t, err, "stats")
	return st
}

// exists reports whether Get finds the message.
func (e *env) exists(q zaqar.QueueRef, id string) bool {
	e.t.Helper()
	_, err := e.s.Messages().Get(e.ctx, q, id)
	if errors.Is(err, storage.ErrMessageNotFound) {
		return false
	}
	require_NoError(e.t, err, "get message "+id)
	return true
}

func ids(msgs []zaqar.Message) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

func bodies(msgs []zaqar.Message) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, string(m.Body))
	}
	return out
}

// Ids no driver can have issued, in the shapes drivers use (UUID, ObjectId,
// integer) and malformed ones; every lookup must treat them as unknown.
var bogusIDs = []string{
	"",
	"not-an-id",
	"../../etc/passwd",
	"%00",
	"9b0a1f3e-8c0b-4bb4-9f5e-2f4e9f1a7c11",
	"5f1d7ac0e4b0a1b2c3d4e5f6",
	"0",
	"18446744073709551615",
}

// waitFor polls cond every 50ms until it holds, failing after 10s. Cases
// that wait on the store's clock use it instead of sleeping a fixed time, so
// a slow machine makes them slower, never flaky.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, what, 10*time.Second, 50*time.Millisecond, cond)
}
