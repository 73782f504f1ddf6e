package cloud

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
)

// clearEnv unsets every OS_* variable for the test.
func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OS_") {
			t.Setenv(k, "")
		}
	}
}

func TestFromEnvOpenrc(t *testing.T) {
	clearEnv(t)
	// What scripts/keystone's demo-openrc and devstack's openrc set.
	for k, v := range map[string]string{
		"OS_AUTH_URL": "http://127.0.0.1:5000/v3", "OS_USERNAME": "demo", "OS_PASSWORD": "pw",
		"OS_PROJECT_NAME": "demo", "OS_USER_DOMAIN_NAME": "Users", "OS_PROJECT_DOMAIN_NAME": "Projects",
		"OS_REGION_NAME": "RegionOne", "OS_INTERFACE": "internal", "OS_IDENTITY_API_VERSION": "3",
	} {
		t.Setenv(k, v)
	}
	c, err := FromEnv(TLSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := c.Auth
	if a.Username != "demo" || a.DomainName != "Users" || a.Scope == nil || a.Scope.ProjectName != "demo" ||
		a.Scope.DomainName != "Projects" || !a.AllowReauth {
		t.Errorf("auth = %+v, scope %+v", a, a.Scope)
	}
	if c.Endpoint.Region != "RegionOne" || c.Endpoint.Availability != gophercloud.AvailabilityInternal {
		t.Errorf("endpoint = %+v", c.Endpoint)
	}

	t.Setenv("OS_PROJECT_DOMAIN_NAME", "")
	t.Setenv("OS_PROJECT_ID", "p1")
	c, err = FromEnv(TLSOptions{})
	if err != nil || c.Auth.Scope.ProjectID != "p1" || c.Auth.Scope.ProjectName != "" {
		t.Errorf("with OS_PROJECT_ID: %+v, %v", c.Auth.Scope, err)
	}
	t.Setenv("OS_PASSWORD", "")
	if _, err := FromEnv(TLSOptions{}); err == nil || !strings.Contains(err.Error(), "OS_PASSWORD") {
		t.Errorf("without password: %v", err)
	}
}

func TestFromEnvCloudsYAML(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "clouds.yaml")
	err := os.WriteFile(file, []byte(`clouds:
  mine:
    auth: {auth_url: "http://127.0.0.1:5000/v3", username: demo, password: pw, project_name: demo,
           user_domain_name: Default, project_domain_name: Default}
    region_name: RegionTwo
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("OS_CLIENT_CONFIG_FILE", file)
	t.Setenv("OS_CLOUD", "mine")
	c, err := FromEnv(TLSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Auth.Username != "demo" || c.Endpoint.Region != "RegionTwo" {
		t.Errorf("config = %+v", c)
	}
}

func TestReadSignedURL(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(file, []byte(`{"endpoint": "http://z:8888", "queue": "q", "project": "p", "paths": ["/v2/queues/q/messages"],
		"methods": ["GET", "POST"], "expires": "2030-01-01T00:00:00", "signature": "abc"}`), 0o600)
	u, err := ReadSignedURL(file)
	if err != nil {
		t.Fatal(err)
	}
	sc := Signed(u)
	h := sc.MoreHeaders
	if h["URL-Methods"] != "GET,POST" || h["URL-Paths"] != "/v2/queues/q/messages" || h["X-Project-ID"] != "p" ||
		h["URL-Signature"] != "abc" || h["Client-ID"] == "" || sc.Endpoint != "http://z:8888/" {
		t.Errorf("signed client = %s %v", sc.Endpoint, h)
	}
	os.WriteFile(file, []byte(`{"endpoint": "http://z:8888"}`), 0o600)
	if _, err := ReadSignedURL(file); err == nil {
		t.Error("incomplete signed URL accepted")
	}
}
