package cloud

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tlsServer is an HTTPS server with its own CA, and that CA as a PEM file.
func tlsServer(t *testing.T) (string, string) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL, ca
}

func openrc(t *testing.T) {
	clearEnv(t)
	for k, v := range map[string]string{"OS_AUTH_URL": "https://127.0.0.1:5000/v3", "OS_USERNAME": "demo", "OS_PASSWORD": "pw", "OS_PROJECT_NAME": "demo"} {
		t.Setenv(k, v)
	}
}

// The CA bundle and insecure settings reach the HTTP client the clients
// use: from --os-cacert/--insecure, OS_CACERT/OS_INSECURE and clouds.yaml.
func TestTLS(t *testing.T) {
	url, ca := tlsServer(t)
	get := func(c Config) error {
		hc := HTTPClient(c.TLS)
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	cloudsYAML := filepath.Join(t.TempDir(), "clouds.yaml")
	os.WriteFile(cloudsYAML, []byte("clouds:\n  c:\n    auth: {auth_url: \"https://127.0.0.1:5000/v3\", username: demo, password: pw, project_name: demo}\n    cacert: "+ca+"\n"), 0o600)
	for _, tc := range []struct {
		name   string
		env    map[string]string
		opts   TLSOptions
		verify bool // the server's certificate is accepted
	}{
		{"system roots", nil, TLSOptions{}, false},
		{"--os-cacert", nil, TLSOptions{CACert: ca}, true},
		{"OS_CACERT", map[string]string{"OS_CACERT": ca}, TLSOptions{}, true},
		{"--insecure", nil, TLSOptions{Insecure: true}, true},
		{"OS_INSECURE", map[string]string{"OS_INSECURE": "true"}, TLSOptions{}, true},
		{"clouds.yaml cacert", map[string]string{"OS_AUTH_URL": "", "OS_CLOUD": "c", "OS_CLIENT_CONFIG_FILE": cloudsYAML}, TLSOptions{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			openrc(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := FromEnv(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := get(c); (err == nil) != tc.verify {
				t.Errorf("GET %s: %v, want accepted %v", url, err, tc.verify)
			}
		})
	}
}

func TestTLSErrors(t *testing.T) {
	openrc(t)
	if _, err := FromEnv(TLSOptions{CACert: "/nonexistent/ca.pem"}); err == nil || !strings.Contains(err.Error(), "CA bundle") {
		t.Errorf("missing CA bundle: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	if _, err := FromEnv(TLSOptions{CACert: notPEM}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CA bundle without a certificate: %v", err)
	}
	clearEnv(t)
	t.Setenv("OS_CLOUD", "prod")
	t.Setenv("HOME", "")
	t.Setenv("XDG_CONFIG_HOME", "")
	if _, err := FromEnv(TLSOptions{}); err == nil || !strings.Contains(err.Error(), "OS_CLOUD=prod, but $HOME is not set") {
		t.Errorf("OS_CLOUD without HOME: %v", err)
	}
}
