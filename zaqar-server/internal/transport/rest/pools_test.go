package rest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/pooled"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// pooledAPI serves the API over a pooled store whose pools are memory
// stores named by memory:// URIs; "durable://" pools report other
// capabilities. It returns the pool stores by URI.
func pooledAPI(t *testing.T, ro rest.Options) (*api, map[string]storage.Store) {
	t.Helper()
	backends := map[string]storage.Store{}
	open := func(ctx context.Context, uri string, _ map[string]any) (storage.Store, error) {
		if !strings.HasPrefix(uri, "memory://") && !strings.HasPrefix(uri, "durable://") {
			return nil, fmt.Errorf("no driver for %s", uri)
		}
		if backends[uri] == nil {
			backends[uri] = memory.New()
		}
		return backends[uri], nil
	}
	caps := func(uri string) []string {
		if strings.HasPrefix(uri, "durable://") {
			return []string{"FIFO", "CLAIMS", "DURABILITY", "AOD"}
		}
		return []string{"FIFO", "CLAIMS", "AOD", "HIGH_THROUGHPUT"}
	}
	s, err := pooled.New(memory.New(), pooled.Options{Open: open, Capabilities: caps})
	if err != nil {
		t.Fatal(err)
	}
	return newAPIWith(t, s, service.Options{Limits: zaqar.DefaultLimits()}, ro), backends
}

var admin = []string{"X-Roles", "admin"}

func TestPoolsRoutes(t *testing.T) {
	for _, ro := range []rest.Options{{}, {AdminMode: true}, {Pooling: true}} {
		a, _ := pooledAPI(t, ro)
		for _, path := range []string{"/v2/pools", "/v2/pools/a", "/v2/flavors", "/v2/flavors/f"} {
			r := a.expect("GET", path, "", 404, admin...)
			equalJSON(t, r.body, `{"title":"404 Not Found"}`)
		}
		// Zaqar lists its admin resources in admin mode, served or not.
		home := a.expect("GET", "/v2/", "", 200).json(t)["resources"].(map[string]any)
		for _, rel := range []string{"rel/pools", "rel/pool", "rel/flavors", "rel/flavor", "rel/health"} {
			if listed := home[rel] != nil; listed != ro.AdminMode {
				t.Errorf("home document with %+v lists %s: %v", ro, rel, listed)
			}
		}
	}
	a, _ := pooledAPI(t, rest.Options{AdminMode: true, Pooling: true})
	home := a.expect("GET", "/v2/", "", 200).json(t)["resources"].(map[string]any)
	for _, rel := range []string{"rel/pools", "rel/pool", "rel/flavors", "rel/flavor", "rel/health"} {
		if home[rel] == nil {
			t.Errorf("home document without %s", rel)
		}
	}
	equalJSON(t, mustJSON(home["rel/pool"]), `{"href-template":"/v2/pools/{pool_name}","href-vars":{"pool_name":"param/pool_name"},
		"hints":{"allow":["GET","PUT","PATCH","DELETE"],"formats":{"application/json":{}}}}`)
	a.expect("POST", "/v2/pools/a", "{}", 405, admin...)
}

// Pools are admin only; flavors can be read by anyone (zaqar/common/policies).
func TestPoolsPolicy(t *testing.T) {
	a, _ := pooledAPI(t, rest.Options{AdminMode: true, Pooling: true})
	denied := `{"title":"Not authorized","description":"You are not authorized to complete this action."}`
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v2/pools", ""},
		{"GET", "/v2/pools/a", ""},
		{"PUT", "/v2/pools/a", `{"uri":"memory://a","weight":1}`},
		{"PATCH", "/v2/pools/a", `{"weight":1}`},
		{"DELETE", "/v2/pools/a", ""},
		{"PUT", "/v2/flavors/f", `{"pool_list":["a"]}`},
		{"PATCH", "/v2/flavors/f", `{"pool_list":["a"]}`},
		{"DELETE", "/v2/flavors/f", ""},
	} {
		for _, roles := range []string{"", "member", "member,reader"} {
			r := a.expect(c.method, c.path, c.body, 403, "X-Roles", roles)
			equalJSON(t, r.body, denied)
		}
	}
	a.expect("GET", "/v2/flavors", "", 200, "X-Roles", "member")
	a.expect("GET", "/v2/flavors/f", "", 404, "X-Roles", "member")
	a.expect("GET", "/v2/pools", "", 200, "X-Roles", "member,admin")
}

func TestPools(t *testing.T) {
	a, backends := pooledAPI(t, rest.Options{AdminMode: true, Pooling: true})
	r := a.expect("GET", "/v2/pools", "", 200, admin...)
	equalJSON(t, r.body, `{"pools":[],"links":[]}`)

	bad := func(method, path, body, title, desc string) {
		t.Helper()
		r := a.expect(method, path, body, 400, admin...)
		equalJSON(t, r.body, fmt.Sprintf(`{"title":%q,"description":%q}`, title, desc))
	}
	const badBody = "Invalid request body"
	bad("PUT", "/v2/pools/a", `{"weight":100}`, badBody, `'uri' is a required property`)
	bad("PUT", "/v2/pools/a", `{"uri":"memory://a"}`, badBody, `'weight' is a required property`)
	bad("PUT", "/v2/pools/a", `{"uri":"memory://a","weight":-1}`, badBody, `-1 is less than the minimum of 0`)
	bad("PUT", "/v2/pools/a", `{"uri":"memory://a","weight":4294967296}`, badBody, `4294967296 is greater than the maximum of 4294967295`)
	bad("PUT", "/v2/pools/a", `{"uri":"memory://a","weight":"big"}`, badBody, `"big" is not of type 'integer'`)
	bad("PUT", "/v2/pools/a", `{"uri":"memory://a","weight":1.5}`, badBody, `1.5 is not of type 'integer'`)
	bad("PUT", "/v2/pools/a", `{"uri":[],"weight":1}`, badBody, `[] is not of type 'string'`)
	bad("PUT", "/v2/pools/a", `{"uri":"memory://a","weight":1,"options":"wee"}`, badBody, `"wee" is not of type 'object'`)
	bad("PUT", "/v2/pools/a", `{"uri":"memory://a","weight":1,"location":1}`, badBody, `Additional properties are not allowed ('location' was unexpected)`)
	bad("PUT", "/v2/pools/a", `{"uri":"memory://a","weight":1`, badBody, `JSON could not be parsed.`)
	bad("PUT", "/v2/pools/a", `[]`, badBody, `[] is not of type 'object'`)
	bad("PUT", "/v2/pools/a", `{"uri":"localhost:27017","weight":1}`, badBody, `cannot connect to localhost:27017`)

	r = a.expect("PUT", "/v2/pools/a", `{"uri":"memory://a","weight":100,"options":{"k":1}}`, 201, admin...)
	if r.header.Get("Location") != "/v2/pools/a" || len(r.body) != 0 {
		t.Errorf("PUT pool: Location %q, body %q", r.header.Get("Location"), r.body)
	}
	r = a.expect("PUT", "/v2/pools/b", `{"uri":"memory://a","weight":1}`, 409, admin...)
	equalJSON(t, r.body, `{"title":"Resource conflict","description":"The database URI is in use by another pool."}`)
	a.expect("PUT", "/v2/pools/a", `{"uri":"memory://a","weight":100,"options":{"k":1}}`, 201, admin...) // replaces
	a.expect("PUT", "/v2/pools/b", `{"uri":"memory://b","weight":50}`, 201, admin...)

	r = a.expect("GET", "/v2/pools/a", "", 200, admin...)
	equalJSON(t, r.body, `{"name":"a","uri":"memory://a","weight":100,"flavor":null,"href":"/v2/pools/a"}`)
	r = a.expect("GET", "/v2/pools/a?detailed=true", "", 200, admin...)
	equalJSON(t, r.body, `{"name":"a","uri":"memory://a","weight":100,"flavor":null,"href":"/v2/pools/a","options":{"k":1}}`)
	r = a.expect("GET", "/v2/pools/nope", "", 404, admin...)
	equalJSON(t, r.body, `{"title":"Not found","description":"Pool nope does not exist"}`)

	r = a.expect("GET", "/v2/pools?limit=1", "", 200, admin...)
	equalJSON(t, r.body, `{"pools":[{"name":"a","uri":"memory://a","weight":100,"flavor":null,"href":"/v2/pools/a"}],
		"links":[{"rel":"next","href":"/v2/pools?limit=1&marker=a"}]}`)
	if r.header.Get("Content-Location") != "/v2/pools?limit=1" {
		t.Errorf("Content-Location %q", r.header.Get("Content-Location"))
	}
	r = a.expect("GET", "/v2/pools?marker=a&limit=1&detailed=true", "", 200, admin...)
	equalJSON(t, r.body, `{"pools":[{"name":"b","uri":"memory://b","weight":50,"flavor":null,"href":"/v2/pools/b","options":{}}],
		"links":[{"rel":"next","href":"/v2/pools?marker=b&limit=1&detailed=true"}]}`)
	r = a.expect("GET", "/v2/pools?marker=b", "", 200, admin...)
	equalJSON(t, r.body, `{"pools":[],"links":[]}`)
	r = a.expect("GET", "/v2/pools?limit=21", "", 400, admin...)
	equalJSON(t, r.body, `{"title":"Invalid API request","description":"Limit must be at least 1 and no greater than 20."}`)

	bad("PATCH", "/v2/pools/a", `{"location":1}`, badBody, "One of `uri`, `weight`, `flavor`, or `options` needs to be specified")
	bad("PATCH", "/v2/pools/a", `{"weight":-1}`, badBody, `-1 is less than the minimum of 0`)
	bad("PATCH", "/v2/pools/a", `{"uri":"nowhere"}`, badBody, `cannot connect to nowhere`)
	r = a.expect("PATCH", "/v2/pools/a", `{"weight":101,"options":{"a":1},"partition":"taco"}`, 200, admin...)
	equalJSON(t, r.body, `{"name":"a","uri":"memory://a","weight":101,"flavor":null,"href":"/v2/pools/a"}`)
	r = a.expect("PATCH", "/v2/pools/a", `{"uri":"memory://b"}`, 409, admin...)
	r = a.expect("PATCH", "/v2/pools/nope", `{"weight":1}`, 404, admin...)
	equalJSON(t, r.body, `{"title":"Not found","description":"Pool nope does not exist"}`)

	// Queues land on the pools and are served from them.
	for i := range 20 {
		a.expect("POST", fmt.Sprintf("/v2/queues/q%d/messages", i), `{"messages":[{"body":1}]}`, 201)
	}
	for _, uri := range []string{"memory://a", "memory://b"} {
		if n, _ := backends[uri].Queues().Count(t.Context(), "p1"); n == 0 {
			t.Errorf("no queue on %s", uri)
		}
	}
	r = a.expect("GET", "/v2/queues?limit=20&with_count=true", "", 200)
	if got := r.json(t); len(got["queues"].([]any)) != 20 || got["count"] != float64(20) {
		t.Errorf("queue listing across pools: %s", r.body)
	}

	// A pool holding queues stays.
	r = a.expect("DELETE", "/v2/pools/a", "", 409, admin...)
	if !strings.Contains(string(r.body), `"title":"Resource conflict"`) || !strings.Contains(string(r.body), "queue") {
		t.Errorf("delete of a pool holding queues: %s", r.body)
	}
	for i := range 20 {
		a.expect("DELETE", fmt.Sprintf("/v2/queues/q%d", i), "", 204)
	}
	a.expect("DELETE", "/v2/pools/a", "", 204, admin...)
	a.expect("DELETE", "/v2/pools/a", "", 204, admin...)
	a.expect("GET", "/v2/pools/a", "", 404, admin...)
}

func TestFlavors(t *testing.T) {
	a, backends := pooledAPI(t, rest.Options{AdminMode: true, Pooling: true})
	a.expect("PUT", "/v2/pools/a", `{"uri":"memory://a","weight":10}`, 201, admin...)
	a.expect("PUT", "/v2/pools/b", `{"uri":"memory://b","weight":10}`, 201, admin...)
	a.expect("PUT", "/v2/pools/d", `{"uri":"durable://d","weight":10}`, 201, admin...)

	bad := func(method, path, body, title, desc string) {
		t.Helper()
		r := a.expect(method, path, body, 400, admin...)
		equalJSON(t, r.body, fmt.Sprintf(`{"title":%q,"description":%q}`, title, desc))
	}
	bad("PUT", "/v2/flavors/gold", `{}`, "Invalid request body", `'pool_list' is a required property`)
	bad("PUT", "/v2/flavors/gold", `{"capabilities":{}}`, "Invalid request body", `'pool_list' is a required property`)
	bad("PUT", "/v2/flavors/gold", `{"pool_list":1}`, "Invalid request body", `1 is not of type 'array'`)
	bad("PUT", "/v2/flavors/gold", `{"pool_list":["a"],"capabilities":[]}`, "Invalid request body", `[] is not of type 'object'`)
	bad("PUT", "/v2/flavors/gold", `{"pool_list":[]}`, "Unable to create", "Bad Request")
	bad("PUT", "/v2/flavors/gold", `{"pool_list":["nope"]}`, "Unable to create", "Flavor gold could not be created, error:Pool nope does not exist")

	r := a.expect("PUT", "/v2/flavors/gold", `{"pool_list":["a"],"capabilities":{}}`, 201, admin...)
	if r.header.Get("Location") != "/v2/flavors/gold" {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	r = a.expect("GET", "/v2/flavors/gold", "", 200)
	equalJSON(t, r.body, `{"name":"gold","href":"/v2/flavors/gold","capabilities":["FIFO","CLAIMS","AOD","HIGH_THROUGHPUT"],"pool_list":["a"]}`)
	r = a.expect("GET", "/v2/pools/a", "", 200, admin...)
	equalJSON(t, r.body, `{"name":"a","uri":"memory://a","weight":10,"flavor":"gold","href":"/v2/pools/a"}`)
	// Flavors belong to a project.
	a.expect("GET", "/v2/flavors/gold", "", 404, "X-Project-ID", "p2")
	r = a.expect("GET", "/v2/flavors/nope", "", 404)
	equalJSON(t, r.body, `{"title":"Not found","description":"Flavor nope does not exist"}`)

	// A flavor's pools must offer the same capabilities.
	r = a.expect("PATCH", "/v2/pools/d", `{"flavor":"gold"}`, 200, admin...)
	r = a.expect("PUT", "/v2/pools/e", `{"uri":"durable://e","weight":1,"flavor":"gold"}`, 400, admin...)
	equalJSON(t, r.body, `{"title":"Unable to create pool","description":"The pool being added does not support the minimum set of capabilities"}`)
	a.expect("PATCH", "/v2/pools/d", `{"flavor":""}`, 200, admin...)

	a.expect("PUT", "/v2/flavors/silver", `{"pool_list":["b"]}`, 201, admin...)
	r = a.expect("GET", "/v2/flavors?limit=1", "", 200)
	equalJSON(t, r.body, `{"flavors":[{"name":"gold","href":"/v2/flavors/gold","pool_list":["a"]}],
		"links":[{"rel":"next","href":"/v2/flavors?limit=1&marker=gold"}]}`)
	r = a.expect("GET", "/v2/flavors?marker=gold&detailed=true", "", 200)
	equalJSON(t, r.body, `{"flavors":[{"name":"silver","href":"/v2/flavors/silver","pool_list":["b"],"capabilities":["FIFO","CLAIMS","AOD","HIGH_THROUGHPUT"]}],
		"links":[{"rel":"next","href":"/v2/flavors?marker=silver&detailed=true"}]}`)
	r = a.expect("GET", "/v2/flavors?limit=0", "", 400)
	equalJSON(t, r.body, `{"title":"Invalid API request","description":"Limit must be at least 1 and no greater than 20."}`)

	// Queues of a flavor go to its pools; without one, to pools without a flavor.
	a.expect("PUT", "/v2/queues/g", `{"_flavor":"gold"}`, 201)
	r = a.expect("PUT", "/v2/queues/x", `{"_flavor":"nope"}`, 400)
	equalJSON(t, r.body, `{"title":"Invalid API request","description":"Flavor nope does not exist"}`)
	a.expect("POST", "/v2/queues/g/messages", `{"messages":[{"body":"gold"}]}`, 201)
	a.expect("PUT", "/v2/queues/plain", ``, 201)
	if _, err := backends["memory://a"].Queues().Get(t.Context(), zaqar.QueueRef{Project: "p1", Name: "g"}); err != nil {
		t.Errorf("queue of flavor gold not on pool a: %v", err)
	}
	if _, err := backends["durable://d"].Queues().Get(t.Context(), zaqar.QueueRef{Project: "p1", Name: "plain"}); err != nil {
		t.Errorf("queue without flavor not on the only pool without one: %v", err)
	}
	r = a.expect("GET", "/v2/queues/g/messages?echo=true", "", 200)
	if !strings.Contains(string(r.body), `"body":"gold"`) {
		t.Errorf("messages of g: %s", r.body)
	}

	// The last pool of a flavor cannot go.
	r = a.expect("DELETE", "/v2/pools/a", "", 403, admin...)
	equalJSON(t, r.body, `{"title":"Unable to delete","description":"This pool is used by flavors gold; It cannot be deleted."}`)

	bad("PATCH", "/v2/flavors/gold", `{"capabilities":{}}`, "Invalid request body", "`pool_list` needs to be specified")
	bad("PATCH", "/v2/flavors/gold", `{"pool_list":[]}`, "Unable to create", "Bad Request")
	bad("PATCH", "/v2/flavors/gold", `{"pool_list":["nope"]}`, "updatefail", "Flavor gold cant be updated, error:Pool nope does not exist")
	r = a.expect("PATCH", "/v2/flavors/nope", `{"pool_list":["a"]}`, 404, admin...)
	equalJSON(t, r.body, `{"title":"Not found","description":"Flavor nope does not exist"}`)
	r = a.expect("PATCH", "/v2/flavors/gold", `{"pool_list":["b"],"location":1}`, 200, admin...)
	equalJSON(t, r.body, `{"name":"gold","href":"/v2/flavors/gold","capabilities":["FIFO","CLAIMS","AOD","HIGH_THROUGHPUT"],"pool_list":["b"]}`)
	r = a.expect("GET", "/v2/pools/a", "", 200, admin...)
	equalJSON(t, r.body, `{"name":"a","uri":"memory://a","weight":10,"flavor":null,"href":"/v2/pools/a"}`)

	// Deleting a flavor detaches its pools.
	a.expect("DELETE", "/v2/flavors/gold", "", 204, admin...)
	a.expect("DELETE", "/v2/flavors/gold", "", 204, admin...)
	a.expect("GET", "/v2/flavors/gold", "", 404)
	r = a.expect("GET", "/v2/pools/b", "", 200, admin...)
	equalJSON(t, r.body, `{"name":"b","uri":"memory://b","weight":10,"flavor":null,"href":"/v2/pools/b"}`)
}
