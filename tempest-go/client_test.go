//go:build tempest

// Package tempest holds black-box tests of a deployed Zaqar v2 HTTP API, in
// the shape of openstack/zaqar-tempest-plugin (positive tests per resource,
// *_negative_test.go files for bad input, and response-shape checks like
// zaqar_tempest_plugin/api_schema/response/v2/queues.py).
//
// The tests talk to the server only over HTTP: through gophercloud's
// openstack/messaging/v2 packages where they cover a call, and through raw
// net/http for everything else (versions, home document, ping, purge, pop,
// error documents, headers). They never import the server's packages, so a
// struct shared by mistake cannot hide a wire bug.
//
// Configuration comes from the environment (ZAQAR_ENDPOINT without
// Keystone; OS_*, OS_ALT_* and OS_ADMIN_* credentials with Keystone, the
// endpoint from the catalog) or from a tempest.conf-style file named by
// TEMPEST_CONFIG, the environment winning; README.md lists every setting.
// With nothing configured every test skips.
//
//	ZAQAR_ENDPOINT=http://127.0.0.1:8888 go test -tags tempest -count=1 ./tempest-go/
//	TEMPEST_CONFIG=/opt/stack/tempest/etc/tempest.conf go test -tags tempest -count=1 -v ./tempest-go/ -run Subscription
package tempest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/queues"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

func newClientID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// queueName returns a queue name unique to this run.
func queueName(prefix string) string {
	return "tempest-" + prefix + "-" + randHex(6)
}

// createQueue creates a uniquely named queue through gophercloud and deletes
// it when the test ends.
func (s *session) createQueue(prefix string, meta map[string]any) string {
	s.t.Helper()
	name := queueName(prefix)
	s.createNamedQueue(name, meta)
	return name
}

func (s *session) createNamedQueue(name string, meta map[string]any) {
	s.t.Helper()
	s.cleanupQueue(name)
	// queues.CreateOpts insists on _default_message_ttl; send the
	// metadata as a raw map so queues without metadata stay without.
	body := meta
	if body == nil {
		body = map[string]any{}
	}
	if err := queues.Create(s.t.Context(), s.mc, rawQueueOpts{name: name, meta: body}).ExtractErr(); err != nil {
		s.t.Fatalf("create queue %s: %v", name, err)
	}
}

// rawQueueOpts is a queues.CreateOptsBuilder sending meta verbatim.
type rawQueueOpts struct {
	name string
	meta map[string]any
}

func (o rawQueueOpts) ToQueueCreateMap() (map[string]any, error) {
	m := map[string]any{"queue_name": o.name}
	for k, v := range o.meta {
		m[k] = v
	}
	return m, nil
}

// cleanupQueue deletes the queue (and with it its messages and claims) when
// the test ends, whether or not the test created it.
func (s *session) cleanupQueue(name string) {
	s.t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := queues.Delete(ctx, s.mc, name).ExtractErr(); err != nil {
			s.t.Errorf("cleanup: delete queue %s: %v", name, err)
		}
	})
}

// postMessages posts n messages {"i": 0..n-1} with the given ttl through
// gophercloud and returns their ids in posting order.
func (s *session) postMessages(queue string, n, ttl int) []string {
	s.t.Helper()
	batch := make(messages.BatchCreateOpts, n)
	for i := range batch {
		batch[i] = messages.CreateOpts{TTL: ttl, Body: map[string]any{"i": i}}
	}
	res, err := messages.Create(s.t.Context(), s.mc, queue, batch).Extract()
	if err != nil {
		s.t.Fatalf("post %d messages to %s: %v", n, queue, err)
	}
	if len(res.Resources) != n {
		s.t.Fatalf("post %d messages to %s: %d resources %v", n, queue, len(res.Resources), res.Resources)
	}
	ids := make([]string, n)
	prefix := "/v2/queues/" + queue + "/messages/"
	for i, href := range res.Resources {
		if !strings.HasPrefix(href, prefix) {
			s.t.Fatalf("post to %s: resource %q, want %s<id>", queue, href, prefix)
		}
		ids[i] = strings.TrimPrefix(href, prefix)
	}
	return ids
}

// listAll lists a queue's messages with raw requests, following next links
// until an empty page, and returns every message object.
func (s *session) listAll(queue, query string) []object {
	s.t.Helper()
	var all []object
	path := queuePath(queue, "messages")
	if query != "" {
		path += "?" + query
	}
	for range 100 {
		r := s.do("GET", path, nil)
		doc := wantBody[object](s.t, r, 200, messageListSchema)
		items := doc["messages"].([]any)
		next := wantLinks(s.t, r.path, doc, len(items), "/v2/queues/"+queue+"/messages")
		if len(items) == 0 {
			return all
		}
		for _, it := range items {
			all = append(all, wantObject(s.t, "message", it))
		}
		path = next
	}
	s.t.Fatalf("listing %s does not end after 100 pages", queue)
	return nil
}

// allQueueNames pages through the project's queues (following next links,
// not the name filter, which Zaqar's Redis driver ignores).
func (s *session) allQueueNames() []string {
	s.t.Helper()
	var names []string
	path := "v2/queues?limit=20"
	for range 500 {
		doc := wantBody[object](s.t, s.do("GET", path, nil), 200, queueListSchema)
		items := doc["queues"].([]any)
		next := wantLinks(s.t, "queue list", doc, len(items), "/v2/queues")
		if len(items) == 0 {
			return names
		}
		for _, it := range items {
			names = append(names, it.(object)["name"].(string))
		}
		path = next
	}
	s.t.Fatal("the queue listing does not end after 500 pages")
	return nil
}

// ---- raw HTTP ------------------------------------------------------------

// response is a fully read HTTP response.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

func (r *response) String() string {
	return fmt.Sprintf("%s %s -> %d %s", r.method, r.path, r.status, truncate(r.body))
}

func truncate(b []byte) string {
	const max = 600
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// reqOption adjusts a raw request.
type reqOption func(*http.Request)

// header sets (or, with an empty value, sends empty) a request header.
func header(k, v string) reqOption {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// without removes a default request header (Client-ID, X-Project-ID, ...).
func without(k string) reqOption {
	return func(r *http.Request) { r.Header.Del(k) }
}

// encodeBody makes a request body: []byte and string are sent verbatim,
// nil sends nothing, anything else is encoded as JSON.
func encodeBody(t *testing.T, body any) io.Reader {
	t.Helper()
	switch b := body.(type) {
	case nil:
		return nil
	case []byte:
		return bytes.NewReader(b)
	case string:
		return strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		return bytes.NewReader(buf)
	}
}

// do sends a raw request to path (relative to the endpoint, e.g.
// "v2/queues/q" or "/v2/queues/q") with this session's Client-ID, project
// (no auth) or token (Keystone), and Content-Type application/json when a
// body is given.
func (s *session) do(method, path string, body any, opts ...reqOption) *response {
	s.t.Helper()
	return s.doContext(s.t.Context(), method, path, body, opts...)
}

// cleanup sends a request when the test ends (t.Context() is cancelled by
// then) and ignores its answer.
func (s *session) cleanup(method, path string) {
	s.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.doContext(ctx, method, path, nil)
	})
}

func (s *session) doContext(ctx context.Context, method, path string, body any, opts ...reqOption) *response {
	s.t.Helper()
	u := s.cloud.endpoint + strings.TrimPrefix(path, "/")
	req, err := http.NewRequestWithContext(ctx, method, u, encodeBody(s.t, body))
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Client-ID", s.clientID)
	if s.cloud.keystone {
		req.Header.Set("X-Auth-Token", s.provider.Token())
	} else {
		req.Header.Set("X-Project-ID", s.project)
		if s.roles != "" {
			req.Header.Set("X-Roles", s.roles)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := s.cloud.httpClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &response{method: method, path: path, status: resp.StatusCode, header: resp.Header, body: b}
}

// queuePath builds "v2/queues/<name>/<rest...>" with the name escaped.
func queuePath(name string, rest ...string) string {
	p := "v2/queues/" + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// ---- assertions ----------------------------------------------------------

func wantStatus(t *testing.T, r *response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", r.method, r.path, r.status, want, truncate(r.body))
	}
}

func wantEmptyBody(t *testing.T, r *response) {
	t.Helper()
	if len(bytes.TrimSpace(r.body)) != 0 {
		t.Errorf("%s %s: want an empty body, got %q", r.method, r.path, truncate(r.body))
	}
}

func wantHeader(t *testing.T, r *response, key, want string) {
	t.Helper()
	if got := r.header.Get(key); got != want {
		t.Errorf("%s %s: header %s = %q, want %q", r.method, r.path, key, got, want)
	}
}

// wantJSONContentType checks the media type is application/json (charset
// parameters allowed).
func wantJSONContentType(t *testing.T, r *response) {
	t.Helper()
	ct := r.header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", r.method, r.path, ct)
	}
}

// decode decodes a JSON body keeping numbers exact (json.Number) so
// integer fields can be told from floats.
func decode[T any](t *testing.T, r *response) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s %s: body is not the expected JSON (%v): %s", r.method, r.path, err, truncate(r.body))
	}
	return v
}

type object = map[string]any

// errorDoc is Falcon's HTTPError document.
type errorDoc struct {
	Title       string `json:"title"`
	Description string `json:"description"`
}

// wantError checks status and a Zaqar error document
// ({"title": ..., "description": ...}, zaqar-api.md 2.3). An empty title
// accepts any non-empty title.
func wantError(t *testing.T, r *response, status int, title string) errorDoc {
	t.Helper()
	doc := wantBody[object](t, r, status, errorSchema)
	d := errorDoc{Title: doc["title"].(string)}
	d.Description, _ = doc["description"].(string)
	if d.Title == "" {
		t.Errorf("%s %s: empty error title: %s", r.method, r.path, truncate(r.body))
	}
	if title != "" && d.Title != title {
		t.Errorf("%s %s: error title %q, want %q (description %q)", r.method, r.path, d.Title, title, d.Description)
	}
	return d
}

// wantCode checks a gophercloud error carries the given HTTP status.
func wantCode(t *testing.T, what string, err error, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want HTTP %d", what, status)
	}
	if !gophercloud.ResponseCodeIs(err, status) {
		t.Fatalf("%s: %v, want HTTP %d", what, err, status)
	}
}

// firstPageOnly is a pagination handler that stops after one page.
func firstPageOnly(context.Context, pagination.Page) (bool, error) { return false, nil }

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// ---- response shapes (zaqar_tempest_plugin/api_schema/response/v2) -------

// num is the value of a JSON integer already checked by a schema.
func num(v any) int64 {
	f, _, _ := numeric(v)
	return int64(f)
}

// at returns a readable location for shape errors.
func at(where string, key any) string { return fmt.Sprintf("%s.%v", where, key) }

func field(t *testing.T, where string, obj object, key string) any {
	t.Helper()
	v, ok := obj[key]
	if !ok {
		t.Errorf("%s: missing required field %q in %v", where, key, obj)
	}
	return v
}

func wantString(t *testing.T, where string, v any) string {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Errorf("%s: %v is %T, want string", where, v, v)
	}
	return s
}

// wantInt checks a JSON integer (Zaqar's ttl, age, grace and counts are int
// seconds, never floats) at least min.
func wantInt(t *testing.T, where string, v any, min int64) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Errorf("%s: %v is %T, want an integer", where, v, v)
		return 0
	}
	i, err := n.Int64()
	if err != nil {
		t.Errorf("%s: %s is not an integer", where, n)
		return 0
	}
	if i < min {
		t.Errorf("%s: %d, want >= %d", where, i, min)
	}
	return i
}

func wantObject(t *testing.T, where string, v any) object {
	t.Helper()
	o, ok := v.(object)
	if !ok {
		t.Fatalf("%s: %v is %T, want an object", where, v, v)
	}
	return o
}

func wantArray(t *testing.T, where string, v any) []any {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: %v is %T, want an array", where, v, v)
	}
	return a
}

// wantLinks checks a pagination "links" array (linksSchema): one next link
// iff the page is non-empty, a relative path under pathPrefix. It returns
// the next href or "".
func wantLinks(t *testing.T, where string, page object, items int, pathPrefix string) string {
	t.Helper()
	links, _ := page["links"].([]any)
	if !wantShape(t, where+".links", page["links"], linksSchema) {
		return ""
	}
	if items == 0 {
		if len(links) != 0 {
			t.Errorf("%s: empty page has links %v, want []", where, links)
		}
		return ""
	}
	if len(links) != 1 {
		t.Fatalf("%s: non-empty page has %d links, want exactly one next link", where, len(links))
	}
	href := links[0].(object)["href"].(string)
	if !strings.HasPrefix(href, pathPrefix+"?") {
		t.Errorf("%s: next href %q, want a relative %s?... path", where, href, pathPrefix)
	}
	return href
}

var (
	uuidRe      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	requestIDRe = regexp.MustCompile(`^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	isoTimeRe   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)
)

// wantMessage checks a message object (messageSchema) with href
// "/v2/queues/<q>/messages/<id>" and, when claimID is not empty,
// "?claim_id=<claimID>".
func wantMessage(t *testing.T, where string, v any, queue, claimID string) object {
	t.Helper()
	if !wantShape(t, where, v, messageSchema) {
		t.FailNow()
	}
	m := v.(object)
	id := m["id"].(string)
	want := "/v2/queues/" + queue + "/messages/" + id
	if claimID != "" {
		want += "?claim_id=" + claimID
	}
	if href := m["href"].(string); href != want {
		t.Errorf("%s: href %q, want %q", where, href, want)
	}
	return m
}

// claimIDFromLocation extracts the claim id from a claim Location header
// "/v2/queues/<q>/claims/<id>".
func claimIDFromLocation(t *testing.T, r *response, queue string) string {
	t.Helper()
	loc := r.header.Get("Location")
	prefix := "/v2/queues/" + queue + "/claims/"
	if !strings.HasPrefix(loc, prefix) || len(loc) == len(prefix) {
		t.Fatalf("%s %s: Location %q, want %s<claim id>", r.method, r.path, loc, prefix)
	}
	return strings.TrimPrefix(loc, prefix)
}
