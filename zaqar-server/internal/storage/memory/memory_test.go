package memory_test

import (
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s := memory.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConformanceShared runs every case on one store, as API nodes sharing a
// server would: MultiNodeClaim and the shared-server isolation paths run.
func TestConformanceShared(t *testing.T) {
	s := memory.New()
	storagetest.Run(t, func(t *testing.T) storage.Store { return s })
}

func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(tb testing.TB) storage.Store { return memory.New() })
}
