package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/embedded"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// BenchmarkNotify10Subscribers posts b.N messages to a queue with ten
// webhook subscribers and waits until all 10*b.N notifications arrived;
// the notifications/s metric is the delivery rate.
func BenchmarkNotify10Subscribers(b *testing.B) {
	for _, name := range []string{"memory", "embedded"} {
		b.Run(name, func(b *testing.B) {
			var store storage.Store = memory.New()
			if name == "embedded" {
				s, err := embedded.Open(b.Context(), filepath.Join(b.TempDir(), "z.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				store = s
			}
			var delivered atomic.Int64
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				delivered.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer hook.Close()
			q := zaqar.QueueRef{Project: "bench", Name: "fanout"}
			for i := 0; i < 10; i++ {
				store.Subscriptions().Create(b.Context(), q, zaqar.Subscription{Source: q.Name,
					Subscriber: hook.URL + "/" + string(rune('a'+i)), TTL: time.Hour,
					Options: map[string]any{AllowInternalOption: true}})
			}
			n := New(store, Options{sleep: noSleep})
			ctx, cancel := context.WithCancel(b.Context())
			done := make(chan struct{})
			go func() { n.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			msg := []zaqar.NewMessage{{Body: json.RawMessage(`{"event":"x"}`), TTL: time.Minute}}
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					release, err := n.Enqueue(b.Context(), q, msg)
					if err != nil {
						b.Fatal(err)
					}
					store.Messages().Post(b.Context(), q, msg)
					release()
				}
			})
			want := int64(10 * b.N)
			for delivered.Load() < want {
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(want)/time.Since(start).Seconds(), "notifications/s")
		})
	}
}
