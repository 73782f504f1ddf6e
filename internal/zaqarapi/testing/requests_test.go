package testing

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/claims"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/queues"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/zaqarapi"
	"github.com/zaqar-go/suite/internal/zaqartest"
)

func TestMain(m *testing.M) { zaqartest.Main(m) }

func TestCreateQueue(t *testing.T) {
	c := cloud.NoAuth(zaqartest.Start(t, ""), "zaqarapi")
	ctx := t.Context()
	created, err := zaqarapi.CreateQueue(ctx, c, "q", map[string]any{"owner": "first"}).Extract()
	if err != nil || !created {
		t.Fatalf("first CreateQueue = %v, %v; want created", created, err)
	}
	created, err = zaqarapi.CreateQueue(ctx, c, "q", map[string]any{"owner": "second"}).Extract()
	if err != nil || created {
		t.Fatalf("second CreateQueue = %v, %v; want existing", created, err)
	}
	var meta map[string]any
	if err := queues.Get(ctx, c, "q").ExtractInto(&meta); err != nil {
		t.Fatal(err)
	}
	if meta["owner"] != "first" {
		t.Errorf("metadata %v: the existing queue's should stay", meta)
	}
	if _, err := zaqarapi.CreateQueue(ctx, c, "bad name!", nil).Extract(); err == nil {
		t.Error("CreateQueue with a bad name succeeded")
	}
}

func TestPostListClaim(t *testing.T) {
	c := cloud.NoAuth(zaqartest.Start(t, ""), "zaqarapi")
	ctx := t.Context()

	empty, err := zaqarapi.CreateClaim(ctx, c, "q", claims.CreateOpts{TTL: 60, Grace: 60, Limit: 10}).Extract()
	if err != nil || empty.ID != "" || len(empty.Messages) != 0 {
		t.Fatalf("claim on an empty queue = %+v, %v", empty, err)
	}
	if _, err := zaqarapi.PostMessages(ctx, c, "q").Extract(); err == nil {
		t.Error("PostMessages without messages succeeded")
	}

	type event struct {
		ID string `json:"id"`
	}
	// Bodies of every JSON kind: gophercloud's messages decode only objects.
	bodies := []any{event{ID: "e1"}, "a string", []int{1, 2}, 7}
	var posted []string
	for _, b := range bodies { // one by one, so that they list in this order
		ids, err := zaqarapi.PostMessages(ctx, c, "q", zaqarapi.NewMessage{TTL: 300, Body: b}).Extract()
		if err != nil || len(ids) != 1 {
			t.Fatalf("PostMessages(%v) = %v, %v", b, ids, err)
		}
		posted = append(posted, ids[0])
	}
	wantRaw := []string{`{"id":"e1"}`, `"a string"`, `[1,2]`, `7`}

	// Limit 1: every message on its own page, through Zaqar's relative
	// next links.
	var listed, raw []string
	pages := 0
	err = zaqarapi.ListMessages(c, "q", messages.ListOpts{Echo: true, Limit: 1}).EachPage(ctx,
		func(_ context.Context, p pagination.Page) (bool, error) {
			pages++
			ms, err := zaqarapi.ExtractMessages(p)
			for _, m := range ms {
				listed = append(listed, m.ID)
				raw = append(raw, compact(t, m.Body))
			}
			return true, err
		})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(listed, posted) || !slices.Equal(raw, wantRaw) || pages != len(posted) {
		t.Errorf("listed %v %v in %d pages, want %v %v in %d", listed, raw, pages, posted, wantRaw, len(posted))
	}

	claim, err := zaqarapi.CreateClaim(ctx, c, "q", claims.CreateOpts{TTL: 60, Grace: 60, Limit: 3}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if claim.ID == "" || len(claim.Messages) != 3 {
		t.Fatalf("claim = %+v, want an id and 3 messages (limit)", claim)
	}
	for i, m := range claim.Messages {
		if m.ID != posted[i] || compact(t, m.Body) != wantRaw[i] || m.TTL != 300 {
			t.Errorf("claimed message %d = %s %s ttl %d, want %s %s ttl 300", i, m.ID, m.Body, m.TTL, posted[i], wantRaw[i])
		}
		// The claim id is the one Zaqar deletes a claimed message under.
		if err := messages.Delete(ctx, c, "q", m.ID, messages.DeleteOpts{ClaimID: claim.ID}).ExtractErr(); err != nil {
			t.Errorf("delete %s under claim %s: %v", m.ID, claim.ID, err)
		}
	}

	// Only the message not claimed is left.
	var left []string
	err = zaqarapi.ListMessages(c, "q", messages.ListOpts{Echo: true, IncludeClaimed: true}).EachPage(ctx,
		func(_ context.Context, p pagination.Page) (bool, error) {
			ms, err := zaqarapi.ExtractMessages(p)
			for _, m := range ms {
				left = append(left, m.ID)
			}
			return true, err
		})
	if err != nil || !slices.Equal(left, posted[3:]) {
		t.Errorf("left %v, %v; want %v", left, err, posted[3:])
	}
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("body %s: %v", raw, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
