package ws

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// With [cors] origins listed, only their pages (and clients sending no
// Origin) may open a connection; with none, any origin may, as in Zaqar.
func TestAllowedOrigins(t *testing.T) {
	dial := func(e *env, origin string) int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		c, res, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			if res == nil {
				t.Fatalf("dial with Origin %q: %v", origin, err)
			}
			return res.StatusCode
		}
		c.CloseNow()
		return http.StatusSwitchingProtocols
	}
	listed := newEnv(t, envOptions{ws: Options{AllowedOrigins: []string{"http://app.example:8080", "not a url"}}})
	for origin, want := range map[string]int{
		"":                        http.StatusSwitchingProtocols,
		"http://app.example:8080": http.StatusSwitchingProtocols,
		"http://evil.example":     http.StatusForbidden,
		"http://app.example:9090": http.StatusForbidden,
	} {
		if got := dial(listed, origin); got != want {
			t.Errorf("listed origins, Origin %q: %d, want %d", origin, got, want)
		}
	}
	for _, origins := range [][]string{nil, {"*"}} {
		e := newEnv(t, envOptions{ws: Options{AllowedOrigins: origins}})
		if got := dial(e, "http://evil.example"); got != http.StatusSwitchingProtocols {
			t.Errorf("origins %v: another origin got %d", origins, got)
		}
	}
}
