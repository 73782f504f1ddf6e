package testing

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
)

const (
	project   = "8de275f7b3cc4282abcfede9650f5ae9"
	stackName = "hook-demo"
	stackID   = "a954ebc4-28fa-4f40-9438-c42f8d66b93d"
)

// Heat 19's answers to POST .../resources/{r}/signal, from
// heat-hook-trace.json, heat-hook-nested.json and
// heat-hook-update-delete.json (tracebacks are null unless Heat runs with
// debug).
const (
	signalOK = `null`

	hookNotDefined = `{"code": 400, "error": {"message": "The \"pre-create\" hook is not defined on TestResource \"app_hooked\" Stack \"hook-demo\" [a954ebc4-28fa-4f40-9438-c42f8d66b93d]", "traceback": null, "type": "InvalidBreakPointHook"}, "explanation": "The server could not comply with the request since it is either malformed or otherwise incorrect.", "title": "Bad Request"}`

	hookInvalid = `{"code": 400, "error": {"message": "Invalid hook type \"pre-bogus\" for TestResource \"app_hooked\" Stack \"hook-demo\" [a954ebc4-28fa-4f40-9438-c42f8d66b93d]", "traceback": null, "type": "InvalidBreakPointHook"}, "explanation": "The server could not comply with the request since it is either malformed or otherwise incorrect.", "title": "Bad Request"}`

	duringDelete = `{"code": 400, "error": {"message": "Signal resource during DELETE is not supported.", "traceback": null, "type": "NotSupported"}, "explanation": "The server could not comply with the request since it is either malformed or otherwise incorrect.", "title": "Bad Request"}`

	resourceNotFound = `{"code": 404, "error": {"message": "The Resource (inner_a) could not be found in Stack nested-demo.", "traceback": null, "type": "ResourceNotFound"}, "explanation": "The resource could not be found.", "title": "Not Found"}`

	// The router's answer to a path it does not know (stacks/{id}/...).
	routerNotFound = `{"code": "404 Not Found", "message": "The resource could not be found.<br /><br />\n\n\n", "title": "Not Found"}`
)

// request is what the fake Heat saw.
type request struct {
	Method, Path, Query, Body, Token string
}

// fakeHeat answers every request with status and body and records it;
// read the record after the call returned.
func fakeHeat(t *testing.T, status int, body string) (*gophercloud.ServiceClient, *[]request) {
	t.Helper()
	var mu sync.Mutex
	var seen []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, request{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(b), r.Header.Get("X-Auth-Token")})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return &gophercloud.ServiceClient{
		ProviderClient: &gophercloud.ProviderClient{TokenID: "tok"},
		Endpoint:       srv.URL + "/v1/" + project + "/",
		Type:           "orchestration",
	}, &seen
}
