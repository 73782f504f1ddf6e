package storagetest

import (
	"context"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Bench runs the benchmarks every driver reports: the post, list and claim
// paths a producer and a consumer repeat. newStore is called once per
// benchmark; each works in a fresh project, so a shared server needs no
// cleaning between runs. Benchmarks measure, they never assert timings.
func Bench(b *testing.B, newStore func(tb testing.TB) storage.Store) {
	run := func(name string, f func(b *testing.B, s storage.Store, q zaqar.QueueRef)) {
		b.Run(name, func(b *testing.B) {
			f(b, newStore(b), zaqar.QueueRef{Project: newProject(), Name: "bench"})
		})
	}

	run("Post", func(b *testing.B, s storage.Store, q zaqar.QueueRef) {
		for b.Loop() {
			benchPost(b, b.Fatal, s, q, 1)
		}
	})
	run("PostBatch10", func(b *testing.B, s storage.Store, q zaqar.QueueRef) {
		for b.Loop() {
			benchPost(b, b.Fatal, s, q, 10)
		}
	})
	run("PostParallel", func(b *testing.B, s storage.Store, q zaqar.QueueRef) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				benchPost(b, b.Error, s, q, 1)
			}
		})
	})
	run("Get", func(b *testing.B, s storage.Store, q zaqar.QueueRef) {
		ids := benchPost(b, b.Fatal, s, q, 20)
		i := 0
		for b.Loop() {
			if _, err := s.Messages().Get(b.Context(), q, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	run("List20", func(b *testing.B, s storage.Store, q zaqar.QueueRef) {
		for range 50 {
			benchPost(b, b.Fatal, s, q, 20)
		}
		opts := storage.MessageListOptions{Limit: 20, Echo: true}
		for b.Loop() {
			page, err := s.Messages().List(b.Context(), q, opts)
			if err != nil {
				b.Fatal(err)
			}
			opts.Marker = ""
			if len(page) > 0 {
				opts.Marker = page[len(page)-1].Marker
			}
		}
	})
	run("ClaimRelease10", func(b *testing.B, s storage.Store, q zaqar.QueueRef) {
		benchPost(b, b.Fatal, s, q, 20)
		for b.Loop() {
			benchClaim(b, b.Fatal, s, q, func(ctx context.Context, c zaqar.Claim, _ []string) error {
				return s.Claims().Delete(ctx, q, c.ID)
			})
		}
	})
	run("ClaimReleaseParallel", func(b *testing.B, s storage.Store, q zaqar.QueueRef) {
		for range 10 {
			benchPost(b, b.Fatal, s, q, 20)
		}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				benchClaim(b, b.Error, s, q, func(ctx context.Context, c zaqar.Claim, _ []string) error {
					return s.Claims().Delete(ctx, q, c.ID)
				})
			}
		})
	})
	// A consumer's whole cycle: 10 messages posted, claimed and deleted.
	run("PostClaimDelete10", func(b *testing.B, s storage.Store, q zaqar.QueueRef) {
		for b.Loop() {
			benchPost(b, b.Fatal, s, q, 10)
			benchClaim(b, b.Fatal, s, q, func(ctx context.Context, c zaqar.Claim, ids []string) error {
				return s.Messages().DeleteMany(ctx, q, ids, []string{c.ID})
			})
		}
	})
	run("PostPop10", func(b *testing.B, s storage.Store, q zaqar.QueueRef) {
		for b.Loop() {
			benchPost(b, b.Fatal, s, q, 10)
			if _, err := s.Messages().Pop(b.Context(), q, 10); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("Stats", func(b *testing.B, s storage.Store, q zaqar.QueueRef) {
		for range 10 {
			benchPost(b, b.Fatal, s, q, 20)
		}
		if _, _, err := s.Claims().Create(b.Context(), q, claimOpts(10)); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Messages().Stats(b.Context(), q); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchPost posts n messages. Failures go to fail: b.Fatal, or b.Error in
// RunParallel bodies, which must not call Fatal.
func benchPost(b *testing.B, fail func(...any), s storage.Store, q zaqar.QueueRef, n int) []string {
	msgs := make([]zaqar.NewMessage, n)
	for i := range msgs {
		msgs[i] = newMsg(`{"event":"benchmark","payload":{"id":12345,"tags":["a","b","c"]}}`)
	}
	ids, err := s.Messages().Post(b.Context(), q, msgs)
	if err != nil {
		fail(err)
	}
	return ids
}

// benchClaim claims 10 messages and ends the claim with done, failing as
// benchPost does.
func benchClaim(b *testing.B, fail func(...any), s storage.Store, q zaqar.QueueRef, done func(context.Context, zaqar.Claim, []string) error) {
	c, msgs, err := s.Claims().Create(b.Context(), q, claimOpts(10))
	if err != nil {
		fail(err)
		return
	}
	if c.ID == "" {
		return // parallel claimers hold everything for a moment
	}
	if err := done(b.Context(), c, ids(msgs)); err != nil {
		fail(err)
	}
}
