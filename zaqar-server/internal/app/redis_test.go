package app

import (
	"strings"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
)

func TestOpenStoreRedis(t *testing.T) {
	cfg := config.Default()
	cfg.MessageStore = "redis"
	cfg.Stores["redis"] = map[string]string{"uri": "redis://h1,h2"}
	if _, err := OpenStore(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "[drivers:message_store:redis] uri") {
		t.Errorf("OpenStore with a bad uri = %v, want an error naming the option", err)
	}

	cfg.Stores["redis"]["uri"] = storagetest.RequireEnv(t, "ZAQAR_TEST_REDIS_URL")
	s, err := OpenStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping = %v", err)
	}
}
