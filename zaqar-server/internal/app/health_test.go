package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/testserver"
)

// adminCall sends one request as an admin of project "p" and returns the status
// and body.
func adminCall(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	return request(t, method, url, "p", "admin", body)
}

// eventually polls until adminCall answers status, for up to 20 s.
func eventually(t *testing.T, status int, method, url string) []byte {
	t.Helper()
	var got int
	var b []byte
	if !testenv.Poll(t, 20*time.Second, 50*time.Millisecond, func() bool {
		got, b = adminCall(t, method, url, "")
		return got == status
	}) {
		t.Fatalf("%s %s = %d %s after 20s, want %d", method, url, got, b, status)
	}
	return b
}

// Readiness follows a real Redis: 200 while it answers, 503 once it is
// gone, 200 again when it is back; liveness stays 200 throughout, and
// /v2/health answers 200 with storage_reachable false, as Zaqar's Redis
// driver does. Metrics see the outage too.
func TestReadinessRedis(t *testing.T) {
	redis := testserver.StartRedis(t, t.TempDir(), 0)
	cfg := config.Default()
	cfg.AdminMode = true
	cfg.MessageStore = "redis"
	cfg.Stores["redis"] = map[string]string{"uri": redis.URL()}
	cfg.Metrics.Enabled, cfg.Metrics.Port = true, testserver.FreePort(t)
	base := serve(t, cfg)
	scrapeURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", cfg.Metrics.Port)

	eventually(t, 200, "GET", base+"/healthz/ready")
	if got, b := adminCall(t, "GET", base+"/v2/health", ""); got != 200 || !strings.Contains(string(b), `"storage_reachable":true`) {
		t.Fatalf("health = %d %s", got, b)
	}
	if text := scrapeText(t, scrapeURL); !strings.Contains(text, "\nzaqar_storage_up{pool=\"\"} 1\n") {
		t.Errorf("storage up not reported:\n%s", grep(text, "zaqar_storage"))
	}

	redis.Stop()
	eventually(t, 503, "GET", base+"/healthz/ready")
	if got, _ := adminCall(t, "GET", base+"/healthz/live", ""); got != 200 {
		t.Errorf("live = %d with storage down", got)
	}
	got, b := adminCall(t, "GET", base+"/v2/health", "")
	var h struct {
		StorageReachable bool `json:"storage_reachable"`
		OperationStatus  map[string]struct {
			Succeeded bool    `json:"succeeded"`
			Ref       *string `json:"ref"`
		} `json:"operation_status"`
	}
	if err := json.Unmarshal(b, &h); got != 200 || err != nil || h.StorageReachable || h.OperationStatus["create_queue"].Succeeded || h.OperationStatus["create_queue"].Ref == nil {
		t.Errorf("health with Redis down = %d %s", got, b)
	}
	text := scrapeText(t, scrapeURL)
	if !strings.Contains(text, "\nzaqar_storage_up{pool=\"\"} 0\n") || !strings.Contains(text, `zaqar_storage_errors_total{driver="redis",operation="ping"}`) {
		t.Errorf("outage not in the metrics:\n%s", grep(text, "zaqar_storage"))
	}

	testserver.StartRedis(t, t.TempDir(), redis.Port)
	eventually(t, 200, "GET", base+"/healthz/ready")
}

// With pooling, one pool down: /v2/health answers 200, that pool's entry
// says storage_reachable false, the other's true, catalog_reachable is
// false (Zaqar's is_alive); readiness stays 200 since a pool answers.
func TestHealthPoolDown(t *testing.T) {
	redis := testserver.StartRedis(t, t.TempDir(), 0)
	cfg := config.Default()
	cfg.AdminMode, cfg.Pooling = true, true
	cfg.ManagementStore = "memory"
	base := serve(t, cfg)
	for name, uri := range map[string]string{"mem": "memory://mem", "red": redis.URL()} {
		if got, b := adminCall(t, "PUT", base+"/v2/pools/"+name, fmt.Sprintf(`{"uri":%q,"weight":1}`, uri)); got != 201 {
			t.Fatalf("PUT pool %s = %d %s", name, got, b)
		}
	}
	redis.Stop()

	got, b := adminCall(t, "GET", base+"/v2/health", "")
	if got != 200 {
		t.Fatalf("health = %d %s", got, b)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc) != 3 || string(doc["catalog_reachable"]) != "false" {
		t.Errorf("health = %s, want catalog_reachable false and the two pools", b)
	}
	for name, want := range map[string]bool{"mem": true, "red": false} {
		var h struct {
			StorageReachable bool            `json:"storage_reachable"`
			OperationStatus  json.RawMessage `json:"operation_status"`
		}
		if err := json.Unmarshal(doc[name], &h); err != nil || h.StorageReachable != want || h.OperationStatus == nil {
			t.Errorf("pool %s: %s, want storage_reachable %v", name, doc[name], want)
		}
	}
	if got, b := adminCall(t, "GET", base+"/healthz/ready", ""); got != 200 {
		t.Errorf("ready with one pool of two down = %d %s", got, b)
	}
}

func scrapeText(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", url, res.StatusCode, b)
	}
	return string(b)
}

// grep keeps the lines of text that contain s.
func grep(text, s string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
