package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
	"github.com/zaqar-go/suite/zaqar-server/internal/testserver"
)

// node is one zaqar-server process of a scale-out test.
type node struct {
	http   string
	wsPort int
}

// startNodes runs n independent servers (stores, notifiers, listeners of
// their own) over one Redis, as API nodes behind a load balancer.
func startNodes(t *testing.T, n int, redisURL string) []node {
	t.Helper()
	var nodes []node
	for i := 0; i < n; i++ {
		cfg := config.Default()
		cfg.MessageStore = "redis"
		cfg.Stores["redis"] = map[string]string{"uri": redisURL}
		cfg.WebSocket.Port = testserver.FreePort(t)
		cfg.Notification.BlockInternalWebhooks = false
		nodes = append(nodes, node{http: serve(t, cfg), wsPort: cfg.WebSocket.Port})
	}
	return nodes
}

func nodeCall(t *testing.T, method, url, project, body string) (int, http.Header, []byte) {
	return send(t, method, url, body, "X-Project-ID", project)
}

// TestScaleOut: three API nodes over one Redis, producers and consumers
// spread across them. Every message is claimed exactly once, none is lost,
// and a webhook and a WebSocket subscriber get every post whichever node
// took it.
func TestScaleOut(t *testing.T) {
	redisURL := storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL")
	nodes := startNodes(t, 3, redisURL)
	project := fmt.Sprintf("scaleout-%d", time.Now().UnixNano())
	q := "/v2/queues/work"

	var hookMu sync.Mutex
	hooked := map[string]bool{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct {
			Body struct{ ID string } `json:"body"`
		}
		json.NewDecoder(r.Body).Decode(&n)
		hookMu.Lock()
		hooked[n.Body.ID] = true
		hookMu.Unlock()
	}))
	defer hook.Close()
	if status, _, b := nodeCall(t, "POST", nodes[0].http+q+"/subscriptions", project, `{"subscriber":"`+hook.URL+`"}`); status != 201 {
		t.Fatalf("webhook subscription = %d %s", status, b)
	}
	sock := dialSocket(t, nodes[1].wsPort)
	h := map[string]any{"Client-ID": "3381af92-2b9e-11e3-b191-71861300734c", "X-Project-ID": project}
	if status, body := sock.do("subscription_create", h, map[string]any{"queue_name": "work"}); status != 201 {
		t.Fatalf("socket subscription = %d %v", status, body)
	}

	const producers, perProducer = 3, 60
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perProducer; i++ {
				body := fmt.Sprintf(`{"messages":[{"body":{"id":"%d-%d"},"ttl":600}]}`, p, i)
				if status, _, b := nodeCall(t, "POST", nodes[(p+i)%len(nodes)].http+q+"/messages", project, body); status != 201 {
					t.Errorf("post via node %d = %d %s", (p+i)%len(nodes), status, b)
				}
			}
		}()
	}

	var mu sync.Mutex
	claimed := map[string]int{}
	stop := make(chan struct{})
	var consumers sync.WaitGroup
	for c := 0; c < 6; c++ {
		consumers.Add(1)
		go func() {
			defer consumers.Done()
			base := nodes[c%len(nodes)].http
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, _, b := nodeCall(t, "POST", base+q+"/claims?limit=5", project, `{"ttl":300,"grace":60}`)
				if status == 204 {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if status != 201 {
					t.Errorf("claim = %d %s", status, b)
					return
				}
				var doc struct {
					Messages []struct {
						Href string
						Body struct{ ID string }
					}
				}
				json.Unmarshal(b, &doc)
				for _, m := range doc.Messages {
					mu.Lock()
					claimed[m.Body.ID]++
					mu.Unlock()
					// Delete through another node than the one that claimed.
					other := nodes[(c+1)%len(nodes)].http
					if status, _, b := nodeCall(t, "DELETE", other+m.Href, project, ""); status != 204 {
						t.Errorf("delete = %d %s", status, b)
					}
				}
			}
		}()
	}
	wg.Wait()
	total := producers * perProducer
	// Short of all, the checks below say how many were lost.
	testenv.Poll(t, time.Minute, 50*time.Millisecond, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(claimed) >= total
	})
	close(stop)
	consumers.Wait()

	mu.Lock()
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("message %s claimed %d times", id, n)
		}
	}
	if len(claimed) != total {
		t.Errorf("claimed %d distinct messages, want %d (lost %d)", len(claimed), total, total-len(claimed))
	}
	mu.Unlock()
	if status, _, b := nodeCall(t, "GET", nodes[2].http+q+"/stats", project, ""); status != 200 || !strings.Contains(string(b), `"total":0`) {
		t.Errorf("stats after draining = %d %s", status, b)
	}

	// Notifications: every post reached both subscribers.
	seen := map[string]bool{}
	for len(seen) < total {
		n := sock.next()
		if b, ok := n["body"].(map[string]any); ok {
			seen[fmt.Sprint(b["id"])] = true
		}
	}
	testenv.Poll(t, time.Minute, 50*time.Millisecond, func() bool {
		hookMu.Lock()
		defer hookMu.Unlock()
		return len(hooked) >= total
	})
	hookMu.Lock()
	defer hookMu.Unlock()
	if len(hooked) != total {
		t.Errorf("webhook got %d of %d notifications", len(hooked), total)
	}
}
