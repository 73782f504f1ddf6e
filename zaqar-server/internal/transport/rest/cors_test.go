package rest_test

import (
	"net/http"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// zaqarCORS is [cors] with Zaqar's defaults and one allowed origin.
var zaqarCORS = &rest.CORS{
	AllowedOrigins: []string{"http://app.example:8080"}, AllowCredentials: true, MaxAge: 3600,
	ExposeHeaders: []string{"X-Auth-Token", "X-Subject-Token", "X-Service-Token", "X-OpenStack-Request-ID"},
	AllowMethods:  []string{"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD"},
	AllowHeaders:  []string{"X-Auth-Token", "X-Roles", "Client-id", "X-Project-ID"},
}

func TestCORS(t *testing.T) {
	deny := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Auth-Token") != "good" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	a := newAPIWith(t, nil, service.Options{Limits: zaqar.DefaultLimits()}, rest.Options{CORS: zaqarCORS, Authenticate: deny})
	preflight := func(origin, method, headers string) resp {
		return a.do("OPTIONS", "/v2/queues/q/messages", "", "Origin", origin, "Access-Control-Request-Method", method,
			"Access-Control-Request-Headers", headers, "Client-ID", "-", "X-Project-ID", "-")
	}
	// An allowed origin's preflight: 200 with oslo's answer.
	r := preflight("http://app.example:8080", "POST", "client-id,content-type,x-auth-token,x-project-id")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "http://app.example:8080" ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" || r.header.Get("Access-Control-Max-Age") != "3600" ||
		r.header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Errorf("allowed preflight: %d %v", r.status, r.header)
	}
	// Another origin, a method or a header not allowed: no CORS headers,
	// so the browser refuses.
	for _, tc := range [][3]string{
		{"http://evil.example", "POST", "content-type"},
		{"http://app.example:8080", "TRACE", ""},
		{"http://app.example:8080", "POST", "x-forbidden"},
	} {
		if r := preflight(tc[0], tc[1], tc[2]); r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %v allowed: %d %v", tc, r.status, r.header)
		}
	}
	// Actual requests from the allowed origin carry the headers, errors
	// included, so the page can read a 401.
	r = a.do("GET", "/v2/queues", "", "Origin", "http://app.example:8080")
	if r.status != 401 || r.header.Get("Access-Control-Allow-Origin") != "http://app.example:8080" {
		t.Errorf("401 for an allowed origin: %d %v", r.status, r.header)
	}
	r = a.do("GET", "/v2/queues", "", "Origin", "http://app.example:8080", "X-Auth-Token", "good")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "http://app.example:8080" ||
		r.header.Get("Access-Control-Expose-Headers") == "" {
		t.Errorf("GET for an allowed origin: %d %v", r.status, r.header)
	}
	if r := a.do("GET", "/v2/queues", "", "Origin", "http://evil.example", "X-Auth-Token", "good"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET for another origin has CORS headers: %v", r.header)
	}
	// Without [cors] allowed_origin, no CORS at all.
	off := newAPIWith(t, nil, service.Options{Limits: zaqar.DefaultLimits()}, rest.Options{CORS: &rest.CORS{}})
	if r := off.do("GET", "/v2/queues", "", "Origin", "http://app.example:8080"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS headers without allowed_origin: %v", r.header)
	}
}
