package testing

import (
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stackevents"

	"github.com/zaqar-go/suite/hooks/heatapi"
)

func TestSignal(t *testing.T) {
	c, seen := fakeHeat(t, http.StatusOK, signalOK)
	err := heatapi.Signal(t.Context(), c, stackName, stackID, "app_hooked", heatapi.UnsetHookOpts{Hook: "pre-create"}).ExtractErr()
	if err != nil {
		t.Fatal(err)
	}
	want := request{"POST", "/v1/" + project + "/stacks/hook-demo/" + stackID + "/resources/app_hooked/signal", "", `{"unset_hook":"pre-create"}`, "tok"}
	if len(*seen) != 1 || (*seen)[0] != want {
		t.Errorf("requests %+v, want %+v", *seen, want)
	}
}

func TestSignalEscapesResourceName(t *testing.T) {
	c, seen := fakeHeat(t, http.StatusOK, signalOK)
	if err := heatapi.Signal(t.Context(), c, stackName, stackID, "a b/c", heatapi.UnsetHookOpts{Hook: "pre-create"}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got, want := (*seen)[0].Path, "/v1/"+project+"/stacks/hook-demo/"+stackID+"/resources/a%20b%2Fc/signal"; got != want {
		t.Errorf("path %s, want %s", got, want)
	}
}

func TestSignalRequiresHook(t *testing.T) {
	c, seen := fakeHeat(t, http.StatusOK, signalOK)
	if err := heatapi.Signal(t.Context(), c, stackName, stackID, "r", heatapi.UnsetHookOpts{}).ExtractErr(); err == nil {
		t.Error("Signal without a hook: no error")
	}
	if len(*seen) != 0 {
		t.Errorf("sent %d requests", len(*seen))
	}
}

func TestSignalFaults(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		body        string
		wantType    string
		wantMessage string
	}{
		{"already cleared", 400, hookNotDefined, heatapi.InvalidBreakPointHook,
			`The "pre-create" hook is not defined on TestResource "app_hooked" Stack "hook-demo" [a954ebc4-28fa-4f40-9438-c42f8d66b93d]`},
		{"bad hook name", 400, hookInvalid, heatapi.InvalidBreakPointHook,
			`Invalid hook type "pre-bogus" for TestResource "app_hooked" Stack "hook-demo" [a954ebc4-28fa-4f40-9438-c42f8d66b93d]`},
		{"post-delete", 400, duringDelete, heatapi.NotSupported, "Signal resource during DELETE is not supported."},
		{"resource in a nested stack", 404, resourceNotFound, heatapi.ResourceNotFound, "The Resource (inner_a) could not be found in Stack nested-demo."},
		{"router", 404, routerNotFound, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := fakeHeat(t, tc.status, tc.body)
			err := heatapi.Signal(t.Context(), c, stackName, stackID, "app_hooked", heatapi.UnsetHookOpts{Hook: "pre-create"}).ExtractErr()
			f, ok := heatapi.FaultOf(err)
			if !ok {
				t.Fatalf("FaultOf(%v) found no fault", err)
			}
			if f.Status != tc.status || f.Type != tc.wantType || f.Message != tc.wantMessage {
				t.Errorf("fault %+v, want status %d type %q message %q", f, tc.status, tc.wantType, tc.wantMessage)
			}
			if f.Error() == "" {
				t.Error("empty Error()")
			}
		})
	}
}

func TestFaultOfOtherErrors(t *testing.T) {
	if _, ok := heatapi.FaultOf(nil); ok {
		t.Error("FaultOf(nil) found a fault")
	}
	if _, ok := heatapi.FaultOf(http.ErrServerClosed); ok {
		t.Error("FaultOf(non-HTTP error) found a fault")
	}
}

func TestCancel(t *testing.T) {
	for _, tc := range []struct {
		opts heatapi.CancelOpts
		body string
	}{
		{heatapi.CancelOpts{}, `{"cancel_without_rollback":null}`},
		{heatapi.CancelOpts{Rollback: true}, `{"cancel_update":null}`},
	} {
		c, seen := fakeHeat(t, http.StatusOK, "")
		if err := heatapi.Cancel(t.Context(), c, stackName, stackID, tc.opts).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		want := request{"POST", "/v1/" + project + "/stacks/hook-demo/" + stackID + "/actions", "", tc.body, "tok"}
		if (*seen)[0] != want {
			t.Errorf("Cancel(%+v) sent %+v, want %+v", tc.opts, (*seen)[0], want)
		}
	}
}

func TestEventListOpts(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts heatapi.EventListOpts
		want string
	}{
		{"none", heatapi.EventListOpts{}, ""},
		{"nested", heatapi.EventListOpts{NestedDepth: 2}, "?nested_depth=2"},
		{"asc nested", heatapi.EventListOpts{ListOpts: stackevents.ListOpts{SortDir: stackevents.SortAsc, Limit: 10}, NestedDepth: 3},
			"?limit=10&nested_depth=3&sort_dir=asc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.opts.ToStackEventListQuery()
			if err != nil || got != tc.want {
				t.Errorf("ToStackEventListQuery() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	// Through stackevents.List, as the nested events list of
	// heat-hook-nested.json was fetched.
	c, seen := fakeHeat(t, http.StatusOK, `{"events": []}`)
	pages, err := stackevents.List(c, "nested-demo", "73c2895f-d426-455d-bf63-e692e1c030ac",
		heatapi.EventListOpts{ListOpts: stackevents.ListOpts{SortDir: stackevents.SortAsc}, NestedDepth: 2}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if evs, _ := stackevents.ExtractEvents(pages); len(evs) != 0 {
		t.Errorf("%d events", len(evs))
	}
	if got := (*seen)[0].Query; got != "nested_depth=2&sort_dir=asc" {
		t.Errorf("query %q", got)
	}
}
