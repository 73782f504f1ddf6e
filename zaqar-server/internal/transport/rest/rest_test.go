package rest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/policy"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

const (
	client1 = "3381af92-2b9e-11e3-b191-71861300734c"
	client2 = "3381af92-2b9e-11e3-b191-71861300734d"
)

type api struct {
	t     *testing.T
	srv   *httptest.Server
	store storage.Store
	svc   *service.Service
}

func (a *api) srvStore() storage.Store { return a.store }

func newAPI(t *testing.T, store storage.Store) *api {
	return newAPIWith(t, store, service.Options{Limits: zaqar.DefaultLimits()}, rest.Options{})
}

func newAPIWith(t *testing.T, store storage.Store, so service.Options, ro rest.Options) *api {
	t.Helper()
	if store == nil {
		store = memory.New()
	}
	svc := service.New(store, so)
	srv := httptest.NewServer(rest.New(svc, ro))
	t.Cleanup(srv.Close)
	return &api{t: t, srv: srv, store: store, svc: svc}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do sends a request as client1 of project "p1" unless hdr overrides.
func (a *api) do(method, path, body string, hdr ...string) resp {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Client-ID", client1)
	req.Header.Set("X-Project-ID", "p1")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "-" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (a *api) expect(method, path, body string, status int, hdr ...string) resp {
	a.t.Helper()
	r := a.do(method, path, body, hdr...)
	if r.status != status {
		a.t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, status)
	}
	return r
}

func equalJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
}

func TestVersions(t *testing.T) {
	a := newAPI(t, nil)
	r := a.expect("GET", "/", "", 300, "Client-ID", "-", "X-Project-ID", "-")
	equalJSON(t, r.body, `{"versions":[{"id":"2","status":"CURRENT","updated":"2014-9-24T04:06:47Z",
		"media-types":[{"base":"application/json","type":"application/vnd.openstack.messaging-v2+json"}],
		"links":[{"href":"/v2/","rel":"self"}]}]}`)
	if id := r.header.Get("x-openstack-request-id"); !strings.HasPrefix(id, "req-") {
		t.Errorf("request id = %q", id)
	}
}

func TestHeaders(t *testing.T) {
	a := newAPI(t, nil)
	cases := []struct {
		name   string
		hdr    []string
		status int
		want   string
	}{
		{"no client id", []string{"Client-ID", "-"}, 400, `{"title":"Missing header value","description":"The \"Client-ID\" header is required."}`},
		{"bad client id", []string{"Client-ID", "nope"}, 400, `{"title":"Wrong UUID value","description":"Malformed hexadecimal UUID."}`},
		{"no project", []string{"X-Project-ID", "-"}, 400, `{"title":"Project-Id Missing","description":"The header X-PROJECT-ID was missing"}`},
		{"empty project", []string{"X-Project-ID", ""}, 400, `{"title":"Empty project header not allowed","description":"X-PROJECT-ID cannot be an empty string. Specify the right header X-PROJECT-ID and retry."}`},
		{"accept xml", []string{"Accept", "application/xml"}, 406, ""},
		{"uuid without hyphens", []string{"Client-ID", "3381af922b9e11e3b19171861300734c"}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a.expect("GET", "/v2/queues", "", tc.status, tc.hdr...)
			if tc.want != "" {
				equalJSON(t, r.body, tc.want)
			}
		})
	}
	a.expect("GET", "/v2/queues/bad%20name", "", 400)
	a.expect("GET", "/v2/queues/"+strings.Repeat("a", 65), "", 400)
	a.expect("GET", "/v2/queues/ok.name_-1", "", 200)
	a.expect("GET", "/v2/nowhere", "", 404)
	if r := a.expect("POST", "/v2/queues", "", 405); r.header.Get("Allow") != "GET" {
		t.Errorf("Allow = %q, want GET", r.header.Get("Allow"))
	}
	if r := a.expect("POST", "/v2/queues/q", "", 405); r.header.Get("Allow") != "GET, PUT, PATCH, DELETE" {
		t.Errorf("Allow = %q, want GET, PUT, PATCH, DELETE", r.header.Get("Allow"))
	}
	if r := a.expect("POST", "/v2/queues/q/stats", "", 405); r.header.Get("Allow") != "GET" {
		t.Errorf("Allow = %q, want GET", r.header.Get("Allow"))
	}
	a.expect("HEAD", "/v2/ping", "", 204)
	a.expect("GET", "/v2/ping", "", 204)
	r := a.expect("GET", "/v2/", "", 200)
	if ct := r.header.Get("Content-Type"); ct != "application/json-home" {
		t.Errorf("home content type = %q", ct)
	}
}

func TestQueues(t *testing.T) {
	a := newAPI(t, nil)
	r := a.expect("PUT", "/v2/queues/fizbit", `{"_default_message_ttl": 120, "color": "red"}`, 201)
	if loc := r.header.Get("Location"); loc != "/v2/queues/fizbit" {
		t.Errorf("Location = %q", loc)
	}
	a.expect("PUT", "/v2/queues/fizbit", `{"color": "blue"}`, 204)
	r = a.expect("GET", "/v2/queues/fizbit", "", 200)
	equalJSON(t, r.body, `{"_default_message_ttl":120,"color":"red","_max_messages_post_size":262144,
		"_default_message_delay":0,"_dead_letter_queue":null,"_dead_letter_queue_messages_ttl":null,
		"_max_claim_count":null,"_enable_encrypt_messages":false}`)

	// A missing queue answers 200 with the defaults only.
	r = a.expect("GET", "/v2/queues/missing", "", 200)
	if m := r.json(t); m["_default_message_ttl"] != 3600.0 || len(m) != 7 {
		t.Errorf("missing queue metadata = %v", m)
	}

	patch := []string{"Content-Type", "application/openstack-messaging-v2.0-json-patch"}
	a.expect("PATCH", "/v2/queues/fizbit", `[{"op":"add","path":"/metadata/a","value":1}]`, 415)
	r = a.expect("PATCH", "/v2/queues/fizbit", `[{"op":"add","path":"/metadata/a","value":1},{"op":"remove","path":"/metadata/color"}]`, 200, patch...)
	if m := r.json(t); m["a"] != 1.0 || m["color"] != nil || m["_max_claim_count"] != nil {
		t.Errorf("patched = %v", m)
	}
	a.expect("PATCH", "/v2/queues/fizbit", `[{"op":"replace","path":"/metadata/nope","value":1}]`, 409, patch...)
	a.expect("PATCH", "/v2/queues/fizbit", `[{"op":"remove","path":"/metadata/nope"}]`, 409, patch...)
	a.expect("PATCH", "/v2/queues/fizbit", `[{"op":"remove","path":"/metadata/_max_claim_count"}]`, 200, patch...)
	a.expect("PATCH", "/v2/queues/fizbit", `[{"op":"add","path":"/metadata/_default_message_ttl","value":1}]`, 400, patch...)
	a.expect("PATCH", "/v2/queues/fizbit", `[{"op":"move","path":"/metadata/a"}]`, 400, patch...)
	a.expect("PATCH", "/v2/queues/fizbit", `[{"op":"add","path":"/metadata/a/b","value":1}]`, 400, patch...)
	a.expect("PATCH", "/v2/queues/fizbit", `{}`, 400, patch...)
	a.expect("PATCH", "/v2/queues/nothere", `[{"op":"add","path":"/metadata/a","value":1}]`, 404, patch...)

	for _, bad := range []string{`[]`, `"x"`, `{`, `{"_default_message_ttl": "x"}`, `{"_max_messages_post_size": 0}`, `{"_enable_encrypt_messages": "yes"}`, `{"_default_message_delay": 901}`} {
		a.expect("PUT", "/v2/queues/bad", bad, 400)
	}
	for _, n := range []string{"b", "c", "d"} {
		a.expect("PUT", "/v2/queues/"+n, "", 201)
	}
	r = a.expect("GET", "/v2/queues?limit=2", "", 200)
	equalJSON(t, r.body, `{"queues":[{"name":"b","href":"/v2/queues/b"},{"name":"c","href":"/v2/queues/c"}],
		"links":[{"rel":"next","href":"/v2/queues?limit=2&marker=c"}]}`)
	r = a.expect("GET", "/v2/queues?limit=2&marker=c&with_count=true", "", 200)
	equalJSON(t, r.body, `{"queues":[{"name":"d","href":"/v2/queues/d"},{"name":"fizbit","href":"/v2/queues/fizbit"}],
		"links":[{"rel":"next","href":"/v2/queues?marker=fizbit&limit=2&with_count=true"}],"count":4}`)
	r = a.expect("GET", "/v2/queues?marker=fizbit", "", 200)
	equalJSON(t, r.body, `{"queues":[],"links":[]}`)
	r = a.expect("GET", "/v2/queues?detailed=true&name=fiz", "", 200)
	if qs := r.json(t)["queues"].([]any); len(qs) != 1 || qs[0].(map[string]any)["metadata"].(map[string]any)["a"] != 1.0 {
		t.Errorf("detailed = %s", r.body)
	}
	r = a.expect("GET", "/v2/queues?a=1", "", 200)
	if qs := r.json(t)["queues"].([]any); len(qs) != 1 {
		t.Errorf("filtered = %s", r.body)
	}
	a.expect("GET", "/v2/queues?limit=21", "", 400)
	a.expect("GET", "/v2/queues?limit=0", "", 400)
	a.expect("GET", "/v2/queues?limit=x", "", 400)
	a.expect("GET", "/v2/queues?detailed=maybe", "", 400)

	// Another project sees nothing.
	r = a.expect("GET", "/v2/queues", "", 200, "X-Project-ID", "p2")
	equalJSON(t, r.body, `{"queues":[],"links":[]}`)

	a.expect("DELETE", "/v2/queues/fizbit", "", 204)
	a.expect("DELETE", "/v2/queues/fizbit", "", 204)
	r = a.expect("GET", "/v2/queues/fizbit/stats", "", 200)
	equalJSON(t, r.body, `{"messages":{"claimed":0,"free":0,"total":0}}`)
}

func TestMessagesAndClaims(t *testing.T) {
	a := newAPI(t, nil)
	r := a.expect("POST", "/v2/queues/q/messages", `{"messages":[{"body":{"n":1},"ttl":300},{"body":"two"},{"body":[3]}]}`, 201)
	res := r.json(t)["resources"].([]any)
	if len(res) != 3 {
		t.Fatalf("resources = %v", res)
	}
	ids := make([]string, 3)
	for i, h := range res {
		ids[i] = strings.TrimPrefix(h.(string), "/v2/queues/q/messages/")
	}
	if loc := r.header.Get("Location"); loc != "/v2/queues/q/messages?ids="+strings.Join(ids, ",") {
		t.Errorf("Location = %q", loc)
	}

	// echo defaults to false: the producer sees nothing.
	r = a.expect("GET", "/v2/queues/q/messages", "", 200)
	equalJSON(t, r.body, `{"messages":[],"links":[]}`)
	r = a.expect("GET", "/v2/queues/q/messages?limit=2", "", 200, "Client-ID", client2)
	page := r.json(t)
	msgs := page["messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("messages = %s", r.body)
	}
	m0 := msgs[0].(map[string]any)
	if m0["id"] != ids[0] || m0["href"] != "/v2/queues/q/messages/"+ids[0] || m0["ttl"] != 300.0 || !reflect.DeepEqual(m0["body"], map[string]any{"n": 1.0}) {
		t.Errorf("first message = %v", m0)
	}
	next := page["links"].([]any)[0].(map[string]any)["href"].(string)
	if !strings.HasPrefix(next, "/v2/queues/q/messages?limit=2&include_delayed=true&marker=") {
		t.Errorf("next = %q", next)
	}
	r = a.expect("GET", next, "", 200, "Client-ID", client2)
	if msgs := r.json(t)["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["body"] != "two" && msgs[0].(map[string]any)["id"] != ids[2] {
		t.Errorf("second page = %s", r.body)
	}

	r = a.expect("GET", "/v2/queues/q/messages/"+ids[1], "", 200)
	equalJSON(t, r.body, `{"id":"`+ids[1]+`","href":"/v2/queues/q/messages/`+ids[1]+`","ttl":3600,"age":0,"body":"two"}`)
	a.expect("GET", "/v2/queues/q/messages/nope", "", 404)
	a.expect("GET", "/v2/queues/q/messages/"+ids[1], "", 404, "X-Project-ID", "p2")
	r = a.expect("GET", "/v2/queues/q/messages?ids="+ids[2]+",nope,"+ids[0], "", 200)
	if msgs := r.json(t)["messages"].([]any); len(msgs) != 2 {
		t.Errorf("by ids = %s", r.body)
	}
	a.expect("GET", "/v2/queues/q/messages?ids=nope", "", 404)

	// Claims.
	r = a.expect("POST", "/v2/queues/q/claims?limit=2", `{"ttl":60,"grace":60}`, 201)
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, "/v2/queues/q/claims/") {
		t.Fatalf("claim Location = %q", loc)
	}
	cid := strings.TrimPrefix(loc, "/v2/queues/q/claims/")
	claimed := r.json(t)["messages"].([]any)
	if len(claimed) != 2 || claimed[0].(map[string]any)["href"] != "/v2/queues/q/messages/"+ids[0]+"?claim_id="+cid {
		t.Fatalf("claimed = %s", r.body)
	}
	r = a.expect("GET", loc, "", 200)
	if c := r.json(t); c["ttl"] != 60.0 || c["href"] != loc || len(c["messages"].([]any)) != 2 {
		t.Errorf("claim = %s", r.body)
	}
	a.expect("PATCH", loc, `{"ttl":120,"grace":60}`, 204)
	a.expect("PATCH", loc, ``, 400)
	a.expect("PATCH", loc, `{"ttl":10}`, 400)
	a.expect("PATCH", "/v2/queues/q/claims/nope", `{"ttl":120}`, 404)
	a.expect("GET", "/v2/queues/q/claims/nope", "", 404)

	a.expect("DELETE", "/v2/queues/q/messages/"+ids[0], "", 403)
	a.expect("DELETE", "/v2/queues/q/messages/"+ids[0]+"?claim_id=nope", "", 400)
	a.expect("DELETE", "/v2/queues/q/messages/"+ids[2]+"?claim_id="+cid, "", 400)
	a.expect("DELETE", "/v2/queues/q/messages/"+ids[0]+"?claim_id="+cid, "", 204)

	r = a.expect("POST", "/v2/queues/q/claims", "", 201)
	if n := len(r.json(t)["messages"].([]any)); n != 1 {
		t.Errorf("second claim got %d messages", n)
	}
	a.expect("POST", "/v2/queues/q/claims", "", 204)
	a.expect("POST", "/v2/queues/empty/claims", "", 204)
	a.expect("DELETE", loc, "", 204)
	a.expect("DELETE", loc, "", 204)
	r = a.expect("GET", "/v2/queues/q/stats", "", 200)
	if st := r.json(t)["messages"].(map[string]any); st["total"] != 2.0 || st["claimed"] != 1.0 || st["free"] != 1.0 || st["oldest"] == nil {
		t.Errorf("stats = %s", r.body)
	}

	r = a.expect("DELETE", "/v2/queues/q/messages?pop=5", "", 200)
	if msgs := r.json(t)["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["id"] != ids[1] {
		t.Errorf("pop = %s", r.body)
	}
	a.expect("DELETE", "/v2/queues/q/messages?ids="+ids[2], "", 204)
	a.expect("DELETE", "/v2/queues/q/messages", "", 400)
	a.expect("DELETE", "/v2/queues/q/messages?ids=a&pop=1", "", 400)
	a.expect("DELETE", "/v2/queues/q/messages?pop=21", "", 400)
	a.expect("DELETE", "/v2/queues/q/messages/nope", "", 204)
	a.expect("POST", "/v2/queues/q/purge", `{"resource_types":["messages"]}`, 204)
	a.expect("POST", "/v2/queues/q/purge", `{"resource_types":["bogus"]}`, 400)
	a.expect("POST", "/v2/queues/q/purge", `{}`, 400)
}

func TestBadInput(t *testing.T) {
	a := newAPI(t, nil)
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"malformed", "POST", "/v2/queues/q/messages", `{"messages": [`, 400, `{"title":"Invalid request body","description":"Request body could not be parsed."}`},
		{"empty", "POST", "/v2/queues/q/messages", ``, 400, `{"title":"Invalid request body","description":"Request body could not be parsed."}`},
		{"no messages", "POST", "/v2/queues/q/messages", `{}`, 400, `{"title":"Invalid API request","description":"No messages were found in the request body."}`},
		{"empty list", "POST", "/v2/queues/q/messages", `{"messages":[]}`, 400, `{"title":"Invalid API request","description":"No messages to enqueu."}`},
		{"not a list", "POST", "/v2/queues/q/messages", `{"messages":{"body":1}}`, 400, `{"title":"Invalid request body","description":"Document type not supported."}`},
		{"no body", "POST", "/v2/queues/q/messages", `{"messages":[{"ttl":60}]}`, 400, `{"title":"Invalid request body","description":"Missing \"body\" field."}`},
		{"float ttl", "POST", "/v2/queues/q/messages", `{"messages":[{"body":1,"ttl":60.5}]}`, 400, `{"title":"Invalid request body","description":"The value of the \"ttl\" field must be a int."}`},
		{"string ttl", "POST", "/v2/queues/q/messages", `{"messages":[{"body":1,"ttl":"60"}]}`, 400, `{"title":"Invalid request body","description":"The value of the \"ttl\" field must be a int."}`},
		{"huge ttl", "POST", "/v2/queues/q/messages", `{"messages":[{"body":1,"ttl":99999999999999999999}]}`, 400, `{"title":"Invalid request body","description":"JSON contains integer that is too large."}`},
		{"ttl too small", "POST", "/v2/queues/q/messages", `{"messages":[{"body":1,"ttl":59}]}`, 400, `{"title":"Invalid API request","description":"The TTL for a message may not exceed 1209600 seconds, and must be at least 60 seconds long."}`},
		{"top-level string", "POST", "/v2/queues/q/messages", `"x"`, 400, `{"title":"Invalid request body","description":"Request body could not be parsed."}`},
		{"top-level array", "POST", "/v2/queues/q/messages", `[{"body":1}]`, 400, `{"title":"Invalid API request","description":"No messages were found in the request body."}`},
		{"claim grace", "POST", "/v2/queues/q/claims", `{"ttl":60,"grace":0}`, 400, `{"title":"Invalid API request","description":"The grace for a claim may not exceed 43200 seconds, and must be at least 60 seconds long."}`},
		{"claim limit", "POST", "/v2/queues/q/claims?limit=21", ``, 400, `{"title":"Invalid API request","description":"Limit must be at least 1 and may not be greater than 20."}`},
		{"claim array", "POST", "/v2/queues/q/claims", `[]`, 400, `{"title":"Invalid request body","description":"Document type not supported."}`},
		{"list limit", "GET", "/v2/queues/q/messages?limit=100", ``, 400, `{"title":"Invalid API request","description":"Limit must be at least 1 and may not be greater than 20."}`},
		{"echo", "GET", "/v2/queues/q/messages?echo=perhaps", ``, 400, `{"title":"Invalid parameter","description":"The \"echo\" parameter is invalid. The value of the parameter must be \"true\" or \"false\"."}`},
		{"too many ids", "GET", "/v2/queues/q/messages?ids=" + strings.Repeat("a,", 21) + "a", ``, 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a.expect(tc.method, tc.path, tc.body, tc.status)
			if tc.want != "" {
				equalJSON(t, r.body, tc.want)
			}
		})
	}
	big := `{"messages":[{"body":"` + strings.Repeat("x", 262144) + `"}]}`
	r := a.expect("POST", "/v2/queues/q/messages", big, 400)
	equalJSON(t, r.body, `{"title":"Invalid API request","description":"Message collection size is too large. Max size 262144"}`)
	a.expect("PUT", "/v2/queues/small", `{"_max_messages_post_size": 100}`, 201)
	r = a.expect("POST", "/v2/queues/small/messages", `{"messages":[{"body":"`+strings.Repeat("x", 100)+`"}]}`, 400)
	if !strings.Contains(string(r.body), "The max size for current queue is 100") {
		t.Errorf("queue post size: %s", r.body)
	}
	a.expect("PUT", "/v2/queues/bigmeta", `{"a":"`+strings.Repeat("x", 65536)+`"}`, 400)
}

func TestDelayedAndDeadLetter(t *testing.T) {
	a := newAPI(t, nil)
	a.expect("PUT", "/v2/queues/slow", `{"_default_message_delay": 30}`, 201)
	a.expect("POST", "/v2/queues/slow/messages", `{"messages":[{"body":1},{"body":2,"delay":0}]}`, 201)
	r := a.expect("GET", "/v2/queues/slow/messages?echo=true", "", 200)
	if msgs := r.json(t)["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["body"] != 2.0 {
		t.Errorf("delayed listing = %s", r.body)
	}
	r = a.expect("GET", "/v2/queues/slow/messages?echo=true&include_delayed=true", "", 200)
	if msgs := r.json(t)["messages"].([]any); len(msgs) != 2 {
		t.Errorf("include_delayed listing = %s", r.body)
	}
	// delay is dropped on queues without _default_message_delay.
	a.expect("POST", "/v2/queues/fast/messages", `{"messages":[{"body":1,"delay":60}]}`, 201)
	r = a.expect("GET", "/v2/queues/fast/messages?echo=true", "", 200)
	if msgs := r.json(t)["messages"].([]any); len(msgs) != 1 {
		t.Errorf("fast listing = %s", r.body)
	}

	a.expect("PUT", "/v2/queues/work", `{"_max_claim_count": 1, "_dead_letter_queue": "dead"}`, 201)
	a.expect("POST", "/v2/queues/work/messages", `{"messages":[{"body":"poison"}]}`, 201)
	r = a.expect("POST", "/v2/queues/work/claims", `{"ttl":60}`, 201)
	a.expect("DELETE", r.header.Get("Location"), "", 204)
	a.expect("POST", "/v2/queues/work/claims", `{"ttl":60}`, 204)
	r = a.expect("GET", "/v2/queues/dead/messages?echo=true", "", 200)
	if msgs := r.json(t)["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["body"] != "poison" {
		t.Errorf("dead letter queue = %s", r.body)
	}
}

// failing is a store whose every queue call fails as a lost backend would.
type failing struct {
	storage.Store
	panics bool
}

type failingQueues struct {
	storage.QueueStore
	panics bool
}

func (f failing) Queues() storage.QueueStore { return failingQueues{f.Store.Queues(), f.panics} }

func (f failingQueues) List(ctx context.Context, project string, o storage.QueueListOptions) ([]zaqar.Queue, error) {
	if f.panics {
		panic("boom")
	}
	return nil, errors.New("connection refused")
}

func TestStorageFailures(t *testing.T) {
	a := newAPI(t, failing{Store: memory.New()})
	r := a.expect("GET", "/v2/queues", "", 503)
	equalJSON(t, r.body, `{"title":"Service temporarily unavailable","description":"Queues could not be listed. Please try again in a few seconds."}`)
	a = newAPI(t, failing{Store: memory.New(), panics: true})
	r = a.expect("GET", "/v2/queues", "", 500)
	equalJSON(t, r.body, `{"title":"Internal server error","description":"An unexpected error occurred."}`)
}

func TestPolicy(t *testing.T) {
	a := newAPIWith(t, nil, service.Options{Limits: zaqar.DefaultLimits()}, rest.Options{AdminMode: true})
	r := a.expect("GET", "/v2/health", "", 403, "X-Roles", "member")
	equalJSON(t, r.body, `{"title":"Not authorized","description":"You are not authorized to complete this action."}`)
	a.expect("GET", "/v2/health", "", 200, "X-Roles", "member,admin")

	p, err := policy.New(map[string]string{"queues:delete": "role:admin", "queues:create": ""})
	if err != nil {
		t.Fatal(err)
	}
	a = newAPIWith(t, nil, service.Options{Limits: zaqar.DefaultLimits(), Policy: p}, rest.Options{})
	a.expect("PUT", "/v2/queues/q", "", 201)
	a.expect("DELETE", "/v2/queues/q", "", 403)
	a.expect("DELETE", "/v2/queues/q", "", 204, "X-Roles", "admin")
	a.expect("GET", "/v2/queues", "", 403) // a rule missing from the policy denies
}

func TestPreSignedURLs(t *testing.T) {
	a := newAPI(t, nil)
	r := a.expect("POST", "/v2/queues/q/share", `{}`, 400)
	equalJSON(t, r.body, `{"title":"Invalid API request","description":"The `+"`key`"+` can't be None"}`)

	so := service.Options{Limits: zaqar.DefaultLimits(), SignedURLKey: "s3cret"}
	// Every request must pass authentication, so only a valid signature gets in.
	deny := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	}
	open := newAPIWith(t, nil, so, rest.Options{})
	guarded := newAPIWith(t, open.srvStore(), so, rest.Options{Authenticate: deny})
	r = open.expect("POST", "/v2/queues/q/share", `{"methods":["GET","POST"],"paths":["messages","claims"],"expires":"2999-01-01T00:00:00"}`, 200)
	doc := r.json(t)
	if doc["project"] != "p1" || doc["expires"] != "2999-01-01T00:00:00" || len(doc["signature"].(string)) != 64 {
		t.Fatalf("share = %s", r.body)
	}
	equalJSON(t, mustJSON(doc["paths"]), `["/v2/queues/q/claims","/v2/queues/q/messages"]`)
	equalJSON(t, mustJSON(doc["methods"]), `["GET","POST"]`)
	sig := doc["signature"].(string)
	signed := func(sig, methods, paths, expires, project string) []string {
		return []string{"URL-Signature", sig, "URL-Methods", methods, "URL-Paths", paths, "URL-Expires", expires, "X-Project-ID", project}
	}
	good := signed(sig, "GET,POST", "/v2/queues/q/claims,/v2/queues/q/messages", "2999-01-01T00:00:00", "p1")
	open.expect("POST", "/v2/queues/q/messages", `{"messages":[{"body":1}]}`, 201, good...)
	open.expect("GET", "/v2/queues/q/messages", "", 200, good...)
	cases := []struct {
		name, method, path string
		hdr                []string
	}{
		{"tampered", "GET", "/v2/queues/q/messages", signed(strings.Repeat("0", 64), "GET,POST", "/v2/queues/q/claims,/v2/queues/q/messages", "2999-01-01T00:00:00", "p1")},
		{"empty signature", "GET", "/v2/queues/q/messages", signed("", "GET,POST", "/v2/queues/q/claims,/v2/queues/q/messages", "2999-01-01T00:00:00", "p1")},
		{"other queue", "GET", "/v2/queues/q2/messages", good},
		{"queue name prefix", "GET", "/v2/queues/q/messagesx", good},
		{"other method", "DELETE", "/v2/queues/q/messages", good},
		{"other path", "GET", "/v2/queues/q/stats", good},
		{"other project", "GET", "/v2/queues/q/messages", signed(sig, "GET,POST", "/v2/queues/q/claims,/v2/queues/q/messages", "2999-01-01T00:00:00", "p2")},
		{"extended expiry", "GET", "/v2/queues/q/messages", signed(sig, "GET,POST", "/v2/queues/q/claims,/v2/queues/q/messages", "2999-01-02T00:00:00", "p1")},
		{"widened methods", "DELETE", "/v2/queues/q/messages", signed(sig, "DELETE,GET,POST", "/v2/queues/q/claims,/v2/queues/q/messages", "2999-01-01T00:00:00", "p1")},
		{"regex path", "GET", "/v2/queues/q/messages", signed(sig, "GET,POST", "/v2/queues/.*", "2999-01-01T00:00:00", "p1")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := guarded.expect(tc.method, tc.path, "", 404, tc.hdr...)
			equalJSON(t, r.body, `{"title":"404 Not Found"}`)
		})
	}
	// Through the guard, a valid signature needs no token; without one, 401.
	guarded.expect("GET", "/v2/queues/q/messages?echo=true", "", 200, good...)
	guarded.expect("GET", "/v2/queues/q/messages", "", 401)
	guarded.expect("GET", "/", "", 300)

	r = open.expect("POST", "/v2/queues/q/share", `{"expires":"2000-01-01T00:00:00"}`, 400)
	equalJSON(t, r.body, `{"title":"Invalid API request","description":"`+"`expires`"+` is lower than the current time"}`)
	open.expect("POST", "/v2/queues/q/share", `{"expires":"1234567890"}`, 400)
	open.expect("POST", "/v2/queues/q/share", `{"paths":["stats"]}`, 400)
	open.expect("POST", "/v2/queues/q/share", `{"bogus":1}`, 400)

	// An expired URL is refused even with a correct signature.
	past := time.Now().UTC().Add(-time.Minute).Format("2006-01-02T15:04:05")
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(`/v2/queues/q/messages\nGET\np1\n` + past))
	guarded.expect("GET", "/v2/queues/q/messages", "", 404, signed(hex.EncodeToString(mac.Sum(nil)), "GET", "/v2/queues/q/messages", past, "p1")...)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// With Options.Identity, an authenticated request's project, user and roles
// come from its context, whatever identity headers the client sent.
func TestIdentityFromContext(t *testing.T) {
	type who struct {
		project, user string
		roles         []string
	}
	type key struct{}
	// The stand-in for Keystone: token "alt" is project p2, "admin" an admin
	// of p1, "unscoped" has no project; the identity goes into the context.
	tokens := map[string]who{"alt": {"p2", "u2", []string{"member"}}, "admin": {"p1", "u1", []string{"admin"}}, "unscoped": {"", "u3", nil}}
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := tokens[r.Header.Get("X-Auth-Token")]
			if !ok {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, id)))
		})
	}
	ident := func(ctx context.Context) (string, string, []string, bool) {
		id, ok := ctx.Value(key{}).(who)
		return id.project, id.user, id.roles, ok
	}
	p, err := policy.New(map[string]string{"queues:create": "", "messages:create": "", "messages:get_all": "", "queues:delete": "role:admin"})
	if err != nil {
		t.Fatal(err)
	}
	a := newAPIWith(t, nil, service.Options{Limits: zaqar.DefaultLimits(), Policy: p}, rest.Options{Authenticate: auth, Identity: ident})

	// do sends X-Project-ID p1; the token says p2, and p2 is what counts.
	a.expect("POST", "/v2/queues/q/messages", `{"messages":[{"body":1}]}`, 201, "X-Auth-Token", "alt", "X-Roles", "admin")
	listed := func(token string, hdr ...string) int {
		t.Helper()
		r := a.expect("GET", "/v2/queues/q/messages?echo=true", "", 200, append([]string{"X-Auth-Token", token}, hdr...)...)
		return len(r.json(t)["messages"].([]any))
	}
	if n := listed("admin", "X-Project-ID", "p2"); n != 0 {
		t.Errorf("p1's token with X-Project-ID p2 sees %d of p2's messages", n)
	}
	if n := listed("alt", "X-Project-ID", "-"); n != 1 {
		t.Errorf("p2's token without X-Project-ID sees %d messages, want 1", n)
	}
	// Roles too: a forged X-Roles header does not make alt an admin.
	a.expect("DELETE", "/v2/queues/q", "", 403, "X-Auth-Token", "alt", "X-Roles", "admin")
	a.expect("DELETE", "/v2/queues/q", "", 204, "X-Auth-Token", "admin", "X-Project-ID", "p2", "X-Roles", "-")
	r := a.expect("GET", "/v2/queues/q/messages", "", 400, "X-Auth-Token", "unscoped")
	equalJSON(t, r.body, `{"title":"Project-Id Missing","description":"The header X-PROJECT-ID was missing"}`)
}
