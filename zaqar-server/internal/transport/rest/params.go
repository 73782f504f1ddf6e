package rest

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Query parameters with Falcon's rules.

// param returns a query value; blank values count as absent
// (keep_blank_qs_values=False).
func param(r *http.Request, name string) (string, bool) {
	vs := r.URL.Query()[name]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i] != "" {
			return vs[i], true
		}
	}
	return "", false
}

func invalidParam(name, want string) error {
	return &zaqar.Error{Kind: zaqar.Invalid, Title: "Invalid parameter",
		Desc: `The "` + name + `" parameter is invalid. ` + want}
}

func paramInt(r *http.Request, name string) (*int, error) {
	v, ok := param(r, name)
	if !ok {
		return nil, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return nil, invalidParam(name, "The value must be an integer.")
	}
	return &n, nil
}

func paramBool(r *http.Request, name string) (val, present bool, err error) {
	v, ok := param(r, name)
	if !ok {
		return false, false, nil
	}
	switch v {
	case "true", "True", "TRUE", "t", "T", "yes", "Yes", "YES", "y", "Y", "1", "on", "On", "ON":
		return true, true, nil
	case "false", "False", "FALSE", "f", "F", "no", "No", "NO", "n", "N", "0", "off", "Off", "OFF":
		return false, true, nil
	}
	return false, false, invalidParam(name, `The value of the parameter must be "true" or "false".`)
}

// page reads marker and limit, recording them for the next link in the
// order Falcon's get_param stores them.
func page(r *http.Request, next *query) (marker string, limit *int, err error) {
	if m, ok := param(r, "marker"); ok {
		marker = m
		next.set("marker", m)
	}
	if limit, err = paramInt(r, "limit"); err != nil {
		return "", nil, err
	}
	if limit != nil {
		next.set("limit", strconv.Itoa(*limit))
	}
	return marker, limit, nil
}

// detailedPage is page plus the detailed flag, recorded for the next link
// after them (queue and pool listings).
func detailedPage(r *http.Request, next *query) (marker string, limit *int, detailed bool, err error) {
	if marker, limit, err = page(r, next); err != nil {
		return "", nil, false, err
	}
	detailed, given, err := paramBool(r, "detailed")
	if err != nil {
		return "", nil, false, err
	}
	if given {
		next.set("detailed", boolStr(detailed))
	}
	return marker, limit, detailed, nil
}

// paramList splits comma-separated values (auto_parse_qs_csv=True) and
// repeated parameters; nil when absent.
func paramList(r *http.Request, name string) []string {
	vs, ok := r.URL.Query()[name]
	if !ok {
		return nil
	}
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	if out == nil {
		return nil // only blank values: absent, as in Falcon
	}
	return out
}

// query builds a query string in insertion order, as falcon.to_query_str.
type query [][2]string

func (q *query) set(k, v string) {
	for i := range *q {
		if (*q)[i][0] == k {
			(*q)[i][1] = v
			return
		}
	}
	*q = append(*q, [2]string{k, v})
}

func (q query) String() string {
	if len(q) == 0 {
		return ""
	}
	var b strings.Builder
	for i, kv := range q {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(escapeQuery(kv[0]))
		b.WriteByte('=')
		b.WriteString(escapeQuery(kv[1]))
	}
	return b.String()
}

func escapeQuery(s string) string {
	// Falcon quotes with urllib's quote(safe="/"): keep unreserved and '/'.
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}
