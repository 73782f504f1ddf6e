package rest_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/logging"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// logged serves one request straight through the handler (so every line
// is written when ServeHTTP returns) and returns the JSON log lines.
func logged(t *testing.T, store storage.Store, req *http.Request) (*httptest.ResponseRecorder, []map[string]any) {
	t.Helper()
	var out bytes.Buffer
	log := slog.New(logging.NewHandler(&out, true, slog.LevelInfo))
	h := rest.New(service.New(store, service.Options{Limits: zaqar.DefaultLimits()}), rest.Options{Logger: log})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, l)
		}
		lines = append(lines, m)
	}
	return rec, lines
}

func newRequest(method, target, body string) *http.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Client-ID", client1)
	req.Header.Set("X-Project-ID", "p1")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func TestAccessLog(t *testing.T) {
	store := memory.New()
	rec, lines := logged(t, store, newRequest("PUT", "/v2/queues/q1", ""))
	if rec.Code != http.StatusCreated || len(lines) != 1 {
		t.Fatalf("PUT = %d, %d log lines, want 201 and 1: %v", rec.Code, len(lines), lines)
	}
	rec, lines = logged(t, store, newRequest("POST", "/v2/queues/q1/messages?x=1", `{"messages":[{"body":1,"ttl":300}]}`))
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %v", len(lines), lines)
	}
	l := lines[0]
	want := map[string]any{"level": "INFO", "msg": "request", "method": "POST", "path": "/v2/queues/q1/messages",
		"query": "x=1", "status": 201.0, "bytes": float64(rec.Body.Len()), "remote": "192.0.2.1:1234",
		"project": "p1", "client_id": client1, "request_id": rec.Header().Get("x-openstack-request-id")}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("access line %s = %v, want %v", k, l[k], v)
		}
	}
	if !strings.HasPrefix(rec.Header().Get("x-openstack-request-id"), "req-") || len(rec.Header().Get("x-openstack-request-id")) != 40 {
		t.Errorf("x-openstack-request-id = %q, want req-<uuid>", rec.Header().Get("x-openstack-request-id"))
	}
	if d, ok := l["duration"].(float64); !ok || d < 0 {
		t.Errorf("duration = %v, want seconds", l["duration"])
	}

	// Refused before the project is known: no project, still one line.
	req := newRequest("GET", "/v2/queues", "")
	req.Header.Del("X-Project-ID")
	rec, lines = logged(t, store, req)
	if rec.Code != http.StatusBadRequest || len(lines) != 1 || lines[0]["status"] != 400.0 || lines[0]["project"] != nil {
		t.Errorf("GET without a project = %d, lines %v; want 400 logged without project", rec.Code, lines)
	}
}

// TestAccessLogHidesSecrets: signatures and tokens in a query never reach
// the log.
func TestAccessLogHidesSecrets(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"limit=5&marker=abc", "limit=5&marker=abc"},
		{"Signature=deadbeef&Expires=2030-01-01T00:00:00", "Signature=***&Expires=2030-01-01T00:00:00"},
		{"url-signature=deadbeef", "url-signature=***"},
		{"a=1&X-Auth-Token=deadbeef&b=2", "a=1&X-Auth-Token=***&b=2"},
		{"password=deadbeef&secret_key=deadbeef", "password=***&secret_key=***"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			_, lines := logged(t, memory.New(), newRequest("GET", "/v2/queues?"+tc.query, ""))
			if len(lines) != 1 {
				t.Fatalf("%d lines: %v", len(lines), lines)
			}
			if lines[0]["query"] != tc.want {
				t.Errorf("query logged as %v, want %q", lines[0]["query"], tc.want)
			}
			b, _ := json.Marshal(lines[0])
			if strings.Contains(string(b), "deadbeef") {
				t.Errorf("secret in the log: %s", b)
			}
		})
	}
	// A pre-signed request: the signature header is not logged either.
	req := newRequest("GET", "/v2/queues/q/messages", "")
	req.Header.Set("URL-Signature", "deadbeef")
	_, lines := logged(t, memory.New(), req)
	b, _ := json.Marshal(lines)
	if strings.Contains(string(b), "deadbeef") {
		t.Errorf("signature in the log: %s", b)
	}
}

// TestRequestIDOnFailureLines: a 5xx's error line and a panic's line carry
// the id the client got, so an operator can go from one to the other.
func TestRequestIDOnFailureLines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		panics bool
		msg    string
	}{{"storage down", false, "request failed"}, {"panic", true, "panic in handler"}} {
		t.Run(tc.name, func(t *testing.T) {
			rec, lines := logged(t, failing{Store: memory.New(), panics: tc.panics}, newRequest("GET", "/v2/queues", ""))
			id := rec.Header().Get("x-openstack-request-id")
			if rec.Code < 500 || len(lines) != 2 {
				t.Fatalf("GET = %d with %d log lines, want a 5xx with 2: %v", rec.Code, len(lines), lines)
			}
			if lines[0]["msg"] != tc.msg || lines[0]["request_id"] != id {
				t.Errorf("first line %v, want %q with request_id %s", lines[0], tc.msg, id)
			}
			if lines[1]["msg"] != "request" || lines[1]["request_id"] != id || lines[1]["status"] != float64(rec.Code) {
				t.Errorf("access line %v, want status %d and request_id %s", lines[1], rec.Code, id)
			}
		})
	}
}
