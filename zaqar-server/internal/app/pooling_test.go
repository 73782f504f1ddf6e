package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/embedded"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// TestPooling runs the server with pooling over two pools, a memory store
// and an embedded file, with the catalog in an embedded management store
// (read from a zaqar.conf): queues land on both pools, every request for
// a queue is served by its pool, listing spans the pools, subscriptions
// notify, and a pool holding queues cannot be deleted.
func TestPooling(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "zaqar.conf")
	catalog := filepath.Join(dir, "catalog.db")
	err := os.WriteFile(conf, []byte(`
[DEFAULT]
admin_mode = true
pooling = true

[drivers]
message_store = embedded
management_store = embedded

[drivers:management_store:embedded]
path = `+catalog+`

[notification]
block_internal_webhooks = false
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	base, stop := startNode(t, cfg)

	call := func(method, path, body string, roles string) (int, []byte) {
		t.Helper()
		return request(t, method, base+path, "proj", roles, body)
	}
	must := func(status int, method, path, body, roles string) []byte {
		t.Helper()
		got, b := call(method, path, body, roles)
		if got != status {
			t.Fatalf("%s %s = %d %s, want %d", method, path, got, b, status)
		}
		return b
	}

	// No pool yet: nowhere to put a queue (Zaqar's NoPoolFound).
	must(503, "PUT", "/v2/queues/early", "", "")
	must(403, "PUT", "/v2/pools/mem", `{"uri":"memory://","weight":1}`, "member")
	poolFile := filepath.Join(dir, "pool.db")
	must(201, "PUT", "/v2/pools/mem", `{"uri":"memory://","weight":1}`, "admin")
	must(201, "PUT", "/v2/pools/disk", `{"uri":"file://`+poolFile+`","weight":1}`, "admin")
	if b := must(400, "PUT", "/v2/pools/none", `{"uri":"redis://127.0.0.1:1","weight":1}`, "admin"); !strings.Contains(string(b), "cannot connect to redis://127.0.0.1:1") {
		t.Errorf("PUT of an unreachable pool: %s", b)
	}

	var mu sync.Mutex
	var hooked []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct {
			Body      string `json:"body"`
			QueueName string `json:"queue_name"`
		}
		json.NewDecoder(r.Body).Decode(&n)
		mu.Lock()
		hooked = append(hooked, n.QueueName+":"+n.Body)
		mu.Unlock()
	}))
	defer hook.Close()
	must(201, "POST", "/v2/queues/q00/subscriptions", `{"subscriber":"`+hook.URL+`","ttl":3600}`, "")

	const n = 24
	var names []string
	for i := range n {
		name := fmt.Sprintf("q%02d", i)
		names = append(names, name)
		must(201, "POST", "/v2/queues/"+name+"/messages", fmt.Sprintf(`{"messages":[{"body":"m%d","ttl":600}]}`, i), "")
	}
	// Each queue is served by its pool: its message comes back, claimed once.
	for i, name := range names {
		b := must(201, "POST", "/v2/queues/"+name+"/claims", `{"ttl":60,"grace":60}`, "")
		if !strings.Contains(string(b), fmt.Sprintf(`"body":"m%d"`, i)) {
			t.Errorf("claim on %s = %s", name, b)
		}
		must(204, "POST", "/v2/queues/"+name+"/claims", `{"ttl":60,"grace":60}`, "")
	}
	// Listing spans the pools, in name order, page by page.
	var listed []string
	path := "/v2/queues?limit=5"
	for range 10 {
		var page struct {
			Queues []struct{ Name string }
			Links  []struct{ Href string }
		}
		if err := json.Unmarshal(must(200, "GET", path, "", ""), &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Queues) == 0 {
			break
		}
		for _, q := range page.Queues {
			listed = append(listed, q.Name)
		}
		path = page.Links[0].Href
	}
	if !slices.Equal(listed, names) {
		t.Errorf("listed %v, want %v", listed, names)
	}
	var got []string
	if !testenv.Poll(t, 10*time.Second, 20*time.Millisecond, func() bool {
		mu.Lock()
		defer mu.Unlock()
		got = slices.Clone(hooked)
		return slices.Equal(got, []string{"q00:m0"})
	}) {
		t.Fatalf("webhook got %v, want [q00:m0]", got)
	}
	// Both pools hold queues, so neither can go.
	for _, pool := range []string{"mem", "disk"} {
		if b := must(409, "DELETE", "/v2/pools/"+pool, "", "admin"); !strings.Contains(string(b), "cannot be deleted") {
			t.Errorf("DELETE pool %s: %s", pool, b)
		}
	}
	stop()

	// Look at what the server left: the placements in the catalog, and the
	// queues of the embedded pool.
	mgmt, err := embedded.Open(t.Context(), catalog)
	if err != nil {
		t.Fatal(err)
	}
	defer mgmt.Close()
	onMem, _ := mgmt.Catalogue().Count(t.Context(), "mem")
	onDisk, _ := mgmt.Catalogue().Count(t.Context(), "disk")
	// The subscription's outbox, where the notifier keeps what it has to
	// deliver, is a queue too.
	if onMem == 0 || onDisk == 0 || onMem+onDisk != n+1 {
		t.Errorf("placements: %d on mem, %d on disk, want %d in all on both", onMem, onDisk, n+1)
	}
	disk, err := embedded.Open(t.Context(), poolFile)
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	for _, name := range names {
		q := zaqar.QueueRef{Project: "proj", Name: name}
		pool, err := mgmt.Catalogue().Lookup(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		_, err = disk.Queues().Get(t.Context(), q)
		if (err == nil) != (pool == "disk") {
			t.Errorf("queue %s placed on %s; in the embedded pool: %v", name, pool, err == nil)
		}
	}
}

func TestPoolDriver(t *testing.T) {
	for _, tc := range []struct {
		uri, driver, path string
	}{
		{"memory://a", "memory", ""},
		{"/var/lib/zaqar/p.db", "embedded", "/var/lib/zaqar/p.db"},
		{"file:///var/lib/zaqar/p.db", "embedded", "/var/lib/zaqar/p.db"},
		{"redis://10.0.0.5:6379/1", "redis", ""},
		{"redis+sentinel://h1,h2/mymaster", "redis", ""},
		{"mongodb://10.0.0.6:27017/?replicaSet=rs0", "mongodb", ""},
		{"mongodb+srv://cluster.example.com/", "mongodb", ""},
		{"cassandra://h", "", ""},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			driver, path, err := poolDriver(tc.uri)
			if driver != tc.driver || path != tc.path || (err != nil) != (tc.driver == "") {
				t.Errorf("poolDriver(%q) = %q, %q, %v; want %q, %q", tc.uri, driver, path, err, tc.driver, tc.path)
			}
		})
	}
}
