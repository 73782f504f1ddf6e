package app

import (
	"strings"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/config"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
)

func TestOpenStoreMongoDB(t *testing.T) {
	cfg := config.Default()
	cfg.MessageStore = "mongodb"
	for _, tc := range []struct {
		name string
		opts map[string]string
		key  string
	}{
		{"no uri", map[string]string{}, "uri"},
		{"bad uri", map[string]string{"uri": "mongodb://"}, "uri"},
		{"bad partitions", map[string]string{"uri": "mongodb://h", "partitions": "0"}, "partitions"},
		{"bad max_attempts", map[string]string{"uri": "mongodb://h", "max_attempts": "x"}, "max_attempts"},
		{"bad max_retry_sleep", map[string]string{"uri": "mongodb://h", "max_retry_sleep": "-1"}, "max_retry_sleep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg.Stores["mongodb"] = tc.opts
			_, err := OpenStore(t.Context(), cfg)
			if want := "[drivers:message_store:mongodb] " + tc.key; err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("OpenStore = %v, want an error naming %q", err, want)
			}
		})
	}

	cfg.Stores["mongodb"] = map[string]string{
		"uri":      storagetest.RequireEnv(t, "ZAQAR_TEST_MONGODB_URL"),
		"database": "zaqar_app_test", "partitions": "8", "max_attempts": "100",
		"max_retry_sleep": "0.05", "max_retry_jitter": "0.001", "gc_interval": "10",
	}
	s, err := OpenStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping = %v", err)
	}
}
