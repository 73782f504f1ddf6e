package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
)

// These tests run zaqar-server with auth_strategy = keystone against the
// real Keystone that scripts/keystone starts (its DIR/env sets KEYSTONE_*).

type keystoneEnv struct{ url string }

func requireKeystone(t *testing.T) keystoneEnv {
	t.Helper()
	return keystoneEnv{url: storagetest.RequireEnv(t, "KEYSTONE_URL")}
}

// token authenticates a user of the test Keystone, scoped to its project.
func (k keystoneEnv) token(t *testing.T, kind string) string {
	t.Helper()
	get := func(s string) string { return os.Getenv("KEYSTONE_" + kind + "_" + s) }
	body := map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": get("USERNAME"), "password": get("PASSWORD"), "domain": map[string]string{"name": "Default"}}}},
		"scope": map[string]any{"project": map[string]any{"name": get("PROJECT"), "domain": map[string]string{"name": "Default"}}},
	}}
	b, _ := json.Marshal(body)
	res, err := http.Post(k.url+"/auth/tokens", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("token for %s: Keystone answered %d", kind, res.StatusCode)
	}
	return res.Header.Get("X-Subject-Token")
}

// serve runs the whole server (app.Run) with Keystone auth on a free port.
func serveWithKeystone(t *testing.T, k keystoneEnv, edit func(*config.Config)) string {
	t.Helper()
	cfg := config.Default()
	cfg.MessageStore = "memory"
	cfg.AuthStrategy = "keystone"
	cfg.AdminMode = true
	cfg.SignedURLKey = "integration-secret"
	cfg.Keystone = config.Keystone{AuthURL: k.url, Username: os.Getenv("KEYSTONE_SERVICE_USERNAME"),
		Password: os.Getenv("KEYSTONE_SERVICE_PASSWORD"), ProjectName: os.Getenv("KEYSTONE_SERVICE_PROJECT"),
		UserDomainName: "Default", ProjectDomainName: "Default", RegionName: "RegionOne"}
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return serve(t, cfg)
}

type call struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url, token, body string, hdr ...string) call {
	t.Helper()
	if token != "" {
		hdr = append([]string{"X-Auth-Token", token}, hdr...)
	}
	status, h, b := send(t, method, url, body, hdr...)
	return call{status: status, header: h, body: b}
}

func must(t *testing.T, c call, status int, what string) call {
	t.Helper()
	if c.status != status {
		t.Fatalf("%s = %d %s, want %d", what, c.status, c.body, status)
	}
	return c
}

func TestKeystoneAuthentication(t *testing.T) {
	k := requireKeystone(t)
	base := serveWithKeystone(t, k, nil)
	demo := k.token(t, "DEMO")

	c := must(t, do(t, "GET", base+"/v2/queues", "", ""), 401, "no token")
	if h := c.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, `Keystone uri="`) {
		t.Errorf("WWW-Authenticate = %q", h)
	}
	must(t, do(t, "GET", base+"/v2/queues", "gAAAAAbogus", ""), 401, "garbage token")
	must(t, do(t, "GET", base+"/", "", ""), 300, "versions without a token")

	// The token's project wins over a forged X-Project-ID.
	must(t, do(t, "PUT", base+"/v2/queues/mine", demo, "", "X-Project-ID", os.Getenv("KEYSTONE_ALT_PROJECT_ID")), 201, "create as demo")
	alt := k.token(t, "ALT")
	c = must(t, do(t, "GET", base+"/v2/queues", alt, ""), 200, "list as alt")
	if strings.Contains(string(c.body), "mine") {
		t.Fatalf("alt sees demo's queue: %s", c.body)
	}
	c = must(t, do(t, "GET", base+"/v2/queues", demo, ""), 200, "list as demo")
	if !strings.Contains(string(c.body), `"name":"mine"`) {
		t.Fatalf("demo does not see its queue: %s", c.body)
	}

	// Policy: health is admin-only.
	must(t, do(t, "GET", base+"/v2/health", demo, ""), 403, "health as member")
	must(t, do(t, "GET", base+"/v2/health", k.token(t, "ADMIN"), ""), 200, "health as admin")

	// Pre-signed URLs need no token, and only open what they sign.
	c = must(t, do(t, "POST", base+"/v2/queues/mine/share", demo, `{"methods":["GET","POST"]}`), 200, "share")
	var u map[string]any
	json.Unmarshal(c.body, &u)
	signed := []string{"URL-Signature", u["signature"].(string), "URL-Expires", u["expires"].(string),
		"URL-Methods", "GET,POST", "URL-Paths", "/v2/queues/mine/messages", "X-Project-ID", u["project"].(string)}
	must(t, do(t, "POST", base+"/v2/queues/mine/messages", "", `{"messages":[{"body":"signed"}]}`, signed...), 201, "signed post")
	must(t, do(t, "GET", base+"/v2/queues/mine/stats", "", "", signed...), 404, "signed request outside its paths")
	must(t, do(t, "GET", base+"/v2/queues/mine/messages", "", "", append(signed[2:], "URL-Signature", "")...), 404, "empty signature")
	if u["project"] != os.Getenv("KEYSTONE_DEMO_PROJECT_ID") {
		t.Errorf("signed project = %v, want demo's", u["project"])
	}
}

// TestKeystoneIsolation: a project never sees or touches another's
// queues, messages, claims or subscriptions, even with the right ids.
func TestKeystoneIsolation(t *testing.T) {
	k := requireKeystone(t)
	base := serveWithKeystone(t, k, nil)
	demo, alt := k.token(t, "DEMO"), k.token(t, "ALT")
	q := base + "/v2/queues/shared-name"

	must(t, do(t, "PUT", q, demo, `{"owner":"demo"}`), 201, "demo creates")
	c := must(t, do(t, "POST", q+"/messages", demo, `{"messages":[{"body":1},{"body":2},{"body":3}]}`), 201, "demo posts")
	var posted struct{ Resources []string }
	json.Unmarshal(c.body, &posted)
	msg := base + posted.Resources[0]
	c = must(t, do(t, "POST", q+"/claims?limit=1", demo, `{"ttl":300}`), 201, "demo claims")
	claim := base + c.header.Get("Location")
	c = must(t, do(t, "POST", q+"/subscriptions", demo, `{"subscriber":"http://example.com/hook"}`), 201, "demo subscribes")
	var sub struct {
		SubscriptionID string `json:"subscription_id"`
	}
	json.Unmarshal(c.body, &sub)
	subURL := q + "/subscriptions/" + sub.SubscriptionID
	msgID := posted.Resources[1][strings.LastIndex(posted.Resources[1], "/")+1:]

	// What alt gets on every route with demo's names and ids.
	for _, tc := range []struct {
		method, url, body string
		status            int
	}{
		{"GET", q, "", 200}, // defaults only
		{"GET", q + "/stats", "", 200},
		{"GET", q + "/messages?echo=true", "", 200},
		{"GET", msg, "", 404},
		{"GET", q + "/messages?ids=" + msgID, "", 404},
		{"DELETE", msg, "", 204},
		{"DELETE", q + "/messages?ids=" + msgID, "", 204},
		{"DELETE", q + "/messages?pop=5", "", 200},
		{"GET", claim, "", 404},
		{"PATCH", claim, `{"ttl":100}`, 404},
		{"DELETE", claim, "", 204},
		{"POST", q + "/claims", "", 204},
		{"GET", subURL, "", 404},
		{"PATCH", subURL, `{"ttl":100}`, 404},
		{"PUT", subURL + "/confirm", `{"confirmed":true}`, 404},
		{"DELETE", subURL, "", 204},
		{"GET", q + "/subscriptions", "", 200},
		{"POST", q + "/purge", "", 204},
		{"PATCH", q, `[{"op":"add","path":"/metadata/owner","value":"alt"}]`, 404},
		{"DELETE", q, "", 204},
	} {
		var hdr []string
		if tc.method == "PATCH" && tc.url == q {
			hdr = []string{"Content-Type", "application/openstack-messaging-v2.0-json-patch"}
		}
		c := do(t, tc.method, tc.url, alt, tc.body, hdr...)
		if c.status != tc.status {
			t.Errorf("alt %s %s = %d %s, want %d", tc.method, tc.url, c.status, c.body, tc.status)
		}
		// Errors may repeat the ids alt sent; data of demo's must never show.
		if bytes.Contains(c.body, []byte(`"owner"`)) || bytes.Contains(c.body, []byte("example.com/hook")) || bytes.Contains(c.body, []byte(`"body":`)) {
			t.Errorf("alt %s %s leaks demo's data: %s", tc.method, tc.url, c.body)
		}
	}

	// Demo's data is all still there.
	c = must(t, do(t, "GET", q, demo, ""), 200, "demo metadata")
	if !strings.Contains(string(c.body), `"owner":"demo"`) {
		t.Errorf("demo metadata = %s", c.body)
	}
	c = must(t, do(t, "GET", q+"/stats", demo, ""), 200, "demo stats")
	if !strings.Contains(string(c.body), `"claimed":1`) || !strings.Contains(string(c.body), `"total":3`) {
		t.Errorf("demo stats after alt's attempts = %s", c.body)
	}
	must(t, do(t, "GET", claim, demo, ""), 200, "demo claim")
	must(t, do(t, "GET", subURL, demo, ""), 200, "demo subscription")
	must(t, do(t, "GET", msg, demo, ""), 200, "demo message")
}

// TestKeystoneTrustSubscriber: a trust+http subscriber is notified with a
// token scoped to a trust of the subscribing user.
func TestKeystoneTrustSubscriber(t *testing.T) {
	k := requireKeystone(t)
	base := serveWithKeystone(t, k, func(c *config.Config) { c.Notification.BlockInternalWebhooks = false })
	demo := k.token(t, "DEMO")
	got := make(chan string, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("X-Auth-Token")
	}))
	defer hook.Close()
	must(t, do(t, "POST", base+"/v2/queues/trusted/subscriptions", demo, `{"subscriber":"trust+`+hook.URL+`"}`), 201, "trust subscription")
	c := must(t, do(t, "GET", base+"/v2/queues/trusted/subscriptions", demo, ""), 200, "list")
	if !strings.Contains(string(c.body), `"trust_id":"`) {
		t.Fatalf("no trust_id stored: %s", c.body)
	}
	must(t, do(t, "POST", base+"/v2/queues/trusted/messages", demo, `{"messages":[{"body":"t"}]}`), 201, "post")
	var token string
	select {
	case token = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("trust subscriber not notified")
	}
	// The token works as the demo project: the server accepts it.
	c = must(t, do(t, "GET", base+"/v2/queues", token, ""), 200, "queues with the trust token")
	if !strings.Contains(string(c.body), `"name":"trusted"`) {
		t.Errorf("trust token does not act for demo: %s", c.body)
	}
}
