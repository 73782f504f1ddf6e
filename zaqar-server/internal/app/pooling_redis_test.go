package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/redis"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
)

// TestPoolingNodes: two API nodes share a Redis catalog and two pools, two
// other databases of the same Redis. Queues created through one node land
// on both pools and are served by either node: each message posted through
// one is claimed exactly once through the other.
func TestPoolingNodes(t *testing.T) {
	redisURL := storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL")
	u, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	db := func(n int) string {
		v := *u
		v.Path = fmt.Sprint("/", n)
		return v.String()
	}
	// Other tests add pools to the same catalog: a flavor of our own keeps
	// our queues on our pools.
	id := fmt.Sprint(time.Now().UnixNano())
	project, flavor := "pooling-"+id, "flavor-"+id
	pools := map[string]string{"pa-" + id: db(14), "pb-" + id: db(15)}

	var nodes []string
	for range 2 {
		cfg := config.Default()
		cfg.AdminMode, cfg.Pooling = true, true
		cfg.ManagementStore = "redis"
		cfg.Stores["redis"] = map[string]string{"uri": redisURL}
		base, _ := startNode(t, cfg)
		nodes = append(nodes, base)
	}
	cat, err := redis.Open(t.Context(), redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	// Pools of an earlier run that died would hold our URIs.
	old, err := cat.Pools().List(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range old {
		if p.URI == db(14) || p.URI == db(15) {
			cat.Pools().Delete(t.Context(), p.Name)
		}
	}
	t.Cleanup(func() {
		for name := range pools {
			cat.Pools().Delete(context.Background(), name)
		}
	})

	call := func(node, method, path, body string) (int, []byte) {
		t.Helper()
		return request(t, method, node+path, project, "admin", body)
	}
	must := func(status int, node, method, path, body string) []byte {
		t.Helper()
		got, b := call(node, method, path, body)
		if got != status {
			t.Fatalf("%s %s = %d %s, want %d", method, path, got, b, status)
		}
		return b
	}

	for name, uri := range pools {
		must(201, nodes[0], "PUT", "/v2/pools/"+name, fmt.Sprintf(`{"uri":%q,"weight":1,"flavor":%q}`, uri, flavor))
	}
	must(201, nodes[0], "PUT", "/v2/flavors/"+flavor, `{"pool_list":["pa-`+id+`","pb-`+id+`"]}`)

	const n = 20
	for i := range n {
		must(201, nodes[1], "PUT", fmt.Sprintf("/v2/queues/q%02d", i), `{"_flavor":"`+flavor+`"}`)
	}
	for i := range n {
		q := fmt.Sprintf("/v2/queues/q%02d", i)
		from, to := nodes[i%2], nodes[(i+1)%2]
		must(201, from, "POST", q+"/messages", fmt.Sprintf(`{"messages":[{"body":%d,"ttl":300},{"body":%d,"ttl":300}]}`, 2*i, 2*i+1))
		var doc struct{ Messages []struct{ Body int } }
		if err := json.Unmarshal(must(201, to, "POST", q+"/claims?limit=5", `{"ttl":60,"grace":60}`), &doc); err != nil {
			t.Fatal(err)
		}
		claimed := doc.Messages
		if len(claimed) != 2 || claimed[0].Body != 2*i || claimed[1].Body != 2*i+1 {
			t.Errorf("claim on %s through the other node: %+v", q, claimed)
		}
		must(204, from, "POST", q+"/claims", `{"ttl":60,"grace":60}`)
	}

	total := 0
	for name, uri := range pools {
		st, err := redis.Open(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Queues().Count(t.Context(), project)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got == 0 {
			t.Errorf("no queue on pool %s", name)
		}
		total += got
	}
	if total != n {
		t.Errorf("%d queues on the pools, want %d", total, n)
	}
	for i := range n {
		must(204, nodes[i%2], "DELETE", fmt.Sprintf("/v2/queues/q%02d", i), "")
	}
	must(204, nodes[0], "DELETE", "/v2/flavors/"+flavor, "")
	for name := range pools {
		must(204, nodes[1], "DELETE", "/v2/pools/"+name, "")
	}
}
