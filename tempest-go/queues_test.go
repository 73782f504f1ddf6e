//go:build tempest

package tempest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/claims"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/queues"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// GET / is the version document: 300, no Client-ID, project or token needed
// (zaqar-api.md 3, pitfall 1).
func TestVersions(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	r := s.do("GET", "/", nil, without("Client-ID"), without("X-Project-ID"), without("X-Auth-Token"), without("X-Roles"))
	doc := wantBody[object](t, r, 300, versionsSchema)
	// Zaqar 15 also lists the deprecated v1 and v1.1 it no longer serves;
	// the v2 entry is what clients pick.
	var want any
	json.Unmarshal([]byte(`{
		"id": "2", "status": "CURRENT", "updated": "2014-9-24T04:06:47Z",
		"media-types": [{"base": "application/json", "type": "application/vnd.openstack.messaging-v2+json"}],
		"links": [{"href": "/v2/", "rel": "self"}]}`), &want)
	var v2 any
	for _, v := range doc["versions"].([]any) {
		if v.(object)["id"] == "2" {
			v2 = v
		}
	}
	var got any
	b, _ := json.Marshal(v2)
	json.Unmarshal(b, &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GET / v2 entry\n got %s\nwant %v (body %s)", b, want, r.body)
	}
}

// GET /v2/ is a JSON-home document (zaqar-api.md 3).
func TestHomeDocument(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	r := s.do("GET", "v2/", nil)
	wantStatus(t, r, 200)
	wantHeader(t, r, "Content-Type", "application/json-home")
	wantHeader(t, r, "Cache-Control", "max-age=86400")
	doc := decode[object](t, r)
	if !wantShape(t, "home", doc, homeSchema) {
		t.FailNow()
	}
	res := doc["resources"].(object)
	rels := []string{"queues", "queue", "queue_stats", "queue_share", "queue_purge",
		"messages", "post_messages", "messages_delete", "message_delete", "message_get",
		"claim", "post_claim", "patch_claim", "delete_claim",
		"subscriptions_get", "subscriptions_post", "subscription", "subscription_patch", "ping"}
	for _, rel := range rels {
		key := "rel/" + rel
		if _, ok := res[key]; !ok { // homeSchema checked the shape of those present
			t.Errorf("home document lacks %q; has %v", key, keys(res))
		}
	}
	q := wantObject(t, "rel/queues", res["rel/queues"])
	if tmpl, _ := q["href-template"].(string); !strings.HasPrefix(tmpl, "/v2/queues") {
		t.Errorf("rel/queues href-template %q, want /v2/queues...", tmpl)
	}
}

func keys(o object) []string {
	var ks []string
	for k := range o {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// GET and HEAD /v2/ping answer 204 with no body (zaqar-api.md 3).
func TestPing(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	for _, m := range []string{"GET", "HEAD"} {
		r := s.do(m, "v2/ping", nil)
		wantStatus(t, r, 204)
		wantEmptyBody(t, r)
	}
}

// Every response carries x-openstack-request-id: req-<uuid>, errors too
// (zaqar-api.md 1), since Zaqar 21.0.0.
func TestRequestIDHeader(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("reqid", nil)
	seen := map[string]bool{}
	rs := []*response{
		s.do("GET", "/", nil),
		s.do("GET", "v2/", nil),
		s.do("GET", "v2/ping", nil),
		s.do("GET", queuePath(q), nil),
		s.do("GET", queuePath(q, "messages", "0123456789abcdef01234567"), nil), // 404
		s.do("GET", "v2/queues?limit=0", nil),                                  // 400
	}
	if !slices.ContainsFunc(rs, func(r *response) bool { return r.header.Get("X-Openstack-Request-Id") != "" }) {
		// Zaqar added oslo.middleware's RequestId in 21.0.0 (2025).
		t.Skip("no response carries x-openstack-request-id: a Zaqar before 21.0.0")
	}
	for _, r := range rs {
		id := r.header.Get("X-Openstack-Request-Id")
		if !requestIDRe.MatchString(id) {
			t.Errorf("%s %s (%d): x-openstack-request-id %q, want req-<uuid>", r.method, r.path, r.status, id)
		}
		if seen[id] {
			t.Errorf("%s %s: request id %q repeated", r.method, r.path, id)
		}
		seen[id] = true
	}
}

// PUT creates (201, then 204), both with a relative Location and no body;
// DELETE is idempotent; a deleted queue still answers GET with defaults
// (test_create_delete_queue, zaqar-api.md 4.2, 4.5).
func TestCreateDeleteQueue(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	name := queueName("crud")
	s.cleanupQueue(name)

	r := s.do("PUT", queuePath(name), nil)
	wantStatus(t, r, 201)
	wantHeader(t, r, "Location", "/v2/queues/"+name)
	wantEmptyBody(t, r)

	r = s.do("PUT", queuePath(name), nil)
	wantStatus(t, r, 204)
	wantHeader(t, r, "Location", "/v2/queues/"+name)
	wantEmptyBody(t, r)

	// gophercloud accepts 201 or 204 for an existing queue.
	must(t, "queues.Create on an existing queue", queues.Create(t.Context(), s.mc, rawQueueOpts{name: name, meta: object{}}).ExtractErr())

	must(t, "queues.Delete", queues.Delete(t.Context(), s.mc, name).ExtractErr())
	r = s.do("DELETE", queuePath(name), nil)
	wantStatus(t, r, 204)
	wantEmptyBody(t, r)

	// Lazy queues: GET of a deleted queue is still 200.
	meta, err := queues.Get(t.Context(), s.mc, name).Extract()
	must(t, "queues.Get after delete", err)
	if meta.DefaultMessageTTL != defaultMessageTTL {
		t.Errorf("deleted queue _default_message_ttl = %d, want %d", meta.DefaultMessageTTL, defaultMessageTTL)
	}
}

// Queue names may hold letters, digits, '_', '-' and '.', 1..64 characters
// (zaqar-api.md 4, pitfall 6; tempest test_queue_name_with_numeric_values).
func TestQueueNamesAccepted(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	suffix := randHex(4)
	for _, name := range []string{
		"1" + fmt.Sprint(len(suffix)) + suffix, // numeric-looking
		"dotted.name." + suffix,
		"Under_score-Dash." + suffix,
		strings.Repeat("q", 64-len(suffix)) + suffix,
	} {
		t.Run(name, func(t *testing.T) {
			s := s.in(t)
			s.cleanupQueue(name)
			r := s.do("PUT", queuePath(name), nil)
			wantStatus(t, r, 201)
			wantHeader(t, r, "Location", "/v2/queues/"+name)
		})
	}
}

// reservedDefaults are merged into GET/PATCH answers (zaqar-api.md 4.3).
var reservedDefaults = object{
	"_max_messages_post_size":         json.Number("262144"),
	"_default_message_ttl":            json.Number("3600"),
	"_default_message_delay":          json.Number("0"),
	"_dead_letter_queue":              nil,
	"_dead_letter_queue_messages_ttl": nil,
	"_max_claim_count":                nil,
	"_enable_encrypt_messages":        false,
}

func wantMetadata(t *testing.T, where string, got, want object) {
	t.Helper()
	wantShape(t, where, got, queueMetadataSchema)
	full := object{}
	for k, v := range reservedDefaults {
		full[k] = v
	}
	for k, v := range want {
		full[k] = v
	}
	if !reflect.DeepEqual(got, full) {
		t.Errorf("%s metadata\n got %v\nwant %v", where, got, full)
	}
}

// A new queue's metadata is exactly the reserved defaults; a queue that
// never existed answers the same (tempest test_set_and_get_queue_metadata,
// test_request_a_nonexistent_queue; zaqar-api.md 4.3, pitfall 3).
func TestQueueMetadataDefaults(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("meta-defaults", nil)
	r := s.do("GET", queuePath(q), nil)
	wantStatus(t, r, 200)
	wantJSONContentType(t, r)
	wantMetadata(t, "new queue", decode[object](t, r), nil)

	r = s.do("GET", queuePath(queueName("never-created")), nil)
	wantStatus(t, r, 200)
	wantMetadata(t, "missing queue", decode[object](t, r), nil)
}

// Metadata given at creation is stored; PUT on an existing queue answers
// 204 and leaves it alone (zaqar-api.md 4.2, pitfall 5).
func TestCreateQueueWithMetadata(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	name := queueName("meta-create")
	s.cleanupQueue(name)
	// gophercloud's own CreateOpts, reserved keys and Extra.
	err := queues.Create(t.Context(), s.mc, queues.CreateOpts{
		QueueName:           name,
		DefaultMessageTTL:   300,
		MaxMessagesPostSize: 1024,
		Extra:               map[string]any{"description": "tempest queue", "nested": map[string]any{"n": 1}},
	}).ExtractErr()
	must(t, "queues.Create with metadata", err)

	meta, err := queues.Get(t.Context(), s.mc, name).Extract()
	must(t, "queues.Get", err)
	if meta.DefaultMessageTTL != 300 || meta.MaxMessagesPostSize != 1024 {
		t.Errorf("metadata = ttl %d, post size %d; want 300, 1024", meta.DefaultMessageTTL, meta.MaxMessagesPostSize)
	}
	if meta.Extra["description"] != "tempest queue" {
		t.Errorf("metadata description = %v, want %q (all: %v)", meta.Extra["description"], "tempest queue", meta.Extra)
	}

	r := s.do("PUT", queuePath(name), object{"description": "changed", "_default_message_ttl": 600})
	wantStatus(t, r, 204)
	r = s.do("GET", queuePath(name), nil)
	wantStatus(t, r, 200)
	wantMetadata(t, "after second PUT", decode[object](t, r), object{
		"description":             "tempest queue",
		"nested":                  object{"n": json.Number("1")},
		"_default_message_ttl":    json.Number("300"),
		"_max_messages_post_size": json.Number("1024"),
	})
}

// PATCH with the json-patch media type: add, replace, remove; 200 with the
// full metadata (tempest test_set_and_get_queue_metadata; zaqar-api.md 4.4).
func TestUpdateQueueMetadata(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("meta-patch", nil)

	got, err := queues.Update(t.Context(), s.mc, q, queues.BatchUpdateOpts{
		{Op: queues.AddOp, Path: "/metadata/_max_claim_count", Value: 2},
		{Op: queues.AddOp, Path: "/metadata/_dead_letter_queue_messages_ttl", Value: 7799},
		{Op: queues.AddOp, Path: "/metadata/color", Value: "red"},
	}).Extract()
	must(t, "queues.Update add", err)
	if got.MaxClaimCount != 2 || got.DeadLetterQueueMessageTTL != 7799 || got.MaxMessagesPostSize != maxMessagesPostSize || got.DefaultMessageTTL != defaultMessageTTL {
		t.Errorf("PATCH answer = %+v; want _max_claim_count 2, _dead_letter_queue_messages_ttl 7799 and defaults", got)
	}
	if got.Extra["color"] != "red" {
		t.Errorf("PATCH answer color = %v, want red", got.Extra["color"])
	}

	// Raw, to see the status and the exact document.
	r := s.do("PATCH", queuePath(q), []object{
		{"op": "replace", "path": "/metadata/color", "value": "blue"},
		{"op": "remove", "path": "/metadata/_max_claim_count"},
	}, header("Content-Type", patchMediaType))
	wantStatus(t, r, 200)
	wantJSONContentType(t, r)
	want := object{"color": "blue", "_dead_letter_queue_messages_ttl": json.Number("7799")}
	wantMetadata(t, "PATCH answer", decode[object](t, r), want)

	r = s.do("GET", queuePath(q), nil)
	wantStatus(t, r, 200)
	wantMetadata(t, "GET after PATCH", decode[object](t, r), want)

	// Removing a reserved key that is not set is a no-op, not a conflict.
	r = s.do("PATCH", queuePath(q), []object{{"op": "remove", "path": "/metadata/_dead_letter_queue"}},
		header("Content-Type", patchMediaType))
	wantStatus(t, r, 200)
	wantMetadata(t, "after removing unset reserved key", decode[object](t, r), want)
}

// listQuery is a queues.ListOptsBuilder for parameters gophercloud's
// ListOpts cannot express (its Name field is a bool).
type listQuery string

func (q listQuery) ToQueueListQuery() (string, error) { return "?" + string(q), nil }

func queueNames(t *testing.T, p pagination.Page) []string {
	t.Helper()
	qs, err := queues.ExtractQueues(p)
	must(t, "queues.ExtractQueues", err)
	var names []string
	for _, q := range qs {
		names = append(names, q.Name)
	}
	return names
}

// Listing is sorted by name, paged by limit with a next link on every
// non-empty page, and empty pages have links [] (tempest test_list_queues,
// list_queues schema; zaqar-api.md 1, 4.1).
func TestListQueues(t *testing.T) {
	t.Parallel()
	s := isolated(t)
	var want []string
	for _, n := range []string{"c", "a", "b"} {
		name := "tempest-list-" + n
		s.createNamedQueue(name, nil)
		want = append(want, name)
	}
	slices.Sort(want)

	// Raw pages, checked against the schema.
	var got []string
	path := "/v2/queues?limit=2"
	for page := 0; ; page++ {
		if page > 3 {
			t.Fatalf("pagination does not end: %v", got)
		}
		r := s.do("GET", path, nil)
		doc := wantBody[object](t, r, 200, queueListSchema)
		items := doc["queues"].([]any)
		if len(items) > 2 {
			t.Errorf("page %d has %d queues, want at most limit=2", page, len(items))
		}
		for _, it := range items {
			o := it.(object)
			name := o["name"].(string)
			if href := o["href"]; href != "/v2/queues/"+name {
				t.Errorf("queue %s href %q, want /v2/queues/%s", name, href, name)
			}
			if _, ok := o["metadata"]; ok {
				t.Errorf("queue %s has metadata without detailed=true", name)
			}
			got = append(got, name)
		}
		if _, ok := doc["count"]; ok {
			t.Errorf("count present without with_count: %s", r.body)
		}
		next := wantLinks(t, fmt.Sprintf("page %d", page), doc, len(items), "/v2/queues")
		if len(items) == 0 {
			break
		}
		if !strings.Contains(next, "limit=2") || !strings.Contains(next, "marker=") {
			t.Errorf("next href %q lacks limit=2 or marker", next)
		}
		path = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("raw pages listed %v, want %v", got, want)
	}

	// gophercloud's pager follows the same links.
	got = nil
	err := queues.List(s.mc, queues.ListOpts{Limit: 2}).EachPage(t.Context(), func(_ context.Context, p pagination.Page) (bool, error) {
		got = append(got, queueNames(t, p)...)
		return true, nil
	})
	must(t, "queues.List", err)
	if !slices.Equal(got, want) {
		t.Errorf("queues.List = %v, want %v", got, want)
	}

	// The marker is exclusive.
	r := s.do("GET", "v2/queues?marker="+want[0], nil)
	wantStatus(t, r, 200)
	var afterMarker []string
	for _, it := range wantArray(t, "queues", decode[object](t, r)["queues"]) {
		afterMarker = append(afterMarker, it.(object)["name"].(string))
	}
	if !slices.Equal(afterMarker, want[1:]) {
		t.Errorf("marker=%s listed %v, want %v", want[0], afterMarker, want[1:])
	}
}

// detailed=true adds metadata with reserved defaults; with_count=true adds
// count; name filters by substring; other parameters filter on metadata
// (tempest test_list_queues_with_count; zaqar-api.md 4.1).
func TestListQueuesDetailedCountFilters(t *testing.T) {
	t.Parallel()
	s := isolated(t)
	s.createNamedQueue("tempest-red-1", object{"color": "red"})
	s.createNamedQueue("tempest-blue-1", object{"color": "blue"})
	s.createNamedQueue("tempest-red-2", object{"color": "red", "_default_message_ttl": 120})

	r := s.do("GET", "v2/queues?detailed=true", nil)
	doc := wantBody[object](t, r, 200, queueListSchema)
	items := doc["queues"].([]any)
	if len(items) != 3 {
		t.Fatalf("detailed list has %d queues, want 3: %s", len(items), r.body)
	}
	for _, it := range items {
		o := wantObject(t, "queue", it)
		meta := wantObject(t, "metadata", field(t, "detailed queue", o, "metadata"))
		switch o["name"] {
		case "tempest-red-1":
			wantMetadata(t, "tempest-red-1", meta, object{"color": "red"})
		case "tempest-blue-1":
			wantMetadata(t, "tempest-blue-1", meta, object{"color": "blue"})
		case "tempest-red-2":
			wantMetadata(t, "tempest-red-2", meta, object{"color": "red", "_default_message_ttl": json.Number("120")})
		default:
			t.Errorf("unexpected queue %v", o["name"])
		}
	}

	// gophercloud: with_count.
	var count int
	var n int
	err := queues.List(s.mc, queues.ListOpts{WithCount: true, Limit: 2}).EachPage(t.Context(), func(_ context.Context, p pagination.Page) (bool, error) {
		c, err := p.(queues.QueuePage).GetCount()
		if err != nil {
			return false, err
		}
		if n == 0 {
			count = c
		}
		n++
		return false, nil
	})
	must(t, "queues.List with_count", err)
	if count != 3 {
		t.Errorf("with_count count = %d, want 3", count)
	}

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"name=red", []string{"tempest-red-1", "tempest-red-2"}},
		{"name=blue", []string{"tempest-blue-1"}},
		{"color=red", []string{"tempest-red-1", "tempest-red-2"}},
		{"color=blue&name=blue", []string{"tempest-blue-1"}},
		{"color=green", nil},
	} {
		pages, err := queues.List(s.mc, listQuery(tc.query)).AllPages(t.Context())
		must(t, "queues.List "+tc.query, err)
		if got := queueNames(t, pages); !slices.Equal(got, tc.want) {
			t.Errorf("?%s listed %v, want %v", tc.query, got, tc.want)
		}
	}
}

// Stats of a new queue are zeros without oldest/newest; with messages
// they count free and claimed ones and point at the oldest and newest
// (tempest test_get_queue_stats, queue_stats schema; zaqar-api.md 4.6).
func TestQueueStats(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("stats", nil)

	r := s.do("GET", queuePath(q, "stats"), nil)
	msgs := wantBody[object](t, r, 200, statsSchema)["messages"].(object)
	for _, k := range []string{"free", "claimed", "total"} {
		if n := num(msgs[k]); n != 0 {
			t.Errorf("new queue stats %s = %d, want 0", k, n)
		}
	}
	for _, k := range []string{"oldest", "newest"} {
		if _, ok := msgs[k]; ok {
			t.Errorf("empty queue stats has %q: %v", k, msgs)
		}
	}

	ids := s.postMessages(q, 3, 300)
	_, err := claims.Create(t.Context(), s.mc, q, claims.CreateOpts{TTL: 300, Grace: 60, Limit: 1}).Extract()
	must(t, "claims.Create", err)

	st, err := queues.GetStats(t.Context(), s.mc, q).Extract()
	must(t, "queues.GetStats", err)
	if st.Total != 3 || st.Claimed != 1 || st.Free != 2 {
		t.Errorf("stats = %+v, want total 3, claimed 1, free 2", st)
	}

	r = s.do("GET", queuePath(q, "stats"), nil)
	msgs = wantBody[object](t, r, 200, statsSchema)["messages"].(object)
	for k, id := range map[string]string{"oldest": ids[0], "newest": ids[2]} {
		o, ok := msgs[k].(object)
		if !ok {
			t.Errorf("stats of a queue with messages lack %q: %s", k, r.body)
			continue
		}
		if href := o["href"]; href != "/v2/queues/"+q+"/messages/"+id {
			t.Errorf("stats %s.href = %q, want /v2/queues/%s/messages/%s", k, href, q, id)
		}
		// The message as a reader sees it, as Zaqar's Redis driver gives
		// it (the oldest is the claimed one).
		claimed := k == "oldest"
		if _, ok := o["body"]; !ok || num(o["ttl"]) < 300 || num(o["claim_count"]) != map[bool]int64{true: 1}[claimed] {
			t.Errorf("stats %s = %v, want body, ttl (300, or more under a claim) and claim_count", k, o)
		}
		if cid, ok := o["claim_id"]; !ok || (cid != nil) != claimed {
			t.Errorf("stats %s.claim_id = %v (present %v), want a claim id only on the claimed message", k, cid, ok)
		}
	}

	// Stats of a queue that does not exist: zeros (pitfall 3).
	st, err = queues.GetStats(t.Context(), s.mc, queueName("no-such")).Extract()
	must(t, "queues.GetStats of a missing queue", err)
	if st != (queues.Stats{}) {
		t.Errorf("missing queue stats = %+v, want zeros", st)
	}
}

// Purge removes the queue's messages, with or without a resource_types
// body; 204 (tempest test_purge_queue; zaqar-api.md 4.7).
func TestPurgeQueue(t *testing.T) {
	t.Parallel()
	s := newSession(t)
	q := s.createQueue("purge", nil)

	s.postMessages(q, 3, 300)
	r := s.do("POST", queuePath(q, "purge"), object{"resource_types": []string{"messages"}})
	wantStatus(t, r, 204)
	wantEmptyBody(t, r)
	if got := s.listAll(q, "echo=true"); len(got) != 0 {
		t.Errorf("after purge the queue lists %d messages", len(got))
	}

	s.postMessages(q, 2, 300)
	r = s.do("POST", queuePath(q, "purge"), nil)
	wantStatus(t, r, 204)
	st, err := queues.GetStats(t.Context(), s.mc, q).Extract()
	must(t, "queues.GetStats", err)
	if st.Total != 0 {
		t.Errorf("after purge without body stats = %+v, want total 0", st)
	}

	// gophercloud's Purge sends the same request.
	s.postMessages(q, 1, 300)
	must(t, "queues.Purge", queues.Purge(t.Context(), s.mc, q, queues.PurgeOpts{
		ResourceTypes: []queues.PurgeResource{queues.ResourceMessages, queues.ResourceSubscriptions},
	}).ExtractErr())
	if got := s.listAll(q, "echo=true"); len(got) != 0 {
		t.Errorf("after queues.Purge the queue lists %d messages", len(got))
	}
}

// Projects do not see each other's queues or messages.
func TestProjectIsolation(t *testing.T) {
	t.Parallel()
	a := newSession(t)
	b := otherProject(t)
	q := queueName("tempest-shared")
	a.createNamedQueue(q, object{"owner": "a"})
	ids := a.postMessages(q, 2, 300)

	pages, err := queues.List(b.mc, nil).AllPages(t.Context())
	must(t, "queues.List in project b", err)
	for _, name := range queueNames(t, pages) {
		if name == q {
			t.Errorf("project b lists project a's queue %s", q)
		}
	}
	_, err = messages.Get(t.Context(), b.mc, q, ids[0]).Extract()
	wantCode(t, "messages.Get from another project", err, 404)
	if got := b.listAll(q, "echo=true&include_claimed=true"); len(got) != 0 {
		t.Errorf("project b lists %d of project a's messages", len(got))
	}
	r := b.do("POST", queuePath(q, "claims"), object{"ttl": 60, "grace": 60})
	wantStatus(t, r, 204)
	r = b.do("GET", queuePath(q), nil)
	wantStatus(t, r, 200)
	wantMetadata(t, "same name in project b", decode[object](t, r), nil)

	// Deleting b's (absent) queue leaves a's alone.
	must(t, "queues.Delete in project b", queues.Delete(t.Context(), b.mc, q).ExtractErr())
	if got := a.listAll(q, "echo=true"); len(got) != 2 {
		t.Errorf("project a lists %d messages after b deleted its queue, want 2", len(got))
	}
}
