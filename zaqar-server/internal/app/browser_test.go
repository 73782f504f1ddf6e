package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/testserver"
)

// corsPage calls the REST API (a POST, which needs a preflight, then a
// GET reading an exposed header) and the WebSocket API from its own
// origin, and reports what it could do to the server it came from.
const corsPage = `<!doctype html><html><body><pre id="out">running</pre><script>
const api = "API", wsURL = "WS";
const h = {"Client-ID": "3381af92-2b9e-11e3-b191-71861300734c", "X-Project-ID": "browser", "Content-Type": "application/json"};
async function run() {
  const out = {};
  try {
    const r = await fetch(api + "/v2/queues/cors/messages", {method: "POST", headers: h,
      body: JSON.stringify({messages: [{body: "from " + location.origin, ttl: 300}]})});
    out.post = r.status;
  } catch (e) { out.post = "blocked"; }
  try {
    const r = await fetch(api + "/v2/queues/cors/messages?echo=true", {headers: h});
    out.list = r.status;
    out.requestID = r.headers.get("X-OpenStack-Request-ID") ? "exposed" : "hidden";
    out.bodies = (await r.json()).messages.map(m => m.body);
  } catch (e) { out.list = "blocked"; }
  out.ws = await new Promise(done => {
    const s = new WebSocket(wsURL);
    s.onopen = () => s.send(JSON.stringify({action: "queue_list", headers: {"Client-ID": h["Client-ID"], "X-Project-ID": "browser"}}));
    s.onmessage = m => { done("answered " + JSON.parse(m.data).headers.status); s.close(); };
    s.onerror = () => done("refused");
    s.onclose = e => done("closed " + e.code);
  });
  // Reported to the page's own server (same origin), in real time.
  await fetch("/result", {method: "POST", body: JSON.stringify(out)});
}
run();
</script></body></html>`

// TestCORSInBrowser loads a page from another origin in a real headless
// Chromium: the origin listed in [cors] allowed_origin uses both APIs;
// another (the same page under localhost) can do neither.
func TestCORSInBrowser(t *testing.T) {
	chromium := testenv.LookPath(t, "chromium", "apt-get install chromium")
	results := make(chan []byte, 1)
	// Written once the server's ports are known, after the page server
	// (whose port the allowed origin names) has started.
	var pageBody atomic.Pointer[string]
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/result" {
			b, _ := io.ReadAll(r.Body)
			results <- b
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(*pageBody.Load()))
	}))
	defer page.Close()
	_, pagePort, _ := net.SplitHostPort(strings.TrimPrefix(page.URL, "http://"))

	cfg := config.Default()
	cfg.MessageStore, cfg.ManagementStore = "memory", "memory"
	cfg.WebSocket.Port = testserver.FreePort(t)
	cfg.CORS.AllowedOrigins = []string{"http://127.0.0.1:" + pagePort}
	cfg.CORS.AllowHeaders = append(cfg.CORS.AllowHeaders, "X-Project-ID") // no Keystone: the page names its project
	base := serve(t, cfg)
	body := strings.NewReplacer("API", base, "WS", "ws://127.0.0.1:"+strconv.Itoa(cfg.WebSocket.Port)+"/").Replace(corsPage)
	pageBody.Store(&body)

	run := func(url string) map[string]any {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
			"--user-data-dir="+t.TempDir(), url)
		// Chromium starts helper processes: end the whole group, and do
		// not wait on pipes they may still hold.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 5 * time.Second
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); cmd.Wait() }() // the browser runs until the page has reported
		select {
		case b := <-results:
			var res map[string]any
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatalf("page result %s: %v", b, err)
			}
			return res
		case <-time.After(90 * time.Second):
			t.Fatalf("the page at %s reported nothing; chromium said:\n%s", url, stderr.String())
		}
		return nil
	}
	allowed := run("http://127.0.0.1:" + pagePort + "/")
	if allowed["post"] != 201.0 || allowed["list"] != 200.0 || allowed["requestID"] != "exposed" || allowed["ws"] != "answered 200" {
		t.Errorf("allowed origin: %v", allowed)
	}
	if b, _ := allowed["bodies"].([]any); len(b) != 1 || b[0] != "from http://127.0.0.1:"+pagePort {
		t.Errorf("allowed origin read %v", allowed["bodies"])
	}
	refused := run("http://localhost:" + pagePort + "/")
	if refused["post"] != "blocked" || refused["list"] != "blocked" || refused["ws"] != "refused" {
		t.Errorf("another origin: %v", refused)
	}
	// The refused page's POST never reached the queue.
	_, b := request(t, "GET", base+"/v2/queues/cors/stats", "browser", "", "")
	if !strings.Contains(string(b), `"total":1`) {
		t.Errorf("stats after both pages: %s", b)
	}
}
