package rest_test

import (
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/service"
	"github.com/zaqar-go/suite/zaqar-server/internal/transport/rest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// TestWait: a claim and a listing with wait=S are answered when a post
// arrives (201 and a page); bad values are 400 in Zaqar's shape.
func TestWait(t *testing.T) {
	a := newAPIWith(t, nil, service.Options{Limits: zaqar.DefaultLimits()}, rest.Options{})
	claimed := make(chan resp, 1)
	go func() { claimed <- a.do("POST", "/v2/queues/lp/claims?wait=20&limit=1", "") }()
	listed := make(chan resp, 1)
	go func() { listed <- a.do("GET", "/v2/queues/lp2/messages?wait=20&echo=true", "") }()
	// Until both wait, a post is simply found by the first look.
	testenv.Eventually(t, "both to wait", time.Minute, time.Millisecond, func() bool { return a.svc.WaitStats().Waiting == 2 })
	a.expect("POST", "/v2/queues/lp/messages", `{"messages":[{"body":1}]}`, 201)
	a.expect("POST", "/v2/queues/lp2/messages", `{"messages":[{"body":2}]}`, 201)
	if r := <-claimed; r.status != 201 {
		t.Errorf("waiting claim = %d %s, want 201", r.status, r.body)
	}
	if r := <-listed; r.status != 200 || len(r.json(t)["messages"].([]any)) != 1 {
		t.Errorf("waiting listing = %d %s, want one message", r.status, r.body)
	}

	for _, tc := range []struct{ path, want string }{
		{"/v2/queues/lp/claims?wait=soon", `{"title":"Invalid parameter","description":"The \"wait\" parameter is invalid. The value must be an integer."}`},
		{"/v2/queues/lp/claims?wait=-1", `{"title":"Invalid API request","description":"Wait must be at least 0 seconds; at most 20 are honoured."}`},
		{"/v2/queues/lp/messages?wait=1.5", `{"title":"Invalid parameter","description":"The \"wait\" parameter is invalid. The value must be an integer."}`},
	} {
		method := "POST"
		if tc.path[len(tc.path)-len("messages?wait=1.5"):] == "messages?wait=1.5" {
			method = "GET"
		}
		equalJSON(t, a.expect(method, tc.path, "", 400).body, tc.want)
	}
	// wait=0 is today's answer.
	a.expect("POST", "/v2/queues/empty/claims?wait=0", "", 204)
}
