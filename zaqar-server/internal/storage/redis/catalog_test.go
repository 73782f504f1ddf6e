package redis_test

import (
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
)

func TestCatalogConformance(t *testing.T) {
	url := storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL")
	storagetest.RunCatalog(t, func(t *testing.T) storage.CatalogStore { return open(t, url) })
}
