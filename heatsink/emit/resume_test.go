package emit

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"

	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/zaqartest"
)

// TestSettlePending: after a crash between recording an event as pending
// and recording it as done, a restarted emitter looks for it in the queue
// (our real server) and does not post it again if it is there.
func TestSettlePending(t *testing.T) {
	c := cloud.NoAuth(zaqartest.Start(t, ""), "heatsink-emit")
	err := messages.Create(t.Context(), c, "q", messages.BatchCreateOpts{{TTL: 600, Body: map[string]any{"id": "posted-event"}}}).Err
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct{ pending, wantLast string }{
		{"posted-event", "posted-event"}, // it landed: skip it
		{"lost-event", "before"},         // it did not: post it again after "before"
	} {
		file := filepath.Join(dir, tc.pending+".state")
		state, _ := json.Marshal(State{StackID: "s1", Queue: "q", Last: "before", Pending: tc.pending})
		if err := os.WriteFile(file, state, 0o600); err != nil {
			t.Fatal(err)
		}
		em := &Emitter{Zaqar: c, Queue: "q", StateFile: file, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), stackID: "s1"}
		if err := em.load(); err != nil {
			t.Fatal(err)
		}
		if err := em.settlePending(t.Context()); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(file)
		var got State
		json.Unmarshal(data, &got)
		if got.Last != tc.wantLast || got.Pending != "" {
			t.Errorf("pending %s: state %+v, want last %s", tc.pending, got, tc.wantLast)
		}
	}
	// A state file of another stack is refused.
	em := &Emitter{Zaqar: c, Queue: "q", StateFile: filepath.Join(dir, "posted-event.state"), stackID: "other"}
	if err := em.load(); err == nil {
		t.Error("state file of another stack accepted")
	}
}

func TestMain(m *testing.M) { zaqartest.Main(m) }
