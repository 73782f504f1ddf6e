// Package storagetest is the conformance suite every storage driver must pass
// unchanged: the Go form of Zaqar's zaqar/tests/unit/storage/base.py, which
// each Zaqar driver subclasses. The doc comments of package storage are the
// contract; each case here checks one behaviour they promise.
//
// A driver runs the suite from its own test file:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store {
//			s := memory.New()
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// A networked driver first asks for its server, so a missing one skips the
// test locally and fails it in CI (ZAQAR_TEST_REQUIRE_ALL=1):
//
//	url := storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL")
//
// Run calls newStore once per case, and several times in the multi-node case,
// whose stores must then share state as separate API nodes on one backend
// would (drivers whose stores share nothing, like memory, skip that case). Every
// case works in its own random project, so cases run in parallel against one
// shared server and never need it cleaned. Stores keep their own clock, so
// cases that wait for a TTL use short TTLs and poll for the expected state.
//
// Bench runs the same operations as benchmarks:
//
//	func BenchmarkStore(b *testing.B) {
//		storagetest.Bench(b, func(tb testing.TB) storage.Store { ... })
//	}
package storagetest
