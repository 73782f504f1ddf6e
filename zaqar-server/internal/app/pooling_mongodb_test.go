package app

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/mongodb"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
)

// mongoURL is the MongoDB-protocol server of the tests: MONGODB_URI when it
// names a real MongoDB, else ZAQAR_TEST_MONGODB_URL (the FerretDB
// scripts/test starts), as in storage/mongodb's tests.
func mongoURL(t *testing.T) string {
	if u := os.Getenv("MONGODB_URI"); u != "" {
		return u
	}
	return storagetest.RequireEnv(t, "ZAQAR_TEST_MONGODB_URL")
}

// TestPoolingMongoDB runs the server with two mongodb:// pools on one
// server, in databases of their own named by the pools' options (Zaqar's
// per-pool configuration), behind an embedded catalog: queues land on both,
// each message is claimed once through its pool, the flavor shows the
// MongoDB driver's capabilities, and /v2/health reports both pools.
func TestPoolingMongoDB(t *testing.T) {
	base := mongoURL(t)
	// Two URIs for one server (a URI names one pool): appName differs.
	poolURI := func(name string) string {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("appName", name)
		u.RawQuery = q.Encode()
		return u.String()
	}
	id := strings.ToLower(rand.Text()[:8])
	pools := map[string]string{"ma": "zaqar_pool_ma_" + id, "mb": "zaqar_pool_mb_" + id} // name: database

	cfg := config.Default()
	cfg.AdminMode, cfg.Pooling = true, true
	cfg.ManagementStore = "embedded"
	cfg.Stores["embedded"]["path"] = t.TempDir() + "/catalog.db"
	// The section's options are the pools' defaults; the pools override
	// the database.
	cfg.Stores["mongodb"] = map[string]string{"database": "not_used_" + id, "partitions": "2", "max_retry_sleep": "0.01"}
	node := serve(t, cfg)

	call := func(method, path, body string) (int, []byte) {
		t.Helper()
		return request(t, method, node+path, "pooling-mongodb", "admin", body)
	}
	must := func(status int, method, path, body string) []byte {
		t.Helper()
		got, b := call(method, path, body)
		if got != status {
			t.Fatalf("%s %s = %d %s, want %d", method, path, got, b, status)
		}
		return b
	}

	for name, db := range pools {
		must(201, "PUT", "/v2/pools/"+name, fmt.Sprintf(`{"uri":%q,"weight":1,"flavor":"mongo","options":{"database":%q,"partitions":2}}`, poolURI(name), db))
	}
	must(201, "PUT", "/v2/flavors/mongo", `{"pool_list":["ma","mb"]}`)
	var flavor struct{ Capabilities []string }
	if err := json.Unmarshal(must(200, "GET", "/v2/flavors/mongo?detailed=true", ""), &flavor); err != nil {
		t.Fatal(err)
	}
	if want := []string{"FIFO", "CLAIMS", "DURABILITY", "AOD", "HIGH_THROUGHPUT"}; !slices.Equal(flavor.Capabilities, want) {
		t.Errorf("capabilities %v, want %v", flavor.Capabilities, want)
	}

	const n = 8
	for i := range n {
		q := fmt.Sprintf("/v2/queues/q%d", i)
		must(201, "PUT", q, `{"_flavor":"mongo"}`)
		must(201, "POST", q+"/messages", fmt.Sprintf(`{"messages":[{"body":%d,"ttl":300}]}`, i))
		var claim struct{ Messages []struct{ Body int } }
		if err := json.Unmarshal(must(201, "POST", q+"/claims", `{"ttl":60,"grace":60}`), &claim); err != nil {
			t.Fatal(err)
		}
		if len(claim.Messages) != 1 || claim.Messages[0].Body != i {
			t.Errorf("claim on %s: %+v", q, claim.Messages)
		}
		must(204, "POST", q+"/claims", `{"ttl":60,"grace":60}`)
	}

	// Both pools are in the health report and answer.
	var health map[string]json.RawMessage
	if err := json.Unmarshal(must(200, "GET", "/v2/health", ""), &health); err != nil {
		t.Fatal(err)
	}
	if string(health["catalog_reachable"]) != "true" {
		t.Errorf("catalog_reachable = %s", health["catalog_reachable"])
	}
	for name := range pools {
		var h struct {
			StorageReachable bool `json:"storage_reachable"`
			OperationStatus  map[string]struct {
				Succeeded bool `json:"succeeded"`
			} `json:"operation_status"`
		}
		if err := json.Unmarshal(health[name], &h); err != nil {
			t.Fatalf("health of pool %s: %s: %v", name, health[name], err)
		}
		if !h.StorageReachable || len(h.OperationStatus) != 8 {
			t.Errorf("health of pool %s: %+v", name, h)
		}
		for op, st := range h.OperationStatus {
			if !st.Succeeded {
				t.Errorf("pool %s: %s failed", name, op)
			}
		}
	}

	// The queues are in the pools' own databases.
	total := 0
	for name, db := range pools {
		st, err := mongodb.Open(t.Context(), base, mongodb.Options{Database: db, Partitions: 2})
		if err != nil {
			t.Fatal(err)
		}
		qs, err := st.Queues().List(t.Context(), "pooling-mongodb", storage.QueueListOptions{Limit: 100})
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) == 0 {
			t.Errorf("no queue in pool %s", name)
		}
		total += len(qs)
	}
	if total != n {
		t.Errorf("%d queues in the pools, want %d", total, n)
	}

	for i := range n {
		must(204, "DELETE", fmt.Sprintf("/v2/queues/q%d", i), "")
	}
	must(204, "DELETE", "/v2/flavors/mongo", "")
	for name := range pools {
		must(204, "DELETE", "/v2/pools/"+name, "")
	}
}
