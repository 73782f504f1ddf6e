package service

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/signedurl"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// Share signs access to paths of queue q (POST /v2/queues/{q}/share) with
// Zaqar's defaults: GET on messages for one day.
func (s *Service) Share(q zaqar.QueueRef, body []byte, now time.Time) (signedurl.URL, error) {
	o, err := decodeObject(body)
	if err != nil {
		return signedurl.URL{}, err
	}
	var unknown []string
	for k := range o {
		if k != "methods" && k != "paths" && k != "expires" {
			unknown = append(unknown, "'"+k+"'")
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return signedurl.URL{}, zaqar.Invalidf("Unknown keys: {%s}", strings.Join(unknown, ", "))
	}
	if s.signedKey == "" {
		return signedurl.URL{}, zaqar.Invalidf("The `key` can't be None")
	}
	base := "/v2/queues/" + q.Name + "/"
	paths := []string{base + "messages"}
	if raw, ok := o["paths"]; ok && string(raw) != "null" {
		var ps []string
		if err := json.Unmarshal(raw, &ps); err != nil {
			return signedurl.URL{}, zaqar.Invalidf("`paths` must be a non-empty list")
		}
		if len(ps) > 0 {
			paths = paths[:0]
			for _, p := range ps {
				if p != "messages" && p != "subscriptions" && p != "claims" {
					return signedurl.URL{}, zaqar.Invalidf("Invalid paths: {'%s'}", p)
				}
				paths = append(paths, base+p)
			}
		}
	}
	methods := []string{"GET"}
	if raw, ok := o["methods"]; ok && string(raw) != "null" {
		var ms []string
		if err := json.Unmarshal(raw, &ms); err != nil {
			return signedurl.URL{}, zaqar.Invalidf("`methods` should be a list")
		}
		if len(ms) > 0 {
			methods = ms
		}
	}
	expires := now.UTC().Add(24 * time.Hour)
	if raw, ok := o["expires"]; ok && string(raw) != "null" {
		var e string
		if err := json.Unmarshal(raw, &e); err != nil {
			return signedurl.URL{}, zaqar.Invalidf("`expires` should be date format, for example 2016-01-01T00:00:00")
		}
		if expires, err = signedurl.ParseExpires(e); err != nil {
			return signedurl.URL{}, zaqar.Invalidf("%s", err.Error())
		}
	}
	if !expires.After(now) {
		return signedurl.URL{}, zaqar.Invalidf("`expires` is lower than the current time")
	}
	return signedurl.Sign(s.signedKey, q.Owner(), paths, methods, expires), nil
}

// VerifySigned reports whether a pre-signed request may proceed; see
// signedurl.Verify for how it is stricter than Zaqar.
func (s *Service) VerifySigned(r signedurl.Request, now time.Time) bool {
	return signedurl.Verify(s.signedKey, r, now)
}
