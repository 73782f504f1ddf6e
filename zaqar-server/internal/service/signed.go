package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// signedDateFormat is the expires format of pre-signed URLs
// (zaqar/common/urls.py _DATE_FORMAT): UTC, no zone.
const signedDateFormat = "2006-01-02T15:04:05"

// SignedURL is the answer of POST /v2/queues/{q}/share.
type SignedURL struct {
	Project   string   `json:"project"`
	Paths     []string `json:"paths"`
	Methods   []string `json:"methods"`
	Expires   string   `json:"expires"`
	Signature string   `json:"signature"`
}

// sign is Zaqar's HMAC-SHA256 over paths, methods, project and expiry joined
// by the two characters `\n` (a raw string in zaqar/common/urls.py, not a
// newline). Inputs must already be sorted.
func sign(key, project string, paths, methods []string, expires string) string {
	msg := strings.Join(paths, ",") + `\n` + strings.Join(methods, ",") + `\n` + project + `\n` + expires
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// parseExpires reads an ISO 8601 time as oslo's parse_isotime does, refusing
// integers as Zaqar does, and normalises it to UTC.
func parseExpires(s string) (time.Time, error) {
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

// Share signs access to paths of queue q (POST /v2/queues/{q}/share).
func (s *Service) Share(q zaqar.QueueRef, body []byte, now time.Time) (SignedURL, error) {
	o, err := decodeObject(body)
	if err != nil {
		return SignedURL{}, err
	}
	var unknown []string
	for k := range o {
		if k != "methods" && k != "paths" && k != "expires" {
			unknown = append(unknown, "'"+k+"'")
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return SignedURL{}, zaqar.Invalidf("Unknown keys: {%s}", strings.Join(unknown, ", "))
	}
	if s.signedKey == "" {
		return SignedURL{}, zaqar.Invalidf("The `key` can't be None")
	}
	base := "/v2/queues/" + q.Name + "/"
	paths := []string{base + "messages"}
	if raw, ok := o["paths"]; ok && string(raw) != "null" {
		var ps []string
		if err := json.Unmarshal(raw, &ps); err != nil {
			return SignedURL{}, zaqar.Invalidf("`paths` must be a non-empty list")
		}
		if len(ps) > 0 {
			paths = paths[:0]
			for _, p := range ps {
				if p != "messages" && p != "subscriptions" && p != "claims" {
					return SignedURL{}, zaqar.Invalidf("Invalid paths: {'%s'}", p)
				}
				paths = append(paths, base+p)
			}
		}
	}
	methods := []string{"GET"}
	if raw, ok := o["methods"]; ok && string(raw) != "null" {
		var ms []string
		if err := json.Unmarshal(raw, &ms); err != nil {
			return SignedURL{}, zaqar.Invalidf("`methods` should be a list")
		}
		if len(ms) > 0 {
			methods = ms
		}
	}
	expires := now.UTC().Add(24 * time.Hour)
	if raw, ok := o["expires"]; ok && string(raw) != "null" {
		var e string
		if err := json.Unmarshal(raw, &e); err != nil {
			return SignedURL{}, zaqar.Invalidf("`expires` should be date format, for example 2016-01-01T00:00:00")
		}
		if expires, err = parseExpires(e); err != nil {
			return SignedURL{}, zaqar.Invalidf("%s", err.Error())
		}
	}
	if !expires.After(now) {
		return SignedURL{}, zaqar.Invalidf("`expires` is lower than the current time")
	}
	sort.Strings(paths)
	sort.Strings(methods)
	exp := expires.Format(signedDateFormat)
	return SignedURL{Project: q.Project, Paths: paths, Methods: methods, Expires: exp,
		Signature: sign(s.signedKey, q.Project, paths, methods, exp)}, nil
}

// SignedRequest are the pre-signed URL headers of a request.
type SignedRequest struct {
	Signature, Expires, Methods, Paths, Project string
	Method, Path                                string // of the request
}

// VerifySigned reports whether a pre-signed request may proceed. Unlike
// Zaqar it refuses an empty or tampered signature, and matches paths as
// prefixes on a path boundary instead of as regular expressions, so a URL
// signed for one queue never opens another.
func (s *Service) VerifySigned(r SignedRequest, now time.Time) bool {
	if s.signedKey == "" || r.Signature == "" || r.Project == "" {
		return false
	}
	expires, err := parseExpires(r.Expires)
	if err != nil || !expires.After(now) {
		return false
	}
	methods := splitList(r.Methods)
	paths := splitList(r.Paths)
	if len(methods) == 0 || len(paths) == 0 {
		return false
	}
	if !contains(methods, r.Method) && !(r.Method == "HEAD" && contains(methods, "GET")) {
		return false
	}
	allowed := false
	for _, p := range paths {
		if !strings.HasPrefix(p, "/v2/queues/") {
			return false
		}
		if r.Path == p || strings.HasPrefix(r.Path, p+"/") {
			allowed = true
		}
	}
	if !allowed {
		return false
	}
	sort.Strings(methods)
	sort.Strings(paths)
	want := sign(s.signedKey, r.Project, paths, methods, expires.Format(signedDateFormat))
	return hmac.Equal([]byte(want), []byte(strings.ToLower(r.Signature)))
}

func splitList(s string) []string {
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
