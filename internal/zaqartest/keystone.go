package zaqartest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/zaqar-go/suite/internal/cloud"
)

// ReadEnv reads the `export K=V` lines that scripts/keystone and
// scripts/heat write.
func ReadEnv(t testing.TB, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
			vars[k] = strings.Trim(v, `'"`)
		}
	}
	return vars
}

// Provider authenticates as the Keystone user of kind (ADMIN, DEMO, ALT,
// SERVICE) that scripts/keystone created, as ks (ReadEnv) describes.
func Provider(t testing.TB, ks map[string]string, kind string) *gophercloud.ProviderClient {
	t.Helper()
	pc, err := cloud.Provider(context.Background(), cloud.Config{Auth: gophercloud.AuthOptions{
		IdentityEndpoint: ks["KEYSTONE_URL"],
		Username:         ks["KEYSTONE_"+kind+"_USERNAME"],
		Password:         ks["KEYSTONE_"+kind+"_PASSWORD"],
		DomainName:       "Default",
		Scope:            &gophercloud.AuthScope{ProjectName: ks["KEYSTONE_"+kind+"_PROJECT"], DomainName: "Default"},
		AllowReauth:      true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// KeystoneConf is a zaqar.conf for a server that validates tokens with the
// Keystone ks describes.
func KeystoneConf(ks map[string]string) string {
	return fmt.Sprintf(`[DEFAULT]
auth_strategy = keystone
[keystone_authtoken]
auth_url = %[1]s
www_authenticate_uri = %[1]s
auth_type = password
username = %[2]s
password = %[3]s
project_name = %[4]s
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
`, ks["KEYSTONE_URL"], ks["KEYSTONE_SERVICE_USERNAME"], ks["KEYSTONE_SERVICE_PASSWORD"], ks["KEYSTONE_SERVICE_PROJECT"])
}
