package ws

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/zaqar-go/suite/internal/testenv"
)

// lines returns the JSON lines logged so far, by message.
func lines(s *testenv.SyncBuffer) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err == nil {
			out[m["msg"].(string)] = append(out[m["msg"].(string)], m)
		}
	}
	return out
}

// TestConnectionLog: an INFO line when a connection opens and one when it
// closes (with its remote and project), a DEBUG line per action.
func TestConnectionLog(t *testing.T) {
	var out testenv.SyncBuffer
	e := newEnv(t, envOptions{ws: Options{Logger: slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))}})
	cl := e.dial(false, "logproj")
	if r := cl.do("queue_create", map[string]any{"queue_name": "q"}); r.Headers.Status != 201 {
		t.Fatalf("queue_create = %d", r.Headers.Status)
	}
	cl.c.Close(websocket.StatusNormalClosure, "")
	// Shutdown returns once every connection's handler has returned, so
	// after its close line.
	if err := e.srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	lines := lines(&out)
	open, closed := lines["websocket connection open"], lines["websocket connection closed"]
	if len(open) != 1 || open[0]["level"] != "INFO" || open[0]["remote"] == "" {
		t.Errorf("open lines %v, want one INFO line with remote", open)
	}
	if len(closed) != 1 || closed[0]["level"] != "INFO" || closed[0]["project"] != "logproj" ||
		closed[0]["remote"] != open[0]["remote"] || closed[0]["requests"] != 1.0 || closed[0]["conn"] != open[0]["conn"] {
		t.Errorf("close lines %v, want one INFO line with the open line's conn and remote, project logproj, 1 request", closed)
	}
	act := lines["websocket action"]
	if len(act) != 1 || act[0]["level"] != "DEBUG" || act[0]["action"] != "queue_create" || act[0]["status"] != 201.0 {
		t.Errorf("action lines %v, want one DEBUG queue_create 201", act)
	}
}
