//go:build tempest

package tempest

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// schema is the expected shape of a JSON value, in the spirit of
// zaqar_tempest_plugin/api_schema/response/v2 (JSON Schema): a type, the
// properties an object must or may have, an array's item shape and length,
// a number's minimum, a string's pattern or allowed values. check walks a
// decoded value (numbers as json.Number or float64) recursively and reports
// every violation with its path. Each response shape of the API is one
// schema value below, used by the tests and their helpers.
type schema struct {
	kind     kind
	nullable bool

	props    map[string]*schema // object: known properties
	required []string           // object: properties that must be present
	values   *schema            // object: the shape of every other property (nil: anything)
	closed   bool               // object: no properties besides props

	items              *schema // array
	minItems, maxItems int     // array; maxItems < 0: unbounded

	minimum *float64       // integer, number
	pattern *regexp.Regexp // string
	enum    []string       // string

	anyOf []*schema // any of these shapes
}

type kind uint8

const (
	kindAny kind = iota
	kindObject
	kindArray
	kindString
	kindInteger
	kindNumber
	kindBoolean
)

func (k kind) String() string {
	return [...]string{"any value", "an object", "an array", "a string", "an integer", "a number", "a boolean"}[k]
}

// prop is one property of an object schema.
type prop struct {
	name     string
	s        *schema
	required bool
}

func req(name string, s *schema) prop { return prop{name, s, true} }
func opt(name string, s *schema) prop { return prop{name, s, false} }

// obj is an object with these properties; others are allowed (as in
// JSON Schema without additionalProperties: false).
func obj(props ...prop) *schema {
	s := &schema{kind: kindObject, props: map[string]*schema{}}
	for _, p := range props {
		s.props[p.name] = p.s
		if p.required {
			s.required = append(s.required, p.name)
		}
	}
	return s
}

// mapOf is an object whose every property has shape v.
func mapOf(v *schema) *schema { return &schema{kind: kindObject, values: v} }

func arrayOf(items *schema) *schema { return &schema{kind: kindArray, items: items, maxItems: -1} }
func str() *schema                  { return &schema{kind: kindString} }
func integer() *schema              { return &schema{kind: kindInteger} }
func number() *schema               { return &schema{kind: kindNumber} }
func boolean() *schema              { return &schema{kind: kindBoolean} }
func anyJSON() *schema              { return &schema{kind: kindAny, nullable: true} }
func anyOf(s ...*schema) *schema    { return &schema{kind: kindAny, anyOf: s} }

// The modifiers return a copy, so shared schemas stay as declared.

func (s *schema) orNull() *schema { c := *s; c.nullable = true; return &c }
func (s *schema) only() *schema   { c := *s; c.closed = true; return &c }
func (s *schema) atLeast(n float64) *schema {
	c := *s
	c.minimum = &n
	return &c
}
func (s *schema) items2(min, max int) *schema { c := *s; c.minItems, c.maxItems = min, max; return &c }
func (s *schema) nonEmpty() *schema           { return s.items2(1, s.maxItems) }
func (s *schema) matching(re string) *schema {
	c := *s
	c.pattern = regexp.MustCompile(re)
	return &c
}
func (s *schema) oneOf(values ...string) *schema { c := *s; c.enum = values; return &c }

// check returns the violations of v, each prefixed with its path.
func (s *schema) check(path string, v any) []string {
	if v == nil {
		if s.nullable {
			return nil
		}
		return []string{fmt.Sprintf("%s: null, want %s", path, s.kind)}
	}
	if len(s.anyOf) > 0 {
		var all []string
		for i, alt := range s.anyOf {
			errs := alt.check(path, v)
			if len(errs) == 0 {
				return nil
			}
			all = append(all, fmt.Sprintf("alternative %d: %s", i+1, strings.Join(errs, "; ")))
		}
		return []string{fmt.Sprintf("%s: matches no alternative (%s)", path, strings.Join(all, " | "))}
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	switch s.kind {
	case kindAny:
	case kindObject:
		o, ok := v.(map[string]any)
		if !ok {
			bad("%s, want an object", describe(v))
			return errs
		}
		for _, k := range s.required {
			if _, ok := o[k]; !ok {
				bad("missing required %q (has %s)", k, strings.Join(sortedKeys(o), ", "))
			}
		}
		for _, k := range sortedKeys(o) {
			sub := s.props[k]
			if sub == nil {
				if s.closed {
					bad("unexpected property %q", k)
					continue
				}
				sub = s.values
			}
			if sub != nil {
				errs = append(errs, sub.check(path+"."+k, o[k])...)
			}
		}
	case kindArray:
		a, ok := v.([]any)
		if !ok {
			bad("%s, want an array", describe(v))
			return errs
		}
		if len(a) < s.minItems {
			bad("%d items, want at least %d", len(a), s.minItems)
		}
		if s.maxItems >= 0 && len(a) > s.maxItems {
			bad("%d items, want at most %d", len(a), s.maxItems)
		}
		if s.items != nil {
			for i, it := range a {
				errs = append(errs, s.items.check(fmt.Sprintf("%s[%d]", path, i), it)...)
			}
		}
	case kindString:
		x, ok := v.(string)
		if !ok {
			bad("%s, want a string", describe(v))
			return errs
		}
		if s.pattern != nil && !s.pattern.MatchString(x) {
			bad("%q does not match %s", x, s.pattern)
		}
		if s.enum != nil && !slices.Contains(s.enum, x) {
			bad("%q, want one of %q", x, s.enum)
		}
	case kindInteger, kindNumber:
		f, isInt, ok := numeric(v)
		if !ok {
			bad("%s, want %s", describe(v), s.kind)
			return errs
		}
		if s.kind == kindInteger && !isInt {
			bad("%v is not an integer", v)
		}
		if s.minimum != nil && f < *s.minimum {
			bad("%v, want >= %v", v, *s.minimum)
		}
	case kindBoolean:
		if _, ok := v.(bool); !ok {
			bad("%s, want a boolean", describe(v))
		}
	}
	return errs
}

// numeric reads a json.Number (exact: "1.0" is not an integer) or a
// float64 (WebSocket and MessagePack decoding).
func numeric(v any) (f float64, isInt, ok bool) {
	switch n := v.(type) {
	case json.Number:
		if _, err := n.Int64(); err == nil {
			f, _ := n.Float64()
			return f, true, true
		}
		f, err := n.Float64()
		return f, false, err == nil
	case float64:
		return n, n == math.Trunc(n), true
	case int, int64, uint64, int8, uint8, int16, uint16, int32, uint32:
		f, _, _ := numeric(json.Number(fmt.Sprint(n)))
		return f, true, true
	}
	return 0, false, false
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return fmt.Sprintf("string %q", v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case json.Number, float64:
		return fmt.Sprintf("number %v", v)
	}
	return fmt.Sprintf("%T %v", v, v)
}

func sortedKeys(o map[string]any) []string {
	ks := make([]string, 0, len(o))
	for k := range o {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// wantShape reports every violation of s by v as a test error and says
// whether there were none.
func wantShape(t *testing.T, where string, v any, s *schema) bool {
	t.Helper()
	errs := s.check(where, v)
	for _, e := range errs {
		t.Errorf("schema: %s", e)
	}
	return len(errs) == 0
}

// wantBody checks status, a JSON Content-Type and the body's shape, and
// returns the decoded body. A body of the wrong shape fails the test now.
func wantBody[T any](t *testing.T, r *response, status int, s *schema) T {
	t.Helper()
	wantStatus(t, r, status)
	wantJSONContentType(t, r)
	v := decode[any](t, r)
	if !wantShape(t, r.method+" "+r.path, v, s) {
		t.FailNow()
	}
	out, ok := v.(T)
	if !ok {
		t.Fatalf("%s %s: body is %T, want %T", r.method, r.path, v, out)
	}
	return out
}

// ---- the API's response shapes ---------------------------------------------

var (
	ageSchema        = integer().atLeast(0)
	ttlSchema        = integer().atLeast(1)
	hrefSchema       = str().matching(`^/v2/`)
	isoTimeSchema    = str().matching(isoTimeRe.String())
	metadataSchema   = mapOf(anyJSON())
	messageIDsSchema = arrayOf(str()).nonEmpty()

	// errorSchema is Falcon's HTTPError document (zaqar-api.md 2.3).
	errorSchema = obj(req("title", str()), opt("description", str()))

	// versionsSchema: GET / (300).
	versionsSchema = obj(req("versions", arrayOf(obj(
		req("id", str()),
		req("status", str().oneOf("CURRENT", "SUPPORTED", "DEPRECATED", "EXPERIMENTAL")),
		req("updated", str()),
		req("media-types", arrayOf(obj(req("base", str()), req("type", str()))).nonEmpty()),
		req("links", arrayOf(obj(req("href", str()), req("rel", str()))).nonEmpty()),
	)).nonEmpty()))

	// homeSchema: GET /v2/ (JSON-home): a resource has href-template or href.
	homeSchema = obj(req("resources", mapOf(anyOf(
		obj(req("href-template", hrefSchema), opt("href-vars", mapOf(str())), req("hints", homeHintsSchema)),
		obj(req("href", hrefSchema), req("hints", homeHintsSchema)),
	))))
	homeHintsSchema = obj(req("allow", arrayOf(str()).nonEmpty()), req("formats", mapOf(anyJSON())))

	// linksSchema: a page's links (list_link): at most one next link.
	linksSchema = arrayOf(obj(req("rel", str().oneOf("next")), req("href", hrefSchema)).only()).items2(0, 1)

	// queueListSchema: GET /v2/queues (list_queues).
	queueListSchema = obj(
		req("queues", arrayOf(obj(req("name", str()), req("href", hrefSchema), opt("metadata", metadataSchema)))),
		req("links", linksSchema),
		opt("count", integer().atLeast(0)),
	)

	// queueMetadataSchema: GET and PATCH /v2/queues/{q}: the stored
	// metadata with the reserved keys' defaults.
	queueMetadataSchema = obj(
		req("_max_messages_post_size", integer().atLeast(1)),
		req("_default_message_ttl", ttlSchema),
		opt("_default_message_delay", integer().atLeast(0)),
		opt("_dead_letter_queue", str().orNull()),
		opt("_dead_letter_queue_messages_ttl", integer().orNull()),
		opt("_max_claim_count", integer().orNull()),
		opt("_enable_encrypt_messages", boolean()),
	)

	// statsSchema: GET /v2/queues/{q}/stats (queue_stats).
	statsSchema = obj(req("messages", obj(
		req("free", integer().atLeast(0)),
		req("claimed", integer().atLeast(0)),
		req("total", integer().atLeast(0)),
		opt("oldest", messageLinkSchema),
		opt("newest", messageLinkSchema),
	)))
	messageLinkSchema = obj(req("href", hrefSchema), req("age", ageSchema), req("created", isoTimeSchema))

	// postMessagesSchema: POST /v2/queues/{q}/messages (post_messages).
	postMessagesSchema = obj(req("resources", arrayOf(hrefSchema).nonEmpty()))

	// messageSchema: one message (single_message).
	messageSchema = obj(
		req("id", str().matching(`.`)),
		req("href", hrefSchema),
		req("ttl", ttlSchema),
		req("age", ageSchema),
		req("body", anyJSON()),
		opt("checksum", str()),
	)

	// messageListSchema: GET /v2/queues/{q}/messages (list_messages).
	messageListSchema = obj(req("messages", arrayOf(messageSchema)), req("links", linksSchema))

	// messagesByIDSchema: GET .../messages?ids= (get_multiple_messages).
	messagesByIDSchema = obj(req("messages", arrayOf(messageSchema).nonEmpty()))

	// popSchema: DELETE .../messages?pop=N: raw stored messages, no href.
	popSchema = obj(req("messages", arrayOf(obj(
		req("id", str()),
		req("ttl", ttlSchema),
		req("age", ageSchema),
		req("body", anyJSON()),
		opt("claim_id", str().orNull()),
		opt("claim_count", integer().atLeast(0)),
		opt("checksum", str()),
	))))

	// claimCreatedSchema: POST .../claims, 201 (claim_messages).
	claimCreatedSchema = obj(req("messages", arrayOf(messageSchema).nonEmpty()))

	// claimSchema: GET .../claims/{id} (query_claim).
	claimSchema = obj(
		req("age", ageSchema),
		req("ttl", ttlSchema),
		req("href", hrefSchema),
		req("messages", arrayOf(messageSchema).nonEmpty()),
	)

	// subscriptionCreatedSchema: POST .../subscriptions, 201 (create_subscription).
	subscriptionCreatedSchema = obj(req("subscription_id", str().matching(`.`)))

	// subscriptionSchema: one subscription (single_subscription).
	subscriptionSchema = obj(
		req("id", str()),
		req("source", str()),
		req("subscriber", str()),
		req("ttl", ttlSchema),
		req("age", ageSchema),
		req("options", metadataSchema),
		opt("confirmed", boolean()),
	)

	// subscriptionListSchema: GET .../subscriptions (list_subscriptions).
	subscriptionListSchema = obj(req("subscriptions", arrayOf(subscriptionSchema)), req("links", linksSchema))

	// shareSchema: POST .../share (zaqar-api.md 8).
	shareSchema = obj(
		req("project", str()),
		req("paths", arrayOf(str().matching(`^/v2/queues/[^/]+/(messages|subscriptions|claims)$`)).nonEmpty()),
		req("methods", arrayOf(str()).nonEmpty()),
		req("expires", str().matching(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$`)),
		req("signature", str().matching(`^[0-9a-f]{64}$`)),
	)

	// healthSchema: GET /v2/health: a store's report (Zaqar's detailed one
	// has operation_status and message_volume), or with pooling one report
	// per pool next to catalog_reachable.
	healthSchema = anyOf(
		storeHealthSchema,
		obj(req("catalog_reachable", boolean())),
	)
	storeHealthSchema = obj(
		req("storage_reachable", boolean()),
		opt("operation_status", mapOf(obj(req("succeeded", boolean()), req("seconds", number().atLeast(0)), opt("ref", str().orNull())))),
		opt("message_volume", obj(req("free", integer().atLeast(0)), req("claimed", integer().atLeast(0)), req("total", integer().atLeast(0)))),
	)

	// poolSchema, poolListSchema: /v2/pools (zaqar-api.md 10).
	poolSchema = obj(
		req("name", str()),
		req("uri", str()),
		req("weight", integer().atLeast(0)),
		req("href", hrefSchema),
		opt("flavor", str().orNull()),
		opt("options", metadataSchema),
	)
	poolListSchema = obj(req("pools", arrayOf(poolSchema)), req("links", linksSchema))

	// flavorSchema, flavorListSchema: /v2/flavors.
	flavorSchema = obj(
		req("name", str()),
		req("href", hrefSchema),
		req("pool_list", arrayOf(str())),
		opt("capabilities", anyJSON()),
	)
	flavorListSchema = obj(req("flavors", arrayOf(flavorSchema)), req("links", linksSchema))

	// notificationSchema: the JSON a webhook subscriber receives per message
	// (zaqar/notification/tasks/webhook.py).
	notificationSchema = obj(
		req("body", anyJSON()),
		req("ttl", ttlSchema),
		req("queue_name", str()),
		req("Message_Type", str().oneOf("Notification")),
	)

	// wsReplySchema: a WebSocket answer envelope (zaqar-websocket.md).
	wsReplySchema = obj(
		req("request", obj(opt("action", str().orNull()), opt("headers", mapOf(anyJSON())), opt("body", anyJSON()), opt("api", str()))),
		req("headers", obj(req("status", integer().atLeast(100)))),
		req("body", anyJSON()),
	)
)

// The checker itself, on literal documents (no server needed).
func TestSchemaChecker(t *testing.T) {
	track(t)
	t.Parallel()
	for _, tc := range []struct {
		name  string
		s     *schema
		doc   string
		wants []string // substrings of the violations, in order; none: valid
	}{
		{"message ok", messageSchema, `{"id": "a", "href": "/v2/queues/q/messages/a", "ttl": 60, "age": 0, "body": null}`, nil},
		{"message float ttl", messageSchema, `{"id": "a", "href": "/v2/queues/q/messages/a", "ttl": 60.5, "age": 0, "body": 1}`, []string{".ttl: 60.5 is not an integer"}},
		{"message missing body", messageSchema, `{"id": "a", "href": "/v2/queues/q/messages/a", "ttl": 60, "age": 0}`, []string{`missing required "body"`}},
		{"nested item", messageListSchema, `{"messages": [{"id": "a", "href": "x", "ttl": 0, "age": -1, "body": {}}], "links": []}`,
			[]string{".messages[0].age: -1, want >= 0", `.messages[0].href: "x" does not match`, ".messages[0].ttl: 0, want >= 1"}},
		{"two links", linksSchema, `[{"rel": "next", "href": "/v2/q"}, {"rel": "next", "href": "/v2/q"}]`, []string{"2 items, want at most 1"}},
		{"closed link", linksSchema, `[{"rel": "next", "href": "/v2/q", "x": 1}]`, []string{`unexpected property "x"`}},
		{"null not allowed", errorSchema, `{"title": null}`, []string{".title: null, want a string"}},
		{"nullable", queueMetadataSchema, `{"_max_messages_post_size": 1, "_default_message_ttl": 60, "_dead_letter_queue": null}`, nil},
		{"any of", healthSchema, `{"catalog_reachable": true, "p1": {}}`, nil},
		{"none of", healthSchema, `{"storage_reachable": "yes"}`, []string{"matches no alternative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			dec := json.NewDecoder(strings.NewReader(tc.doc))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			got := tc.s.check("doc", v)
			if len(got) != len(tc.wants) {
				t.Fatalf("check(%s) = %q, want %d violations %q", tc.doc, got, len(tc.wants), tc.wants)
			}
			for i, w := range tc.wants {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
