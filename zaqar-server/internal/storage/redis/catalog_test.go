package redis_test

import (
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/redis"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
)

func TestCatalogConformance(t *testing.T) {
	url := storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL")
	storagetest.RunCatalog(t, func(t *testing.T) storage.CatalogStore {
		s, err := redis.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
