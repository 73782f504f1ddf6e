package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
)

func get(t testing.TB, url string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Client-ID", "3381af92-2b9e-11e3-b191-71861300734c")
	req.Header.Set("X-Project-ID", "p")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func TestRunServesUntilCancelled(t *testing.T) {
	for _, store := range []string{"embedded", "memory"} {
		t.Run(store, func(t *testing.T) {
			cfg := config.Default()
			cfg.MessageStore = store
			cfg.Stores["embedded"]["path"] = filepath.Join(t.TempDir(), "sub", "zaqar.db")
			cfg.WSGI.Port = 0
			cfg.WebSocket.Port = 0
			ctx, cancel := context.WithCancel(t.Context())
			addrc := make(chan string, 1)
			done := make(chan error, 1)
			go func() { done <- Run(ctx, cfg, slog.New(slog.DiscardHandler), func(a string) { addrc <- a }) }()
			var addr string
			select {
			case addr = <-addrc:
			case err := <-done:
				t.Fatalf("Run returned early: %v", err)
			}
			if got := get(t, "http://"+addr+"/v2/ping"); got != http.StatusNoContent {
				t.Fatalf("ping = %d", got)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run = %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
		})
	}
}

func TestOpenStoreUnknownDriver(t *testing.T) {
	cfg := config.Default()
	cfg.MessageStore = "cassandra"
	if _, err := OpenStore(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "cassandra") {
		t.Errorf("OpenStore(cassandra) = %v", err)
	}
}

// BenchmarkPostMessage posts single small messages over real HTTP from
// parallel clients, the figure zaqar-bench reports as POST throughput.
func BenchmarkPostMessage(b *testing.B) {
	for _, store := range []string{"memory", "embedded", "redis"} {
		b.Run(store, func(b *testing.B) {
			cfg := config.Default()
			cfg.MessageStore = store
			cfg.Stores["embedded"]["path"] = filepath.Join(b.TempDir(), "zaqar.db")
			if store == "redis" {
				url := os.Getenv("ZAQAR_TEST_REDIS_URL")
				if url == "" {
					b.Skip("ZAQAR_TEST_REDIS_URL is not set")
				}
				cfg.Stores["redis"] = map[string]string{"uri": url}
			}
			st, err := OpenStore(b.Context(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			h, err := Handler(cfg, st, nil, nil, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 256}
			client := &http.Client{Transport: tr}
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", srv.URL+"/v2/queues/bench/messages",
						strings.NewReader(`{"messages":[{"body":{"event":"x","n":1},"ttl":300}]}`))
					req.Header.Set("Client-ID", "3381af92-2b9e-11e3-b191-71861300734c")
					req.Header.Set("X-Project-ID", "bench")
					req.Header.Set("Content-Type", "application/json")
					res, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusCreated {
						b.Fatalf("status %d", res.StatusCode)
					}
				}
			})
		})
	}
}
