package memory_test

import (
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/memory"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
)

func TestCatalogConformance(t *testing.T) {
	storagetest.RunCatalog(t, func(t *testing.T) storage.CatalogStore { return memory.New() })
}
