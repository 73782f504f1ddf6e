package embedded_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/embedded"
	"github.com/zaqar-go/suite/zaqar-server/internal/storage/storagetest"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

func TestCatalogConformance(t *testing.T) {
	storagetest.RunCatalog(t, func(t *testing.T) storage.CatalogStore { return open(t, t.TempDir(), nil) })
}

// The catalog survives a restart, next to the queues.
func TestCatalogReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := embedded.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	pool := zaqar.Pool{Name: "p1", URI: "redis://localhost/1", Weight: 7, Flavor: "gold", Options: map[string]any{"n": json.Number("1")}}
	q := zaqar.QueueRef{Project: "proj", Name: "q"}
	if _, err := s.Pools().Put(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Flavors().Put(ctx, zaqar.Flavor{Project: "proj", Name: "gold"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Catalogue().Insert(ctx, q, "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Queues().Create(ctx, q, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = embedded.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Pools().Get(ctx, "p1")
	if err != nil || !reflect.DeepEqual(got, pool) {
		t.Errorf("pool after reopen = %+v, %v; want %+v", got, err, pool)
	}
	if _, err := s.Flavors().Get(ctx, "proj", "gold"); err != nil {
		t.Errorf("flavor after reopen: %v", err)
	}
	if p, err := s.Catalogue().Lookup(ctx, q); p != "p1" || err != nil {
		t.Errorf("placement after reopen = %q, %v", p, err)
	}
	if _, err := s.Queues().Get(ctx, q); err != nil {
		t.Errorf("queue after reopen: %v", err)
	}
}
