package ws

import (
	"net/http"
	"testing"
)

// TestActions drives every action over a real socket, in JSON and in
// MessagePack, comparing statuses and bodies with Zaqar's.
func TestActions(t *testing.T) {
	e := newEnv(t, envOptions{})
	modes(t, func(t *testing.T, binary bool) {
		project := "actions-json"
		if binary {
			project = "actions-msgpack"
		}
		cl := e.dial(binary, project)

		// Queues.
		r := cl.do("queue_create", map[string]any{"queue_name": "fizbit", "metadata": map[string]any{"key": "value", "_default_message_ttl": 3600}})
		expect(t, "queue_create", r, http.StatusCreated, "Queue fizbit created.")
		wantEcho := map[string]any{"action": "queue_create", "api": "v2", "headers": cl.headers,
			"body": map[string]any{"queue_name": "fizbit", "metadata": map[string]any{"key": "value", "_default_message_ttl": 3600}}}
		if got, want := plain(t, r.Request), plain(t, wantEcho); !equal(got, want) {
			t.Errorf("request echo = %v, want %v", got, want)
		}
		expect(t, "queue_create again", cl.do("queue_create", map[string]any{"queue_name": "fizbit"}), http.StatusNoContent, "Queue fizbit created.")
		expect(t, "queue_create other", cl.do("queue_create", map[string]any{"queue_name": "other"}), http.StatusCreated, "Queue other created.")
		expect(t, "queue_list", cl.do("queue_list", nil), http.StatusOK,
			map[string]any{"queues": []any{map[string]any{"name": "fizbit"}, map[string]any{"name": "other"}}})
		expect(t, "queue_list detailed", cl.do("queue_list", map[string]any{"detailed": true, "limit": 1}), http.StatusOK,
			map[string]any{"queues": []any{map[string]any{"name": "fizbit", "metadata": map[string]any{"key": "value", "_default_message_ttl": 3600}}}})
		expect(t, "queue_list marker", cl.do("queue_list", map[string]any{"marker": "fizbit"}), http.StatusOK,
			map[string]any{"queues": []any{map[string]any{"name": "other"}}})
		r = cl.do("queue_list", map[string]any{"limit": 21})
		expect(t, "queue_list limit 21", r, http.StatusBadRequest,
			map[string]any{"error": "Invalid API request", "exception": "Limit must be at least 1 and no greater than 20."})
		expect(t, "queue_get", cl.do("queue_get", map[string]any{"queue_name": "fizbit"}), http.StatusOK,
			map[string]any{"key": "value", "_default_message_ttl": 3600})
		expect(t, "queue_get missing", cl.do("queue_get", map[string]any{"queue_name": "nope"}), http.StatusOK, map[string]any{})
		expect(t, "queue_get_stats empty", cl.do("queue_get_stats", map[string]any{"queue_name": "fizbit"}), http.StatusOK,
			map[string]any{"messages": map[string]any{"claimed": 0, "free": 0, "total": 0}})
		expect(t, "queue_get_stats missing", cl.do("queue_get_stats", map[string]any{"queue_name": "nope"}), http.StatusNotFound,
			map[string]any{"messages": map[string]any{"claimed": 0, "free": 0, "total": 0}})
		r = cl.do("queue_create", map[string]any{"queue_name": "bad name!"})
		expect(t, "queue_create bad name", r, http.StatusBadRequest, nil)

		// Messages.
		r = cl.do("message_post", map[string]any{"queue_name": "fizbit", "messages": []any{
			map[string]any{"body": map[string]any{"n": 1}, "ttl": 300},
			map[string]any{"body": "two"},
			map[string]any{"body": []any{3, 4.5}, "ttl": 600},
		}})
		expect(t, "message_post", r, http.StatusCreated, nil)
		ids, _ := r.obj()["message_ids"].([]any)
		if len(ids) != 3 {
			t.Fatalf("message_post ids = %v", r.Body)
		}
		id0, id1, id2 := ids[0].(string), ids[1].(string), ids[2].(string)
		r = cl.do("message_list", map[string]any{"queue_name": "fizbit", "echo": true, "limit": 2})
		expect(t, "message_list", r, http.StatusOK, nil)
		msgs, _ := r.obj()["messages"].([]any)
		if len(msgs) != 2 {
			t.Fatalf("message_list = %v", r.Body)
		}
		first := msgs[0].(map[string]any)
		if first["id"] != id0 || first["ttl"] != 300.0 || first["claim_id"] != nil || !equal(first["body"], map[string]any{"n": 1.0}) {
			t.Errorf("message_list first = %v", first)
		}
		if _, ok := first["age"]; !ok || len(first) != 5 {
			t.Errorf("message keys = %v, want id, claim_id, ttl, age, body", first)
		}
		expect(t, "message_list without echo", cl.do("message_list", map[string]any{"queue_name": "fizbit"}), http.StatusOK,
			map[string]any{"messages": []any{}})
		expect(t, "message_list missing queue", cl.do("message_list", map[string]any{"queue_name": "nope", "echo": true}), http.StatusOK,
			map[string]any{"messages": []any{}})
		r = cl.do("message_get", map[string]any{"queue_name": "fizbit", "message_id": id1})
		expect(t, "message_get", r, http.StatusOK, nil)
		if m, _ := r.obj()["messages"].(map[string]any); m["id"] != id1 || m["body"] != "two" || m["ttl"] != 3600.0 {
			t.Errorf("message_get = %v", r.Body)
		}
		r = cl.do("message_get", map[string]any{"queue_name": "fizbit", "message_id": "5c6939a8d4a4e7b0e5b1b2c3"})
		expect(t, "message_get missing", r, http.StatusNotFound, nil)
		if r.obj()["error"] != "Not found" {
			t.Errorf("message_get missing body = %v", r.Body)
		}
		// In the order asked, as Zaqar's Redis driver answers.
		r = cl.do("message_get_many", map[string]any{"queue_name": "fizbit", "message_ids": []any{id2, id0}})
		expect(t, "message_get_many", r, http.StatusOK, nil)
		if msgs, _ := r.obj()["messages"].([]any); len(msgs) != 2 || msgs[0].(map[string]any)["id"] != id2 || msgs[1].(map[string]any)["id"] != id0 {
			t.Errorf("message_get_many = %v, want %s then %s", r.Body, id2, id0)
		}
		expect(t, "message_get_many none", cl.do("message_get_many", map[string]any{"queue_name": "fizbit", "message_ids": []any{"nope"}}),
			http.StatusOK, map[string]any{"messages": []any{}})
		many := make([]any, 21)
		for i := range many {
			many[i] = id0
		}
		expect(t, "message_get_many 21", cl.do("message_get_many", map[string]any{"queue_name": "fizbit", "message_ids": many}),
			http.StatusBadRequest, nil)
		// The oldest message as a reader sees it, named by id.
		r = cl.do("queue_get_stats", map[string]any{"queue_name": "fizbit"})
		expect(t, "queue_get_stats", r, http.StatusOK, nil)
		st, _ := r.obj()["messages"].(map[string]any)
		oldest, _ := st["oldest"].(map[string]any)
		if oldest["id"] != id0 || !equal(oldest["body"], map[string]any{"n": 1.0}) || oldest["ttl"] != 300.0 ||
			oldest["claim_count"] != 0.0 || oldest["claim_id"] != nil || oldest["created"] == nil || oldest["age"] == nil || oldest["href"] != nil {
			t.Errorf("queue_get_stats oldest = %v", oldest)
		}
		if _, ok := oldest["claim_id"]; !ok {
			t.Errorf("queue_get_stats oldest has no claim_id: %v", oldest)
		}

		// Claims.
		r = cl.do("claim_create", map[string]any{"queue_name": "fizbit", "limit": 2, "ttl": 120, "grace": 60})
		expect(t, "claim_create", r, http.StatusCreated, nil)
		cid, _ := r.obj()["claim_id"].(string)
		claimedMsgs, _ := r.obj()["messages"].([]any)
		if cid == "" || len(claimedMsgs) != 2 || claimedMsgs[0].(map[string]any)["claim_id"] != cid {
			t.Fatalf("claim_create = %v", r.Body)
		}
		r = cl.do("claim_get", map[string]any{"queue_name": "fizbit", "claim_id": cid})
		expect(t, "claim_get", r, http.StatusOK, nil)
		if r.obj()["ttl"] != 120.0 || len(r.obj()["messages"].([]any)) != 2 || len(r.obj()) != 3 {
			t.Errorf("claim_get = %v", r.Body)
		}
		expect(t, "claim_update", cl.do("claim_update", map[string]any{"queue_name": "fizbit", "claim_id": cid, "ttl": 200}),
			http.StatusNoContent, "Claim "+cid+" updated.")
		if r := cl.do("claim_get", map[string]any{"queue_name": "fizbit", "claim_id": cid}); r.obj()["ttl"] != 200.0 {
			t.Errorf("claim_get after update = %v", r.Body)
		}
		expect(t, "claim_update bad ttl", cl.do("claim_update", map[string]any{"queue_name": "fizbit", "claim_id": cid, "ttl": 1}),
			http.StatusBadRequest, nil)
		expect(t, "claim_get missing", cl.do("claim_get", map[string]any{"queue_name": "fizbit", "claim_id": "5c6939a8d4a4e7b0e5b1b2c3"}),
			http.StatusNotFound, nil)
		claimedID := claimedMsgs[0].(map[string]any)["id"].(string)
		expect(t, "message_delete claimed", cl.do("message_delete", map[string]any{"queue_name": "fizbit", "message_id": claimedID}),
			http.StatusForbidden, map[string]any{"error": "Unable to delete",
				"exception": "This message is claimed; it cannot be deleted without a valid claim ID."})
		expect(t, "message_delete with claim", cl.do("message_delete", map[string]any{"queue_name": "fizbit", "message_id": claimedID, "claim_id": cid}),
			http.StatusNoContent, map[string]any{})
		expect(t, "claim_delete", cl.do("claim_delete", map[string]any{"queue_name": "fizbit", "claim_id": cid}),
			http.StatusNoContent, "Claim "+cid+" deleted.")
		expect(t, "claim_create empty queue", cl.do("claim_create", map[string]any{"queue_name": "other"}),
			http.StatusNoContent, map[string]any{"claim_id": nil})
		expect(t, "claim_create bad ttl", cl.do("claim_create", map[string]any{"queue_name": "fizbit", "ttl": 10}),
			http.StatusBadRequest, map[string]any{"error": "Invalid API request",
				"exception": "The TTL for a claim may not exceed 43200 seconds, and must be at least 60 seconds long."})

		// Bulk delete and pop.
		expect(t, "message_delete_many both", cl.do("message_delete_many", map[string]any{"queue_name": "fizbit", "message_ids": []any{id0}, "pop": 1}),
			http.StatusBadRequest, nil)
		expect(t, "message_delete_many neither", cl.do("message_delete_many", map[string]any{"queue_name": "fizbit"}),
			http.StatusBadRequest, nil)
		expect(t, "message_delete_many ids", cl.do("message_delete_many", map[string]any{"queue_name": "fizbit", "message_ids": []any{id0}}),
			http.StatusNoContent, map[string]any{})
		r = cl.do("message_delete_many", map[string]any{"queue_name": "fizbit", "pop": 5})
		expect(t, "message_delete_many pop", r, http.StatusOK, nil)
		popped, _ := r.obj()["messages"].([]any)
		if len(popped) != 2 || popped[0].(map[string]any)["claim_count"] == nil {
			t.Errorf("pop = %v", r.Body)
		}
		expect(t, "queue_get_stats after pop", cl.do("queue_get_stats", map[string]any{"queue_name": "fizbit"}), http.StatusOK,
			map[string]any{"messages": map[string]any{"claimed": 0, "free": 0, "total": 0}})

		// Subscriptions to a URI.
		r = cl.do("subscription_create", map[string]any{"queue_name": "fizbit", "subscriber": "http://example.com/hook", "ttl": 600, "options": map[string]any{"a": 1}})
		expect(t, "subscription_create", r, http.StatusCreated, nil)
		sid, _ := r.obj()["subscription_id"].(string)
		if sid == "" || r.obj()["message"] != "Subscription fizbit created." {
			t.Fatalf("subscription_create = %v", r.Body)
		}
		expect(t, "subscription_create bad subscriber", cl.do("subscription_create", map[string]any{"queue_name": "fizbit", "subscriber": "gopher://x"}),
			http.StatusBadRequest, nil)
		r = cl.do("subscription_get", map[string]any{"queue_name": "fizbit", "subscription_id": sid})
		expect(t, "subscription_get", r, http.StatusOK, nil)
		if s := r.obj(); s["id"] != sid || s["subscriber"] != "http://example.com/hook" || s["source"] != "fizbit" || s["ttl"] != 600.0 || s["confirmed"] != false {
			t.Errorf("subscription_get = %v", r.Body)
		}
		r = cl.do("subscription_list", map[string]any{"queue_name": "fizbit"})
		expect(t, "subscription_list", r, http.StatusOK, nil)
		if subs, _ := r.obj()["subscriptions"].([]any); len(subs) != 1 || subs[0].(map[string]any)["id"] != sid {
			t.Errorf("subscription_list = %v", r.Body)
		}
		expect(t, "subscription_list limit", cl.do("subscription_list", map[string]any{"queue_name": "fizbit", "limit": 0}), http.StatusBadRequest, nil)
		expect(t, "subscription_delete", cl.do("subscription_delete", map[string]any{"queue_name": "fizbit", "subscription_id": sid}),
			http.StatusNoContent, "Subscription "+sid+" removed.")
		expect(t, "subscription_get deleted", cl.do("subscription_get", map[string]any{"queue_name": "fizbit", "subscription_id": sid}),
			http.StatusNotFound, map[string]any{"error": "Not found", "exception": "Subscription " + sid + " does not exist"})

		// Purge and delete.
		cl.do("message_post", map[string]any{"queue_name": "fizbit", "messages": []any{map[string]any{"body": 1}}})
		expect(t, "queue_purge bad type", cl.do("queue_purge", map[string]any{"queue_name": "fizbit", "resource_types": []any{"claims"}}),
			http.StatusBadRequest, nil)
		expect(t, "queue_purge", cl.do("queue_purge", map[string]any{"queue_name": "fizbit", "resource_types": []any{"messages"}}),
			http.StatusNoContent, map[string]any{})
		expect(t, "queue_get_stats after purge", cl.do("queue_get_stats", map[string]any{"queue_name": "fizbit"}), http.StatusOK,
			map[string]any{"messages": map[string]any{"claimed": 0, "free": 0, "total": 0}})
		expect(t, "queue_delete", cl.do("queue_delete", map[string]any{"queue_name": "fizbit"}), http.StatusNoContent, "Queue fizbit removed.")
		expect(t, "queue_list after delete", cl.do("queue_list", nil), http.StatusOK,
			map[string]any{"queues": []any{map[string]any{"name": "other"}}})

		// Not implemented by Zaqar's endpoints: answered, not dropped.
		expect(t, "ping_node", cl.do("ping_node", nil), http.StatusNotImplemented, nil)
		expect(t, "pool_list", cl.do("pool_list", map[string]any{"pool_name": "p"}), http.StatusNotImplemented, nil)
	})
}
