package testing

import (
	"context"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/claims"
	"github.com/gophercloud/gophercloud/v2/openstack/messaging/v2/messages"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/zaqar-go/suite/internal/cloud"
	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/internal/zaqarapi"
	"github.com/zaqar-go/suite/internal/zaqartest"
)

// Wait is rendered as the wait query parameter only when set, after
// gophercloud's own parameters.
func TestWaitQuery(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  func() (string, error)
		want string
	}{
		{"claim without wait", func() (string, error) {
			_, q, err := zaqarapi.CreateClaimOpts{CreateOpts: claims.CreateOpts{TTL: 60, Limit: 5}}.ToClaimCreateRequest()
			return q, err
		}, "?limit=5"},
		{"claim, wait only", func() (string, error) {
			_, q, err := zaqarapi.CreateClaimOpts{Wait: 3}.ToClaimCreateRequest()
			return q, err
		}, "?wait=3"},
		{"claim with limit and wait", func() (string, error) {
			_, q, err := zaqarapi.CreateClaimOpts{CreateOpts: claims.CreateOpts{Limit: 5}, Wait: 20}.ToClaimCreateRequest()
			return q, err
		}, "?limit=5&wait=20"},
		{"list without wait", func() (string, error) {
			return zaqarapi.ListMessagesOpts{ListOpts: messages.ListOpts{Echo: true}}.ToMessageListQuery()
		}, "?echo=true"},
		{"list, wait only", func() (string, error) {
			return zaqarapi.ListMessagesOpts{Wait: 7}.ToMessageListQuery()
		}, "?wait=7"},
		{"list with echo and wait", func() (string, error) {
			return zaqarapi.ListMessagesOpts{ListOpts: messages.ListOpts{Echo: true}, Wait: 7}.ToMessageListQuery()
		}, "?echo=true&wait=7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := tc.got(); got != tc.want || err != nil {
				t.Errorf("query = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, _, err := (zaqarapi.CreateClaimOpts{Wait: -1}).ToClaimCreateRequest(); err == nil {
		t.Error("claim with wait -1: no error")
	}
	if _, err := (zaqarapi.ListMessagesOpts{Wait: -1}).ToMessageListQuery(); err == nil {
		t.Error("list with wait -1: no error")
	}
}

// A claim and a listing with Wait are held by zaqar-server while the queue
// is empty and answered with the message posted meanwhile.
func TestWaitHeld(t *testing.T) {
	url, waiting := zaqartest.StartWaiters(t, "")
	c := cloud.NoAuth(url, "zaqarapi-wait")
	ctx := t.Context()
	post := func(queue string) string {
		t.Helper()
		ids, err := zaqarapi.PostMessages(ctx, c, queue, zaqarapi.NewMessage{TTL: 300, Body: map[string]any{"to": queue}}).Extract()
		if err != nil || len(ids) != 1 {
			t.Fatalf("post to %s: %v, %v", queue, ids, err)
		}
		return ids[0]
	}
	held := func(what string) {
		t.Helper()
		testenv.Eventually(t, what+" held by the server", 30*time.Second, 20*time.Millisecond, func() bool { return waiting() == 1 })
	}

	claimed := make(chan zaqarapi.Claim, 1)
	go func() {
		got, err := zaqarapi.CreateClaim(ctx, c, "c", zaqarapi.CreateClaimOpts{CreateOpts: claims.CreateOpts{TTL: 60, Grace: 60}, Wait: 20}).Extract()
		if err != nil {
			t.Errorf("claim: %v", err)
		}
		claimed <- got
	}()
	held("the claim")
	id := post("c")
	if got := <-claimed; len(got.Messages) != 1 || got.Messages[0].ID != id || got.ID == "" {
		t.Errorf("claim = %+v, want message %s", got, id)
	}

	listed := make(chan []string, 1)
	go func() {
		var ids []string
		err := zaqarapi.ListMessages(c, "l", zaqarapi.ListMessagesOpts{ListOpts: messages.ListOpts{Echo: true}, Wait: 20}).EachPage(ctx,
			func(_ context.Context, p pagination.Page) (bool, error) {
				ms, err := zaqarapi.ExtractMessages(p)
				for _, m := range ms {
					ids = append(ids, m.ID)
				}
				return false, err
			})
		if err != nil {
			t.Errorf("list: %v", err)
		}
		listed <- ids
	}()
	held("the listing")
	id = post("l")
	if got := <-listed; len(got) != 1 || got[0] != id {
		t.Errorf("listed %v, want [%s]", got, id)
	}
}
