//go:build tempest

package tempest

import (
	"sync"
	"testing"
)

// poolURIMu serializes the tests that put a pool on the configured URI:
// Zaqar (and zaqar-go) refuse a second pool with the same URI (409).
var poolURIMu sync.Mutex

// Admin routes: health, pools and flavors (zaqar-api.md 3, 10). They need
// the admin role (adminSession) and exist only where the server serves
// them: Zaqar and zaqar-go route /v2/health with [DEFAULT] admin_mode, and
// /v2/pools and /v2/flavors with admin_mode and pooling. A route that
// answers 404 skips its test, saying so.

// skipIfNotServed skips when the route answers 404 (not routed here).
func skipIfNotServed(t *testing.T, r *response, what string) {
	t.Helper()
	if r.status == 404 {
		t.Skipf("%s %s answers 404: %s is not served by this deployment", r.method, r.path, what)
	}
}

// GET /v2/health: 200 with the storage report for admins, 403 for others.
func TestHealth(t *testing.T) {
	t.Parallel()
	admin := adminSession(t)
	r := admin.do("GET", "v2/health", nil)
	skipIfNotServed(t, r, "health (admin_mode off?)")
	doc := wantBody[object](t, r, 200, healthSchema)
	if v, ok := doc["storage_reachable"]; ok && v != true {
		t.Errorf("storage_reachable = %v on a working deployment", v)
	}

	s := newSession(t)
	wantError(t, s.do("GET", "v2/health", nil), 403, "")
}

// Pools: list and get shapes, 404 for unknown pools, 400 for bad bodies,
// 403 for non-admins; with ZAQAR_POOL_URI ([messaging] pool_uri) a pool
// is created, updated and deleted.
func TestPools(t *testing.T) {
	t.Parallel()
	admin := adminSession(t)
	r := admin.do("GET", "v2/pools", nil)
	skipIfNotServed(t, r, "pools (admin_mode and pooling)")
	wantBody[object](t, r, 200, poolListSchema)

	name := "tempest-pool-" + randHex(4)
	wantError(t, admin.do("GET", "v2/pools/"+name, nil), 404, "")
	for _, body := range []any{object{}, object{"uri": "redis://127.0.0.1:1"}, object{"weight": 10}, object{"uri": 1, "weight": 10},
		object{"uri": "redis://127.0.0.1:1", "weight": -1}, object{"uri": "redis://127.0.0.1:1", "weight": 10, "bogus": true}} {
		wantError(t, admin.do("PUT", "v2/pools/"+name, body), 400, "")
	}
	wantError(t, admin.do("PATCH", "v2/pools/"+name, object{}), 400, "")

	s := newSession(t)
	wantError(t, s.do("GET", "v2/pools", nil), 403, "")
	wantError(t, s.do("PUT", "v2/pools/"+name, object{"uri": "redis://127.0.0.1:1", "weight": 10}), 403, "")

	uri := admin.cloud.cfg.poolURI
	if uri == "" {
		t.Log("set ZAQAR_POOL_URI to a store URI the server can use to also create, update and delete a pool")
		return
	}
	poolURIMu.Lock()
	t.Cleanup(poolURIMu.Unlock) // after the cleanups below, which run first
	r = admin.do("PUT", "v2/pools/"+name, object{"uri": uri, "weight": 10, "options": object{"k": "v"}})
	wantStatus(t, r, 201)
	wantHeader(t, r, "Location", "/v2/pools/"+name)
	admin.cleanup("DELETE", "v2/pools/"+name)
	got := wantBody[object](t, admin.do("GET", "v2/pools/"+name+"?detailed=true", nil), 200, poolSchema)
	if got["name"] != name || got["uri"] != uri || num(got["weight"]) != 10 || got["href"] != "/v2/pools/"+name {
		t.Errorf("pool = %v", got)
	}
	got = wantBody[object](t, admin.do("PATCH", "v2/pools/"+name, object{"weight": 20}), 200, poolSchema)
	if num(got["weight"]) != 20 {
		t.Errorf("PATCH weight 20 answered %v", got)
	}
	wantStatus(t, admin.do("DELETE", "v2/pools/"+name, nil), 204)
	wantError(t, admin.do("GET", "v2/pools/"+name, nil), 404, "")
}

// Flavors: list and get shapes (listing is open to project members), 404
// for unknown flavors, 400 for bad bodies, 403 for non-admin writes; with
// ZAQAR_POOL_URI a flavor over a new pool is created and deleted.
func TestFlavors(t *testing.T) {
	t.Parallel()
	admin := adminSession(t)
	s := newSession(t)
	r := s.do("GET", "v2/flavors", nil)
	skipIfNotServed(t, r, "flavors (admin_mode and pooling)")
	wantBody[object](t, r, 200, flavorListSchema)

	name := "tempest-flavor-" + randHex(4)
	wantError(t, s.do("GET", "v2/flavors/"+name, nil), 404, "")
	wantError(t, s.do("PUT", "v2/flavors/"+name, object{"pool_list": []string{"p"}}), 403, "")
	for _, body := range []any{object{}, object{"pool_list": []string{}}, object{"pool_list": "p"},
		object{"pool_list": []string{"tempest-no-such-pool-" + randHex(4)}}} {
		wantError(t, admin.do("PUT", "v2/flavors/"+name, body), 400, "")
	}

	uri := admin.cloud.cfg.poolURI
	if uri == "" {
		t.Log("set ZAQAR_POOL_URI to a store URI the server can use to also create and delete a flavor")
		return
	}
	poolURIMu.Lock()
	t.Cleanup(poolURIMu.Unlock) // after the cleanups below, which run first
	pool := "tempest-pool-" + randHex(4)
	wantStatus(t, admin.do("PUT", "v2/pools/"+pool, object{"uri": uri, "weight": 10}), 201)
	admin.cleanup("DELETE", "v2/pools/"+pool)
	r = admin.do("PUT", "v2/flavors/"+name, object{"pool_list": []string{pool}})
	wantStatus(t, r, 201)
	wantHeader(t, r, "Location", "/v2/flavors/"+name)
	admin.cleanup("DELETE", "v2/flavors/"+name)
	got := wantBody[object](t, admin.do("GET", "v2/flavors/"+name, nil), 200, flavorSchema)
	if pl := got["pool_list"].([]any); len(pl) != 1 || pl[0] != pool {
		t.Errorf("flavor pool_list = %v, want [%s]", pl, pool)
	}
	wantStatus(t, admin.do("DELETE", "v2/flavors/"+name, nil), 204)
	wantError(t, admin.do("GET", "v2/flavors/"+name, nil), 404, "")
}
