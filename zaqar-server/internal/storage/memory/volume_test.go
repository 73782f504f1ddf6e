package memory

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func TestVolume(t *testing.T) {
	ctx := t.Context()
	clock := newClock()
	s := New(WithClock(clock))
	post := func(q zaqar.QueueRef, n int, ttl time.Duration) {
		t.Helper()
		msgs := make([]zaqar.NewMessage, n)
		for i := range msgs {
			msgs[i] = zaqar.NewMessage{Body: json.RawMessage(`1`), TTL: ttl}
		}
		if _, err := s.Messages().Post(ctx, q, msgs); err != nil {
			t.Fatal(err)
		}
	}
	want := func(free, claimed int64) {
		t.Helper()
		v, err := s.Volume(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v != (storage.Volume{Free: free, Claimed: claimed}) {
			t.Errorf("Volume = %+v, want free %d, claimed %d", v, free, claimed)
		}
	}
	want(0, 0)

	a := zaqar.QueueRef{Project: "p1", Name: "a"}
	b := zaqar.QueueRef{Project: "p2", Name: "b"}
	post(a, 5, time.Hour)
	post(b, 3, time.Minute)
	if _, err := s.Messages().Post(ctx, b, []zaqar.NewMessage{{Body: json.RawMessage(`2`), TTL: time.Hour, Delay: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	want(9, 0) // delayed messages are free, as in Stats

	c, msgs, err := s.Claims().Create(ctx, a, storage.ClaimOptions{TTL: 2 * time.Minute, Grace: time.Minute, Limit: 2})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("claim: %v, %d messages", err, len(msgs))
	}
	want(7, 2)
	if err := s.Messages().Delete(ctx, a, msgs[0].ID, c.ID); err != nil {
		t.Fatal(err)
	}
	want(7, 1)

	clock.Advance(90 * time.Second) // b's three messages expire
	want(4, 1)
	clock.Advance(time.Minute) // the claim expires
	want(5, 0)
	if err := s.Queues().Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	want(1, 0)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Volume(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Volume with a cancelled context = %v, want context.Canceled", err)
	}
}
