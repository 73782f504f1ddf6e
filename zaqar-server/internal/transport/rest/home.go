package rest

import (
	"net/http"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
)

// versions answers GET / with 300 Multiple Choices, as Zaqar does.
func (h *handler) versions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusMultipleChoices, map[string]any{
		"versions": []any{map[string]any{
			"id":      "2",
			"status":  "CURRENT",
			"updated": "2014-9-24T04:06:47Z",
			"media-types": []any{map[string]string{
				"base": "application/json",
				"type": "application/vnd.openstack.messaging-v2+json",
			}},
			"links": []any{map[string]string{"href": "/v2/", "rel": "self"}},
		}},
	})
}

// rel is one relation of the JSON-home document.
func rel(template string, vars map[string]string, allow []string, acceptPost bool) map[string]any {
	hints := map[string]any{
		"allow":   allow,
		"formats": map[string]any{"application/json": map[string]any{}},
	}
	if acceptPost {
		hints["accept-post"] = []string{"application/json"}
	}
	r := map[string]any{"href-template": template, "hints": hints}
	if vars != nil {
		r["href-vars"] = vars
	}
	return r
}

// homeDoc mirrors zaqar/transport/wsgi/v2_0/homedoc.py.
func homeDoc(admin bool) map[string]any {
	q := map[string]string{"queue_name": "param/queue_name"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{"queue_name": "param/queue_name"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	res := map[string]any{
		"rel/queues": rel("/v2/queues{?marker,limit,detailed}",
			map[string]string{"marker": "param/marker", "limit": "param/queue_limit", "detailed": "param/detailed"}, []string{"GET"}, false),
		"rel/queue":       rel("/v2/queues/{queue_name}", q, []string{"GET", "PUT", "DELETE", "PATCH"}, false),
		"rel/queue_stats": rel("/v2/queues/{queue_name}/stats", q, []string{"GET"}, false),
		"rel/queue_share": rel("/v2/queues/{queue_name}/share", q, []string{"POST"}, true),
		"rel/queue_purge": rel("/v2/queues/{queue_name}/purge", q, []string{"POST"}, true),
		"rel/messages": rel("/v2/queues/{queue_name}/messages{?marker,limit,echo,include_claimed}",
			with(map[string]string{"marker": "param/marker", "limit": "param/messages_limit", "echo": "param/echo", "include_claimed": "param/include_claimed"}), []string{"GET"}, false),
		"rel/post_messages": rel("/v2/queues/{queue_name}/messages", q, []string{"POST"}, true),
		"rel/messages_delete": rel("/v2/queues/{queue_name}/messages{?ids,pop}",
			with(map[string]string{"ids": "param/ids", "pop": "param/pop"}), []string{"DELETE"}, false),
		"rel/message_delete": rel("/v2/queues/{queue_name}/messages/{message_id}{?claim}",
			with(map[string]string{"message_id": "param/message_id", "claim": "param/claim_id"}), []string{"DELETE"}, false),
		"rel/message_get": rel("/v2/queues/{queue_name}/messages/{message_id}",
			with(map[string]string{"message_id": "param/message_id"}), []string{"GET"}, false),
		"rel/claim": rel("/v2/queues/{queue_name}/claims/{claim_id}",
			with(map[string]string{"claim_id": "param/claim_id"}), []string{"GET"}, false),
		"rel/post_claim": rel("/v2/queues/{queue_name}/claims{?limit}",
			with(map[string]string{"limit": "param/claim_limit"}), []string{"POST"}, true),
		"rel/patch_claim": rel("/v2/queues/{queue_name}/claims/{claim_id}",
			with(map[string]string{"claim_id": "param/claim_id"}), []string{"PATCH"}, true),
		"rel/delete_claim": rel("/v2/queues/{queue_name}/claims/{claim_id}",
			with(map[string]string{"claim_id": "param/claim_id"}), []string{"DELETE"}, false),
		"rel/subscriptions_get": rel("/v2/queues/{queue_name}/subscriptions{?marker,limit}",
			with(map[string]string{"marker": "param/marker", "limit": "param/subscription_limit"}), []string{"GET"}, false),
		"rel/subscriptions_post": rel("/v2/queues/{queue_name}/subscriptions",
			with(map[string]string{"limit": "param/subscription_limit"}), []string{"POST"}, true),
		"rel/subscription": rel("/v2/queues/{queue_name}/subscriptions/{subscriptions_id}",
			with(map[string]string{"subscriptions_id": "param/subscriptions_id"}), []string{"GET", "DELETE"}, false),
		"rel/subscription_patch": rel("/v2/queues/{queue_name}/subscriptions/{subscriptions_id}",
			with(map[string]string{"subscriptions_id": "param/subscriptions_id"}), []string{"PATCH"}, true),
		"rel/ping": rel("/v2/ping", nil, []string{"GET"}, false),
	}
	if admin {
		// Zaqar's ADMIN_RESOURCES, listed in admin mode whether or not
		// pooling serves the pools and flavors (they answer 404 without it,
		// in Zaqar as here).
		res["rel/health"] = map[string]any{"href": "/v2/health",
			"hints": map[string]any{"allow": []string{"GET"}, "formats": map[string]any{"application/json": map[string]any{}}}}
		addPoolRels(res)
	}
	return map[string]any{"resources": res}
}

func (h *handler) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=86400")
	w.Header().Set("Content-Type", "application/json-home")
	w.WriteHeader(http.StatusOK)
	writeBody(w, homeDoc(h.admin))
}

// ping answers 204 when storage is reachable, 503 with no body otherwise.
func (h *handler) ping(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.Ping(r.Context()); err != nil {
		h.log.WarnContext(r.Context(), "ping: storage unreachable", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pingHead always answers 204, as Zaqar's on_head does.
func (h *handler) pingHead(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

// health runs the storage health probe; Zaqar serves it in admin mode only.
func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	if !h.admin {
		h.fail(w, r, errNoRoute)
		return
	}
	health, err := h.svc.Health(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, healthDoc(health))
}

// virtualPool names the virtual pool in the health document; Zaqar's
// leaves it out. A registered pool of that name keeps the key.
const virtualPool = "virtual_pool"

// healthDoc is Zaqar's health document: a store's _health, or with
// pooling catalog_reachable and one such entry per pool.
func healthDoc(hl service.Health) map[string]any {
	if !hl.Pooled {
		return storeHealthDoc(hl.Store)
	}
	doc := map[string]any{"catalog_reachable": hl.CatalogReachable}
	for _, p := range hl.Pools {
		if p.Name != "" {
			doc[p.Name] = storeHealthDoc(p.StoreHealth)
		}
	}
	for _, p := range hl.Pools {
		if _, taken := doc[virtualPool]; p.Name == "" && !taken {
			doc[virtualPool] = storeHealthDoc(p.StoreHealth)
		}
	}
	return doc
}

func storeHealthDoc(sh service.StoreHealth) map[string]any {
	ops := map[string]any{}
	for name, op := range sh.Operations {
		var ref any // null, as Zaqar's
		if op.Ref != "" {
			ref = op.Ref
		}
		ops[name] = map[string]any{"succeeded": op.Succeeded, "seconds": op.Elapsed.Seconds(), "ref": ref}
	}
	doc := map[string]any{"storage_reachable": sh.Reachable, "operation_status": ops}
	if v := sh.Volume; v != nil {
		doc["message_volume"] = map[string]int64{"free": v.Free, "claimed": v.Claimed, "total": v.Free + v.Claimed}
	}
	return doc
}

// live answers 200 while the process serves: a liveness probe.
func (h *handler) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
}

// ready answers 200 when this node can serve and 503 when its storage does
// not answer (service.Ready: cached, and with pooling one pool suffices).
// For load balancers: no authentication, no Client-ID, and no detail of
// what failed, which /v2/health gives admins.
func (h *handler) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := h.svc.Ready(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
