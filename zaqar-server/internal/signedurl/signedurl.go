// Package signedurl implements Zaqar's pre-signed URLs (zaqar/common/urls.py):
// an HMAC-SHA256 over paths, methods, project and expiry that lets a holder
// call exactly those paths and methods of one project until it expires,
// without a token. The service signs (POST .../share, subscription
// confirmations) and the transports verify.
package signedurl

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DateFormat is the expires format: UTC, no zone (urls.py _DATE_FORMAT).
const DateFormat = "2006-01-02T15:04:05"

// URL is a signed grant, as POST /v2/queues/{q}/share returns it.
type URL struct {
	Project   string   `json:"project"`
	Paths     []string `json:"paths"`
	Methods   []string `json:"methods"`
	Expires   string   `json:"expires"`
	Signature string   `json:"signature"`
}

// Sign signs paths and methods for project until expires. Paths and methods
// are sorted, as Zaqar does before signing.
func Sign(key, project string, paths, methods []string, expires time.Time) URL {
	paths = sorted(paths)
	methods = sorted(methods)
	exp := expires.UTC().Format(DateFormat)
	return URL{Project: project, Paths: paths, Methods: methods, Expires: exp,
		Signature: mac(key, project, paths, methods, exp)}
}

// mac joins its fields with the two characters `\n` (a raw string in
// Zaqar, not a newline) and returns the lowercase hex HMAC-SHA256.
func mac(key, project string, paths, methods []string, expires string) string {
	msg := strings.Join(paths, ",") + `\n` + strings.Join(methods, ",") + `\n` + project + `\n` + expires
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// ParseExpires reads an ISO 8601 time as oslo's parse_isotime does, refusing
// integers as Zaqar does, and normalises it to UTC.
func ParseExpires(s string) (time.Time, error) {
	if _, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
		return time.Time{}, fmt.Errorf("`expires` should be date format, for example 2016-01-01T00:00:00, not integer value: %s", strings.TrimSpace(s))
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("Unable to parse date string '%s'", s)
}

// Request are the pre-signed headers of a request and what it asks for.
type Request struct {
	Signature, Expires, Methods, Paths, Project string // URL-* and X-Project-ID headers
	Method, Path                                string
}

// Verify reports whether r may proceed at now. Unlike Zaqar it refuses an
// empty or tampered signature, and matches paths as prefixes on a path
// boundary instead of as regular expressions, so a URL signed for one queue
// never opens another; only queue and topic paths can be granted.
func Verify(key string, r Request, now time.Time) bool {
	if key == "" || r.Signature == "" || r.Project == "" {
		return false
	}
	expires, err := ParseExpires(r.Expires)
	if err != nil || !expires.After(now) {
		return false
	}
	methods, paths := split(r.Methods), split(r.Paths)
	if len(methods) == 0 || len(paths) == 0 {
		return false
	}
	if !contains(methods, r.Method) && !(r.Method == "HEAD" && contains(methods, "GET")) {
		return false
	}
	allowed := false
	for _, p := range paths {
		if !strings.HasPrefix(p, "/v2/queues/") && !strings.HasPrefix(p, "/v2/topics/") {
			return false
		}
		if r.Path == p || strings.HasPrefix(r.Path, p+"/") {
			allowed = true
		}
	}
	if !allowed {
		return false
	}
	want := mac(key, r.Project, sorted(paths), sorted(methods), expires.Format(DateFormat))
	return hmac.Equal([]byte(want), []byte(strings.ToLower(r.Signature)))
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
