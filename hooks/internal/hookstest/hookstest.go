// Package hookstest runs what the hooks tests talk to: this repository's
// zaqar-server, built once per test binary and started on a free loopback
// port per test, and the settings of a throwaway Keystone and Heat
// (scripts/keystone, scripts/heat). hooks talks to all of them over HTTP
// only. Starting the server is shared with heatsink (internal/zaqartest).
package hookstest

import (
	"testing"

	"github.com/zaqar-go/suite/internal/zaqartest"
)

// Main builds nothing until a test needs the server, and removes the build
// when the tests end (shared with heatsink: internal/zaqartest).
func Main(m *testing.M) { zaqartest.Main(m) }

// StartZaqar runs zaqar-server with conf until the test ends and returns its URL.
func StartZaqar(t testing.TB, conf string) string { return zaqartest.Start(t, conf) }

// StartZaqarWaiters is zaqartest.StartWaiters: the server and how many
// requests it holds now (long polling).
func StartZaqarWaiters(t testing.TB, conf string) (string, func() int) {
	return zaqartest.StartWaiters(t, conf)
}

// ReadEnv reads the `export K=V` lines that scripts/keystone and
// scripts/heat write.
func ReadEnv(t testing.TB, file string) map[string]string {
	t.Helper()
	return zaqartest.ReadEnv(t, file)
}
