package ws

import (
	"encoding/json"
	"math"
	"strconv"
)

// schema is what Zaqar's JSON schema for one action checks
// (zaqar/api/v2/request.py RequestSchema): the envelope members present,
// the headers required, the body keys required and the types of the
// properties it names. Unknown keys are allowed, as there.
type schema struct {
	headers  []string        // required headers
	noBody   bool            // "body" is optional (queue_list) or not part of the action
	required []string        // required body keys
	props    map[string]kind // typed body keys; kindInvalid means untyped
}

// headerTypes are the headers every schema types as strings.
var headerTypes = []string{"User-Agent", "Date", "Accept", "Client-ID", "X-Project-ID", "X-Auth-Token"}

var resource = []string{"Client-ID", "X-Project-ID"}

func queueSchema(required []string, props map[string]kind) schema {
	p := map[string]kind{"queue_name": kindString}
	for k, v := range props {
		p[k] = v
	}
	return schema{headers: resource, required: append([]string{"queue_name"}, required...), props: p}
}

// schemas lists every action Zaqar's schema defines. Ours adds types to a
// few keys Zaqar's endpoints read without a schema entry (message_list
// include_delayed, claim_update grace, subscription_list marker and limit):
// a wrong type there fails in Zaqar too, later and less clearly.
var schemas = map[string]schema{
	"get_home_doc":      {noBody: true},
	"check_node_health": {noBody: true},
	"ping_node":         {noBody: true},
	"authenticate":      {headers: []string{"X-Project-ID", "X-Auth-Token"}, noBody: true},

	"queue_list":      {headers: resource, noBody: true, props: map[string]kind{"marker": kindString, "limit": kindInteger, "detailed": kindBool}},
	"queue_create":    queueSchema(nil, map[string]kind{"metadata": kindInvalid}),
	"queue_delete":    queueSchema(nil, nil),
	"queue_get":       queueSchema(nil, nil),
	"queue_get_stats": queueSchema(nil, nil),
	"queue_purge":     queueSchema(nil, map[string]kind{"resource_types": kindArray}),

	"message_list": queueSchema(nil, map[string]kind{"marker": kindString, "limit": kindInteger, "echo": kindBool,
		"include_claimed": kindBool, "include_delayed": kindBool, "wait": kindInteger}),
	"message_get":         queueSchema([]string{"message_id"}, map[string]kind{"message_id": kindString}),
	"message_get_many":    queueSchema([]string{"message_ids"}, map[string]kind{"message_ids": kindArray}),
	"message_post":        queueSchema([]string{"messages"}, map[string]kind{"messages": kindArray}),
	"message_delete":      queueSchema([]string{"message_id"}, map[string]kind{"message_id": kindString, "claim_id": kindString}),
	"message_delete_many": queueSchema(nil, map[string]kind{"message_ids": kindArray, "claim_ids": kindArray, "pop": kindInteger}),

	"claim_create": queueSchema(nil, map[string]kind{"limit": kindInteger, "ttl": kindInteger, "grace": kindInteger, "wait": kindInteger}),
	"claim_get":    queueSchema([]string{"claim_id"}, map[string]kind{"claim_id": kindString}),
	"claim_update": queueSchema([]string{"claim_id"}, map[string]kind{"claim_id": kindString, "ttl": kindInteger, "grace": kindInteger}),
	"claim_delete": queueSchema([]string{"claim_id"}, map[string]kind{"claim_id": kindString}),

	"subscription_create": queueSchema(nil, map[string]kind{"subscriber": kindString, "ttl": kindInteger, "options": kindObject}),
	"subscription_get":    queueSchema([]string{"subscription_id"}, map[string]kind{"subscription_id": kindString}),
	"subscription_list":   queueSchema(nil, map[string]kind{"marker": kindString, "limit": kindInteger}),
	"subscription_delete": queueSchema([]string{"subscription_id"}, map[string]kind{"subscription_id": kindString}),

	"pool_list":     {headers: resource, required: []string{"pool_name"}, props: map[string]kind{"pool_name": kindString, "limit": kindInteger, "marker": kindString}},
	"pool_create":   {headers: resource, required: []string{"pool_name"}, props: map[string]kind{"pool_name": kindString, "weight": kindInteger, "uri": kindString, "options": kindObject}},
	"pool_update":   {headers: resource, required: []string{"pool_name"}, props: map[string]kind{"pool_name": kindString, "weight": kindInteger, "uri": kindString, "options": kindObject}},
	"pool_get":      {headers: resource, required: []string{"pool_name"}, props: map[string]kind{"pool_name": kindString, "detailed": kindBool}},
	"pool_delete":   {headers: resource, required: []string{"pool_name"}, props: map[string]kind{"pool_name": kindString}},
	"flavor_list":   {headers: resource, required: []string{"flavor_name"}, props: map[string]kind{"flavor_name": kindString, "limit": kindInteger, "marker": kindString}},
	"flavor_create": {headers: resource, required: []string{"flavor_name", "pool_name"}, props: map[string]kind{"flavor_name": kindString, "pool_name": kindString, "capabilities": kindObject}},
	"flavor_update": {headers: resource, required: []string{"flavor_name"}, props: map[string]kind{"flavor_name": kindString, "pool_name": kindString, "capabilities": kindObject}},
	"flavor_get":    {headers: resource, required: []string{"flavor_name"}, props: map[string]kind{"flavor_name": kindString, "detailed": kindBool}},
	"flavor_delete": {headers: resource, required: []string{"flavor_name"}, props: map[string]kind{"flavor_name": kindString}},
}

// valid reports whether r passes its action's schema.
func (sc schema) valid(r *request) bool {
	if _, ok := r.top["headers"]; !ok || r.headers == nil {
		return false
	}
	for _, h := range headerTypes {
		if v, ok := r.headers[h]; ok && kindOf(v) != kindString {
			return false
		}
	}
	for _, h := range sc.headers {
		if _, ok := r.headers[h]; !ok {
			return false
		}
	}
	if _, ok := r.top["body"]; !ok {
		return sc.noBody
	}
	if sc.props == nil && sc.required == nil {
		return true // the schema does not describe a body
	}
	if r.body == nil {
		return false
	}
	for _, k := range sc.required {
		if _, ok := r.body[k]; !ok {
			return false
		}
	}
	for k, want := range sc.props {
		v, ok := r.body[k]
		if !ok || want == kindInvalid {
			continue
		}
		if got := kindOf(v); got != want {
			return false
		}
	}
	return true
}

// ---- reading typed members ---------------------------------------------
//
// The schema has checked the types, so these only convert.

func (r *request) header(name string) string {
	var s string
	_ = json.Unmarshal(r.headers[name], &s)
	return s
}

func (r *request) str(name string) string {
	var s string
	_ = json.Unmarshal(r.body[name], &s)
	return s
}

func (r *request) has(name string) bool {
	_, ok := r.body[name]
	return ok
}

// integer returns an integer member, nil when absent; values beyond int
// are clamped so the service answers with its range message.
func (r *request) integer(name string) *int {
	raw, ok := r.body[name]
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		n = math.MaxInt64
		if len(raw) > 0 && raw[0] == '-' {
			n = math.MinInt64
		}
	}
	i := int(n)
	return &i
}

// waits reports whether r is a long poll: a claim_create or message_list
// with a positive integer wait (a zaqar-server extension).
func (r *request) waits() bool {
	if r.action != "claim_create" && r.action != "message_list" {
		return false
	}
	raw, ok := r.body["wait"]
	if !ok || kindOf(raw) != kindInteger {
		return false
	}
	w := r.integer("wait")
	return *w > 0
}

func (r *request) boolean(name string) bool {
	var b bool
	_ = json.Unmarshal(r.body[name], &b)
	return b
}

// strings reads an array of strings; ok is false when an element is not a
// string (the schema types only the array).
func (r *request) strings(name string) (list []string, present, ok bool) {
	raw, present := r.body[name]
	if !present {
		return nil, false, true
	}
	list = []string{}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, true, false
	}
	return list, true, true
}

// doc builds a JSON object of the named body members that are present, for
// the service calls that take a document (claims, subscriptions); nil when
// none is.
func (r *request) doc(names ...string) []byte {
	var buf []byte
	for _, n := range names {
		v, ok := r.body[n]
		if !ok {
			continue
		}
		if buf == nil {
			buf = append(buf, '{')
		} else {
			buf = append(buf, ',')
		}
		k, _ := json.Marshal(n)
		buf = append(buf, k...)
		buf = append(buf, ':')
		buf = append(buf, v...)
	}
	if buf == nil {
		return nil
	}
	return append(buf, '}')
}
