package keystone

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaqar-go/suite/internal/testenv"
)

// fakeKeystone answers the few Keystone v3 calls the package makes with
// canned JSON, to test error mapping, caching and re-authentication. What
// Keystone really does is tested against the real one (integration_test.go).
type fakeKeystone struct {
	srv *httptest.Server

	mu            sync.Mutex
	password      string            // the service user's
	serviceToken  string            // the one currently accepted
	issued        int               // service tokens issued
	users         map[string]string // user token -> token document (JSON)
	validations   int               // GET /v3/auth/tokens
	status        int               // forced status for GET /v3/auth/tokens
	authStatus    int               // forced status for POST /v3/auth/tokens
	block         chan struct{}     // GET /v3/auth/tokens waits for it when set
	trustAuth     string            // X-Auth-Token of the last trust creation
	trustBody     map[string]any    // body of the last trust creation
	trustStatus   int               // forced status for trust creation
	trustScoped   string            // trust id of the last trust-scoped authentication
	lastSubjectOK bool              // the last GET had nocatalog and the service token
}

const fakePassword = "s3cret"

func newFakeKeystone(t testing.TB) *fakeKeystone {
	fk := &fakeKeystone{password: fakePassword, users: map[string]string{}}
	fk.srv = httptest.NewServer(http.HandlerFunc(fk.serve))
	t.Cleanup(fk.srv.Close)
	return fk
}

func (fk *fakeKeystone) url() string { return fk.srv.URL + "/v3" }

// addToken makes token valid with this document (the "token" object).
func (fk *fakeKeystone) addToken(token string, doc string) {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	fk.users[token] = `{"token": ` + doc + `}`
}

// rotate makes Keystone refuse the current service token, as after expiry.
func (fk *fakeKeystone) rotate() {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	fk.serviceToken = "expired"
}

func (fk *fakeKeystone) set(f func(fk *fakeKeystone)) {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	f(fk)
}

func (fk *fakeKeystone) count() int {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	return fk.validations
}

func keystoneErrorDoc(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error": {"code": %d, "message": %q, "title": %q}}`, code, msg, http.StatusText(code))
}

const fakeCatalog = `[
	{"type": "identity", "name": "keystone", "id": "k", "endpoints": [
		{"id": "1", "interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "http://keystone/v3"}]},
	{"type": "messaging", "name": "zaqar", "id": "z", "endpoints": [
		{"id": "2", "interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "http://zaqar-one:8888"},
		{"id": "3", "interface": "internal", "region": "RegionOne", "region_id": "RegionOne", "url": "http://zaqar-internal:8888"},
		{"id": "4", "interface": "public", "region": "RegionTwo", "region_id": "RegionTwo", "url": "http://zaqar-two:8888"}]}
]`

func (fk *fakeKeystone) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v3/auth/tokens":
		fk.authenticate(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/v3/auth/tokens":
		fk.validate(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/v3/OS-TRUST/trusts":
		fk.createTrust(w, r)
	default:
		keystoneErrorDoc(w, http.StatusNotFound, "no route "+r.Method+" "+r.URL.Path)
	}
}

func (fk *fakeKeystone) authenticate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Auth struct {
			Identity struct {
				Password struct {
					User struct {
						Name     string `json:"name"`
						Password string `json:"password"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope map[string]json.RawMessage `json:"scope"`
		} `json:"auth"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		keystoneErrorDoc(w, http.StatusBadRequest, err.Error())
		return
	}
	fk.mu.Lock()
	defer fk.mu.Unlock()
	if fk.authStatus != 0 {
		keystoneErrorDoc(w, fk.authStatus, "forced")
		return
	}
	u := body.Auth.Identity.Password.User
	if u.Name != "zaqar" || u.Password != fk.password {
		keystoneErrorDoc(w, http.StatusUnauthorized, "The request you have made requires authentication.")
		return
	}
	expires := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000000Z")
	if trust, ok := body.Auth.Scope["OS-TRUST:trust"]; ok {
		var t struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(trust, &t)
		if t.ID != "trust-1" {
			keystoneErrorDoc(w, http.StatusNotFound, "Could not find trust: "+t.ID)
			return
		}
		fk.trustScoped = t.ID
		w.Header().Set("X-Subject-Token", "trust-token-1")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token": {"expires_at": %q, "user": {"id": "demo-user"}, "project": {"id": "demo"},
			"roles": [{"name": "member"}], "OS-TRUST:trust": {"id": "trust-1"}}}`, expires)
		return
	}
	fk.issued++
	fk.serviceToken = fmt.Sprintf("svc-%d", fk.issued)
	w.Header().Set("X-Subject-Token", fk.serviceToken)
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"token": {"expires_at": %q, "user": {"id": "zaqar-id", "name": "zaqar"},
		"project": {"id": "service-id", "name": "service"}, "roles": [{"name": "admin"}], "catalog": %s}}`,
		expires, fakeCatalog)
}

func (fk *fakeKeystone) validate(w http.ResponseWriter, r *http.Request) {
	fk.mu.Lock()
	fk.validations++
	block := fk.block
	fk.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	fk.mu.Lock()
	defer fk.mu.Unlock()
	fk.lastSubjectOK = r.URL.Query().Has("nocatalog") && r.Header.Get("X-Auth-Token") == fk.serviceToken
	if r.Header.Get("X-Auth-Token") != fk.serviceToken {
		keystoneErrorDoc(w, http.StatusUnauthorized, "The request you have made requires authentication.")
		return
	}
	if fk.status != 0 {
		keystoneErrorDoc(w, fk.status, "forced")
		return
	}
	subject := r.Header.Get("X-Subject-Token")
	doc, ok := fk.users[subject]
	if !ok {
		// Keystone's message may quote the token: it must not leak further.
		keystoneErrorDoc(w, http.StatusNotFound, "Could not find token: "+subject)
		return
	}
	w.Header().Set("X-Subject-Token", subject)
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, doc)
}

func (fk *fakeKeystone) createTrust(w http.ResponseWriter, r *http.Request) {
	fk.mu.Lock()
	defer fk.mu.Unlock()
	fk.trustAuth = r.Header.Get("X-Auth-Token")
	fk.trustBody = nil
	_ = json.NewDecoder(r.Body).Decode(&fk.trustBody)
	if fk.trustStatus != 0 {
		keystoneErrorDoc(w, fk.trustStatus, "forced trust failure")
		return
	}
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"trust": {"id": "trust-1", "impersonation": true}}`)
}

// userDoc is a project-scoped token document for user in project.
func userDoc(user, project string, expires time.Time, roles ...string) string {
	var rs []string
	for _, r := range roles {
		rs = append(rs, fmt.Sprintf(`{"id": "%s-id", "name": %q}`, r, r))
	}
	return fmt.Sprintf(`{"expires_at": %q, "methods": ["password"],
		"user": {"id": "%s-id", "name": %q, "domain": {"id": "default", "name": "Default"}},
		"project": {"id": "%s-id", "name": %q, "domain": {"id": "default", "name": "Default"}},
		"roles": [%s]}`,
		expires.UTC().Format("2006-01-02T15:04:05.000000Z"), user, user, project, project, strings.Join(rs, ", "))
}

// clock is a settable time source for cache expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTestValidator returns a Validator on fk with a settable clock and a
// log captured in buf.
func newTestValidator(t testing.TB, fk *fakeKeystone, edit func(*Config)) (*Validator, *clock, *testenv.SyncBuffer) {
	t.Helper()
	buf := &testenv.SyncBuffer{}
	cfg := Config{
		AuthURL:           fk.url(),
		Username:          "zaqar",
		Password:          fakePassword,
		ProjectName:       "service",
		UserDomainName:    "Default",
		ProjectDomainName: "Default",
		Timeout:           5 * time.Second,
		Logger:            slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	v, err := New(t.Context(), cfg)
	requireNoError(t, err)
	c := &clock{now: time.Now()}
	v.now = c.Now
	return v, c, buf
}

func requireNoError(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}
