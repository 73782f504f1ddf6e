package storagetest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// RunCatalog runs the conformance cases of the pooling catalog
// (storage.CatalogStore) against catalogs from newCatalog. Pools are
// global, so every case names its pools and URIs with a random prefix and
// looks only at those: cases run in parallel on one server.
func RunCatalog(t *testing.T, newCatalog func(t *testing.T) storage.CatalogStore) {
	for _, c := range []struct {
		name string
		fn   func(e *catalogEnv)
	}{
		{"PoolPutGet", testPoolPutGet},
		{"PoolURIUnique", testPoolURIUnique},
		{"PoolUpdate", testPoolUpdate},
		{"PoolDelete", testPoolDelete},
		{"PoolList", testPoolList},
		{"Flavors", testFlavors},
		{"FlavorList", testFlavorList},
		{"Catalogue", testCatalogue},
		{"CatalogueRace", testCatalogueRace},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newCatalog(t)
			if s == nil {
				t.Fatal("newCatalog returned nil")
			}
			e := &catalogEnv{t: t, ctx: t.Context(), s: s, prefix: newProject() + "-"}
			// Pools are global: leave none behind on a shared server.
			t.Cleanup(func() {
				ctx := context.Background()
				ps, _ := s.Pools().List(ctx, e.prefix, 0)
				for _, p := range ps {
					if strings.HasPrefix(p.Name, e.prefix) {
						s.Pools().Delete(ctx, p.Name)
					}
				}
			})
			c.fn(e)
		})
	}
}

type catalogEnv struct {
	t      *testing.T
	ctx    context.Context
	s      storage.CatalogStore
	prefix string // of this case's pool names, URIs and projects
}

func (e *catalogEnv) pool(name string, weight int64) zaqar.Pool {
	return zaqar.Pool{Name: e.prefix + name, URI: "memory://" + e.prefix + name, Weight: weight}
}

func (e *catalogEnv) put(p zaqar.Pool) {
	e.t.Helper()
	created, err := e.s.Pools().Put(e.ctx, p)
	require_NoError(e.t, err, "put pool "+p.Name)
	require_True(e.t, created, "created "+p.Name)
}

func (e *catalogEnv) get(name string) zaqar.Pool {
	e.t.Helper()
	p, err := e.s.Pools().Get(e.ctx, name)
	require_NoError(e.t, err, "get pool "+name)
	return p
}

// names lists this case's pools, limit at a time from marker.
func (e *catalogEnv) names(marker string, limit int) []string {
	e.t.Helper()
	if marker == "" {
		marker = e.prefix
	}
	ps, err := e.s.Pools().List(e.ctx, marker, limit)
	require_NoError(e.t, err, "list pools")
	if limit > 0 && len(ps) > limit {
		e.t.Fatalf("list pools returned %d, limit %d", len(ps), limit)
	}
	var out []string
	for _, p := range ps {
		if !strings.HasPrefix(p.Name, e.prefix) {
			break // the names of one case are contiguous
		}
		out = append(out, p.Name)
	}
	return out
}

func testPoolPutGet(e *catalogEnv) {
	_, err := e.s.Pools().Get(e.ctx, e.prefix+"missing")
	require_Error(e.t, err, storage.ErrPoolNotFound)

	in := e.pool("a", 100)
	in.Flavor = "gold"
	in.Options = map[string]any{"n": json.Number("9007199254740993"), "deep": map[string]any{"s": "v"}}
	e.put(in)
	got := e.get(in.Name)
	want := in
	want.Options = map[string]any{"n": json.Number("9007199254740993"), "deep": map[string]any{"s": "v"}}
	require_DeepEqual(e.t, got, want, "pool after put")

	// Stored by value, both ways.
	in.Options["n"] = "changed"
	got.Options["deep"].(map[string]any)["s"] = "changed"
	require_DeepEqual(e.t, e.get(in.Name), want, "pool after changing maps")

	// A second Put replaces the record.
	repl := zaqar.Pool{Name: in.Name, URI: in.URI + "-2", Weight: 0}
	created, err := e.s.Pools().Put(e.ctx, repl)
	require_NoError(e.t, err)
	require_True(e.t, !created, "second put reports created=false")
	got = e.get(in.Name)
	require_Equal(e.t, got.URI, repl.URI, "uri replaced")
	require_Equal(e.t, got.Weight, int64(0), "weight replaced")
	require_Equal(e.t, got.Flavor, "", "flavor replaced")
	require_Equal(e.t, len(got.Options), 0, "options replaced")
}

func testPoolURIUnique(e *catalogEnv) {
	a, b := e.pool("a", 1), e.pool("b", 1)
	e.put(a)
	e.put(b)
	taken := b
	taken.URI = a.URI
	_, err := e.s.Pools().Put(e.ctx, taken)
	require_Error(e.t, err, storage.ErrPoolURIInUse)
	require_Equal(e.t, e.get(b.Name).URI, b.URI, "uri after a refused put")
	other := e.pool("c", 1)
	other.URI = a.URI
	_, err = e.s.Pools().Put(e.ctx, other)
	require_Error(e.t, err, storage.ErrPoolURIInUse)
	_, err = e.s.Pools().Get(e.ctx, other.Name)
	require_Error(e.t, err, storage.ErrPoolNotFound) // a refused Put creates nothing

	err = e.s.Pools().Update(e.ctx, b.Name, storage.PoolUpdate{URI: &a.URI})
	require_Error(e.t, err, storage.ErrPoolURIInUse)
	require_Equal(e.t, e.get(b.Name).URI, b.URI, "uri after a refused update")

	// A pool may keep its own URI, and a URI is free once its pool is gone.
	_, err = e.s.Pools().Put(e.ctx, a)
	require_NoError(e.t, err, "put with its own uri")
	require_NoError(e.t, e.s.Pools().Update(e.ctx, a.Name, storage.PoolUpdate{URI: &a.URI}), "update to its own uri")
	require_NoError(e.t, e.s.Pools().Delete(e.ctx, a.Name))
	require_NoError(e.t, e.s.Pools().Update(e.ctx, b.Name, storage.PoolUpdate{URI: &a.URI}), "update to a freed uri")
	require_Equal(e.t, e.get(b.Name).URI, a.URI)
	other.URI = b.URI
	e.put(other) // and b's old URI is free too
}

func testPoolUpdate(e *catalogEnv) {
	p := e.pool("a", 10)
	p.Flavor = "f"
	p.Options = map[string]any{"k": "v"}
	e.put(p)
	w := int64(4294967295)
	require_NoError(e.t, e.s.Pools().Update(e.ctx, p.Name, storage.PoolUpdate{Weight: &w}))
	got := e.get(p.Name)
	require_Equal(e.t, got.Weight, w, "weight")
	require_Equal(e.t, got.URI, p.URI, "uri unchanged")
	require_Equal(e.t, got.Flavor, "f", "flavor unchanged")
	require_DeepEqual(e.t, got.Options, map[string]any{"k": "v"}, "options unchanged")

	uri, flavor := p.URI+"-new", ""
	opts := map[string]any{"x": json.Number("1")}
	require_NoError(e.t, e.s.Pools().Update(e.ctx, p.Name, storage.PoolUpdate{URI: &uri, Flavor: &flavor, Options: opts}))
	opts["x"] = "changed"
	got = e.get(p.Name)
	require_DeepEqual(e.t, got, zaqar.Pool{Name: p.Name, URI: uri, Weight: w, Options: map[string]any{"x": json.Number("1")}}, "after update")

	err := e.s.Pools().Update(e.ctx, e.prefix+"missing", storage.PoolUpdate{Weight: &w})
	require_Error(e.t, err, storage.ErrPoolNotFound)
	_, err = e.s.Pools().Get(e.ctx, e.prefix+"missing")
	require_Error(e.t, err, storage.ErrPoolNotFound) // Update must not create
}

func testPoolDelete(e *catalogEnv) {
	p := e.pool("a", 1)
	e.put(p)
	require_NoError(e.t, e.s.Pools().Delete(e.ctx, p.Name))
	_, err := e.s.Pools().Get(e.ctx, p.Name)
	require_Error(e.t, err, storage.ErrPoolNotFound)
	require_NoError(e.t, e.s.Pools().Delete(e.ctx, p.Name), "delete twice")
	require_Len(e.t, e.names("", 0), 0, "listed after delete")
}

func testPoolList(e *catalogEnv) {
	names := []string{"b", "a", "A", "a.b", "a-b", "z", "0"}
	var want []string
	for i, n := range names {
		p := e.pool(n, int64(i))
		p.Options = map[string]any{"i": json.Number(string(rune('0' + i)))}
		e.put(p)
		want = append(want, p.Name)
	}
	slices.Sort(want)
	require_Slice(e.t, e.names("", 0), want, "all")
	require_Slice(e.t, e.names("", 100), want, "one page")
	require_Slice(e.t, e.names("", 3), want[:3], "limit 3")
	for _, limit := range []int{1, 2, 5} {
		var got []string
		marker := ""
		for range 100 {
			page := e.names(marker, limit)
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			marker = page[len(page)-1]
		}
		require_Slice(e.t, got, want, "paging by ", limit)
	}
	for i, m := range want {
		require_Slice(e.t, e.names(m, 100), want[i+1:], "after marker "+m)
	}
	ps, err := e.s.Pools().List(e.ctx, e.prefix, 1)
	require_NoError(e.t, err)
	require_Len(e.t, ps, 1)
	require_DeepEqual(e.t, ps[0], e.get(ps[0].Name), "a listed pool is the whole record")
}

func testFlavors(e *catalogEnv) {
	p1, p2 := e.prefix+"p1", e.prefix+"p2"
	_, err := e.s.Flavors().Get(e.ctx, p1, "gold")
	require_Error(e.t, err, storage.ErrFlavorNotFound)
	created, err := e.s.Flavors().Put(e.ctx, zaqar.Flavor{Project: p1, Name: "gold"})
	require_NoError(e.t, err)
	require_True(e.t, created, "created")
	created, err = e.s.Flavors().Put(e.ctx, zaqar.Flavor{Project: p1, Name: "gold"})
	require_NoError(e.t, err)
	require_True(e.t, !created, "second put reports created=false")
	f, err := e.s.Flavors().Get(e.ctx, p1, "gold")
	require_NoError(e.t, err)
	require_Equal(e.t, f, zaqar.Flavor{Project: p1, Name: "gold"})

	// Flavors belong to a project.
	_, err = e.s.Flavors().Get(e.ctx, p2, "gold")
	require_Error(e.t, err, storage.ErrFlavorNotFound)
	require_NoError(e.t, e.s.Flavors().Delete(e.ctx, p2, "gold"), "delete in another project")
	_, err = e.s.Flavors().Get(e.ctx, p1, "gold")
	require_NoError(e.t, err, "flavor after a delete in another project")

	require_NoError(e.t, e.s.Flavors().Delete(e.ctx, p1, "gold"))
	_, err = e.s.Flavors().Get(e.ctx, p1, "gold")
	require_Error(e.t, err, storage.ErrFlavorNotFound)
	require_NoError(e.t, e.s.Flavors().Delete(e.ctx, p1, "gold"), "delete twice")
}

func testFlavorList(e *catalogEnv) {
	project := e.prefix + "p"
	names := []string{"b", "a", "A", "a.b", "z", "0"}
	for _, n := range names {
		_, err := e.s.Flavors().Put(e.ctx, zaqar.Flavor{Project: project, Name: n})
		require_NoError(e.t, err)
	}
	_, err := e.s.Flavors().Put(e.ctx, zaqar.Flavor{Project: e.prefix + "other", Name: "c"})
	require_NoError(e.t, err)
	want := slices.Sorted(slices.Values(names))
	list := func(marker string, limit int) []string {
		e.t.Helper()
		fs, err := e.s.Flavors().List(e.ctx, project, marker, limit)
		require_NoError(e.t, err)
		var out []string
		for _, f := range fs {
			require_Equal(e.t, f.Project, project, "project of a listed flavor")
			out = append(out, f.Name)
		}
		return out
	}
	require_Slice(e.t, list("", 0), want, "all")
	require_Slice(e.t, list("", 2), want[:2], "limit 2")
	for i, m := range want {
		require_Slice(e.t, list(m, 100), want[i+1:], "after marker "+m)
	}
	fs, err := e.s.Flavors().List(e.ctx, e.prefix+"nobody", "", 10)
	require_NoError(e.t, err)
	require_Len(e.t, fs, 0, "flavors of a project without any")
}

func testCatalogue(e *catalogEnv) {
	c := e.s.Catalogue()
	q := zaqar.QueueRef{Project: e.prefix + "p", Name: "q"}
	_, err := c.Lookup(e.ctx, q)
	require_Error(e.t, err, storage.ErrQueueNotMapped)
	pa, pb := e.prefix+"a", e.prefix+"b"
	count := func(pool string) int {
		e.t.Helper()
		n, err := c.Count(e.ctx, pool)
		require_NoError(e.t, err)
		return n
	}
	require_Equal(e.t, count(pa), 0, "count of an unused pool")

	got, err := c.Insert(e.ctx, q, pa)
	require_NoError(e.t, err)
	require_Equal(e.t, got, pa, "insert")
	got, err = c.Insert(e.ctx, q, pb)
	require_NoError(e.t, err)
	require_Equal(e.t, got, pa, "a second insert returns the first placement")
	got, err = c.Lookup(e.ctx, q)
	require_NoError(e.t, err)
	require_Equal(e.t, got, pa, "lookup")

	// Same name elsewhere: another project, or a topic of the project.
	for _, other := range []zaqar.QueueRef{{Project: e.prefix + "p2", Name: "q"}, zaqar.TopicRef(q.Project, "q"), {Project: q.Project, Name: "\x00q"}} {
		_, err = c.Lookup(e.ctx, other)
		require_Error(e.t, err, storage.ErrQueueNotMapped)
		got, err = c.Insert(e.ctx, other, pb)
		require_NoError(e.t, err)
		require_Equal(e.t, got, pb, "insert ", other)
	}
	require_Equal(e.t, count(pa), 1, "count of a")
	require_Equal(e.t, count(pb), 3, "count of b")

	require_NoError(e.t, c.Delete(e.ctx, q, pb), "delete naming the wrong pool")
	got, err = c.Lookup(e.ctx, q)
	require_NoError(e.t, err)
	require_Equal(e.t, got, pa, "placement after a delete naming the wrong pool")
	require_NoError(e.t, c.Delete(e.ctx, q, pa))
	_, err = c.Lookup(e.ctx, q)
	require_Error(e.t, err, storage.ErrQueueNotMapped)
	require_NoError(e.t, c.Delete(e.ctx, q, pa), "delete twice")
	require_Equal(e.t, count(pa), 0, "count of a after delete")
	got, err = c.Insert(e.ctx, q, pb)
	require_NoError(e.t, err)
	require_Equal(e.t, got, pb, "insert after delete")
	require_Equal(e.t, count(pb), 4, "count of b")
}

// Racing placements of one queue agree on a pool.
func testCatalogueRace(e *catalogEnv) {
	q := zaqar.QueueRef{Project: e.prefix + "p", Name: "q"}
	got := make([]string, 8)
	parallel(len(got), func(i int) {
		p, err := e.s.Catalogue().Insert(e.ctx, q, e.prefix+string(rune('a'+i)))
		if err != nil {
			e.t.Errorf("insert %d: %v", i, err)
		}
		got[i] = p
	})
	for i := range got {
		require_Equal(e.t, got[i], got[0], "placement seen by inserter ", i)
	}
	total := 0
	for i := range got {
		n, err := e.s.Catalogue().Count(e.ctx, e.prefix+string(rune('a'+i)))
		require_NoError(e.t, err)
		total += n
	}
	require_Equal(e.t, total, 1, "placements counted")
}
