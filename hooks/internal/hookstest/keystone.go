package hookstest

import (
	"testing"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/zaqar-go/suite/internal/testenv"
	"github.com/zaqar-go/suite/internal/zaqartest"
)

// HeatHint says how to get the environment the Heat tests need.
const HeatHint = "scripts/keystone start KDIR && scripts/heat start HDIR KDIR && export HOOKS_HEAT_ENV=HDIR/env; " +
	"the test repoints that Keystone's messaging endpoint while it runs, so give it a Keystone of its own"

// HeatEnv reads the env file of scripts/heat named by HOOKS_HEAT_ENV and
// the Keystone env file it names, merged (skips, or fails with
// ZAQAR_TEST_REQUIRE_ALL=1, when HOOKS_HEAT_ENV is not set).
func HeatEnv(t testing.TB) map[string]string {
	t.Helper()
	vars := ReadEnv(t, testenv.Env(t, "HOOKS_HEAT_ENV", HeatHint))
	for k, v := range ReadEnv(t, vars["HEAT_KEYSTONE_ENV"]) {
		if _, ok := vars[k]; !ok {
			vars[k] = v
		}
	}
	for _, k := range []string{"HEAT_URL", "KEYSTONE_URL", "KEYSTONE_ADMIN_PASSWORD", "KEYSTONE_DEMO_PASSWORD", "KEYSTONE_SERVICE_PASSWORD"} {
		if vars[k] == "" {
			t.Fatalf("%s not found through HOOKS_HEAT_ENV", k)
		}
	}
	return vars
}

// Provider authenticates as the Keystone user of kind (ADMIN, DEMO, ALT,
// SERVICE) that scripts/keystone created.
func Provider(t testing.TB, ks map[string]string, kind string) *gophercloud.ProviderClient {
	t.Helper()
	return zaqartest.Provider(t, ks, kind)
}

// KeystoneZaqarConf is a zaqar.conf for a server that validates tokens
// with that Keystone.
func KeystoneZaqarConf(ks map[string]string) string { return zaqartest.KeystoneConf(ks) }
