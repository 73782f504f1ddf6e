package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// poolCatalog is what the pools and flavors API needs of the store:
// storage/pooled provides it when pooling is on.
type poolCatalog interface {
	storage.CatalogStore
	// Probe reports whether uri opens and answers.
	Probe(ctx context.Context, uri string, options map[string]any) error
	// Capabilities lists what the driver of uri offers.
	Capabilities(uri string) []string
}

func (s *Service) catalog() (poolCatalog, error) {
	c, ok := s.store.(poolCatalog)
	if !ok {
		return nil, zaqar.NotFoundf("Pooling is not enabled.")
	}
	return c, nil
}

// MaxWeight is the largest pool weight Zaqar's schema accepts (2^32-1).
const MaxWeight = 1<<32 - 1

// PoolListParams are the parameters of a pool listing; nil means absent.
type PoolListParams struct {
	Marker   string
	Limit    *int
	Detailed bool
}

// ListPools lists pools by name; options only when detailed.
func (s *Service) ListPools(ctx context.Context, p PoolListParams) ([]zaqar.Pool, error) {
	cat, err := s.catalog()
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(p.Limit, s.limits.MaxPoolsPerPage)
	if err != nil {
		return nil, err
	}
	pools, err := cat.Pools().List(ctx, p.Marker, limit)
	if err != nil {
		return nil, storeErr(err, "Pools could not be listed.")
	}
	if !p.Detailed {
		for i := range pools {
			pools[i].Options = nil
		}
	}
	return pools, nil
}

// pageLimit applies the default page size and checks a limit as Zaqar's
// pool_listing and flavor_listing validators.
func pageLimit(limit *int, max int) (int, error) {
	if limit == nil {
		return zaqar.DefaultPageSize, nil
	}
	if *limit < 1 || *limit > max {
		return 0, zaqar.Invalidf("Limit must be at least 1 and no greater than %d.", max)
	}
	return *limit, nil
}

// GetPool returns one pool; options only when detailed.
func (s *Service) GetPool(ctx context.Context, name string, detailed bool) (zaqar.Pool, error) {
	cat, err := s.catalog()
	if err != nil {
		return zaqar.Pool{}, err
	}
	p, err := cat.Pools().Get(ctx, name)
	if errors.Is(err, storage.ErrPoolNotFound) {
		return zaqar.Pool{}, zaqar.NotFoundf("Pool %s does not exist", name)
	}
	if err != nil {
		return zaqar.Pool{}, storeErr(err, "Pool could not be retrieved.")
	}
	if !detailed {
		p.Options = nil
	}
	return p, nil
}

// poolDoc is a parsed pool document; nil fields were absent.
type poolDoc struct {
	uri, flavor *string
	weight      *int64
	options     map[string]any
}

// Zaqar loads pool and flavor documents with wsgi_utils.load, which says
// this for anything that does not parse, huge integers included.
var errPoolJSON = zaqar.BadBodyf("JSON could not be parsed.")

// decodeAdminDoc parses a pools or flavors document: a JSON object.
func decodeAdminDoc(body []byte) (map[string]any, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errPoolJSON
	}
	v, err := decodeValue(body)
	if err != nil {
		return nil, errPoolJSON
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, zaqar.BadBodyf("%s is not of type 'object'", body)
	}
	return doc, nil
}

// parsePool checks a pool document against Zaqar's schemas
// (zaqar/common/api/schemas/pools.py): create for PUT (uri and weight
// required, nothing else allowed), the per-field ones for PATCH (other
// keys ignored). The descriptions are jsonschema's.
func parsePool(body []byte, create bool) (poolDoc, error) {
	doc, err := decodeAdminDoc(body)
	if err != nil {
		return poolDoc{}, err
	}
	var d poolDoc
	if create {
		for _, k := range sortedKeys(doc) {
			switch k {
			case "uri", "weight", "flavor", "options":
			default:
				return d, zaqar.BadBodyf("Additional properties are not allowed ('%s' was unexpected)", k)
			}
		}
		for _, k := range []string{"uri", "weight"} {
			if _, ok := doc[k]; !ok {
				return d, zaqar.BadBodyf("'%s' is a required property", k)
			}
		}
	}
	if v, ok := doc["uri"]; ok {
		if d.uri, err = schemaString(v, 255); err != nil {
			return d, err
		}
	}
	if v, ok := doc["flavor"]; ok {
		if d.flavor, err = schemaString(v, 255); err != nil {
			return d, err
		}
	}
	if v, ok := doc["weight"]; ok {
		n, isInt := asInt(v)
		switch {
		case !isInt:
			return d, zaqar.BadBodyf("%s is not of type 'integer'", jsonText(v))
		case n < 0:
			return d, zaqar.BadBodyf("%d is less than the minimum of 0", n)
		case n > MaxWeight:
			return d, zaqar.BadBodyf("%d is greater than the maximum of %d", n, MaxWeight)
		}
		d.weight = &n
	}
	if v, ok := doc["options"]; ok {
		o, isObj := v.(map[string]any)
		if !isObj {
			return d, zaqar.BadBodyf("%s is not of type 'object'", jsonText(v))
		}
		d.options = o
	}
	if !create && d.uri == nil && d.weight == nil && d.flavor == nil && d.options == nil {
		return d, zaqar.BadBodyf("One of `uri`, `weight`, `flavor`, or `options` needs to be specified")
	}
	return d, nil
}

func schemaString(v any, maxLen int) (*string, error) {
	s, ok := v.(string)
	if !ok {
		return nil, zaqar.BadBodyf("%s is not of type 'string'", jsonText(v))
	}
	if len([]rune(s)) > maxLen {
		return nil, zaqar.BadBodyf("%s is too long", jsonText(v))
	}
	return &s, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// probe answers Zaqar's 400 when a pool URI cannot be reached.
func (s *Service) probe(ctx context.Context, cat poolCatalog, uri string, options map[string]any) error {
	if err := cat.Probe(ctx, uri, options); err != nil {
		// Not the URI itself: it may carry a password.
		s.log.InfoContext(ctx, "pool URI does not answer", "err", err)
		return zaqar.BadBodyf("cannot connect to %s", uri)
	}
	return nil
}

var errCapabilities = &zaqar.Error{Kind: zaqar.Invalid, Title: "Unable to create pool",
	Desc: "The pool being added does not support the minimum set of capabilities"}

// checkCapabilities keeps the pools of one flavor alike: a pool joining
// flavor (or changing its URI within it) must offer what the flavor's
// other pools offer. Zaqar also compares pools without a flavor with the
// first pool of all and a pool with its own old URI, which forbids mixing
// drivers at all; we do not.
func checkCapabilities(ctx context.Context, cat poolCatalog, name, uri, flavor string) error {
	if flavor == "" {
		return nil
	}
	pools, err := cat.Pools().List(ctx, "", 0)
	if err != nil {
		return storeErr(err, "Pool could not be created.")
	}
	for _, p := range pools {
		if p.Flavor == flavor && p.Name != name {
			if !slices.Equal(cat.Capabilities(p.URI), cat.Capabilities(uri)) {
				return errCapabilities
			}
			return nil
		}
	}
	return nil
}

// CreatePool registers a pool, or replaces the one of that name, from a
// PUT document; the URI must answer (zaqar/transport/wsgi/v2_0/pools.py).
func (s *Service) CreatePool(ctx context.Context, name string, body []byte) error {
	cat, err := s.catalog()
	if err != nil {
		return err
	}
	d, err := parsePool(body, true)
	if err != nil {
		return err
	}
	p := zaqar.Pool{Name: name, URI: *d.uri, Weight: *d.weight, Options: d.options}
	if d.flavor != nil {
		p.Flavor = *d.flavor
	}
	if err := s.probe(ctx, cat, p.URI, p.Options); err != nil {
		return err
	}
	if err := checkCapabilities(ctx, cat, name, p.URI, p.Flavor); err != nil {
		return err
	}
	if _, err := cat.Pools().Put(ctx, p); err != nil {
		return poolWriteErr(err, name, "Pool could not be created.")
	}
	return nil
}

func poolWriteErr(err error, name, desc string) error {
	switch {
	case errors.Is(err, storage.ErrPoolURIInUse):
		return zaqar.Conflictf("The database URI is in use by another pool.")
	case errors.Is(err, storage.ErrPoolNotFound):
		return zaqar.NotFoundf("Pool %s does not exist", name)
	}
	return storeErr(err, desc)
}

// PatchPool changes a pool's uri, weight, flavor and/or options ("" for
// flavor detaches it) and returns the pool without options.
func (s *Service) PatchPool(ctx context.Context, name string, body []byte) (zaqar.Pool, error) {
	cat, err := s.catalog()
	if err != nil {
		return zaqar.Pool{}, err
	}
	d, err := parsePool(body, false)
	if err != nil {
		return zaqar.Pool{}, err
	}
	if d.uri != nil {
		if err := s.probe(ctx, cat, *d.uri, d.options); err != nil {
			return zaqar.Pool{}, err
		}
		cur, err := cat.Pools().Get(ctx, name)
		if err != nil {
			return zaqar.Pool{}, poolWriteErr(err, name, "Pool could not be updated.")
		}
		flavor := cur.Flavor
		if d.flavor != nil {
			flavor = *d.flavor
		}
		if err := checkCapabilities(ctx, cat, name, *d.uri, flavor); err != nil {
			return zaqar.Pool{}, err
		}
	}
	u := storage.PoolUpdate{URI: d.uri, Weight: d.weight, Flavor: d.flavor, Options: d.options}
	if err := cat.Pools().Update(ctx, name, u); err != nil {
		return zaqar.Pool{}, poolWriteErr(err, name, "Pool could not be updated.")
	}
	return s.GetPool(ctx, name, false)
}

// DeletePool removes a pool. Zaqar refuses (403) to delete the last pool of
// a flavor; we also refuse (409) while queues are placed on the pool, which
// Zaqar deletes regardless, leaving those queues pointing at nothing.
func (s *Service) DeletePool(ctx context.Context, name string) error {
	cat, err := s.catalog()
	if err != nil {
		return err
	}
	p, err := cat.Pools().Get(ctx, name)
	if errors.Is(err, storage.ErrPoolNotFound) {
		return nil
	}
	if err != nil {
		return storeErr(err, "Pool could not be deleted.")
	}
	if p.Flavor != "" {
		pools, err := cat.Pools().List(ctx, "", 0)
		if err != nil {
			return storeErr(err, "Pool could not be deleted.")
		}
		n := 0
		for _, o := range pools {
			if o.Flavor == p.Flavor {
				n++
			}
		}
		if n == 1 {
			return &zaqar.Error{Kind: zaqar.Forbidden, Title: zaqar.TitleUnableDelete,
				Desc: fmt.Sprintf("This pool is used by flavors %s; It cannot be deleted.", p.Flavor)}
		}
	}
	inUse := func() error {
		n, err := cat.Catalogue().Count(ctx, name)
		if err != nil {
			return storeErr(err, "Pool could not be deleted.")
		}
		if n > 0 {
			return zaqar.Conflictf("Pool %s holds %d queue(s); it cannot be deleted until they are.", name, n)
		}
		return nil
	}
	if err := inUse(); err != nil {
		return err
	}
	if err := cat.Pools().Delete(ctx, name); err != nil {
		return storeErr(err, "Pool could not be deleted.")
	}
	// A queue placed while we checked: placement reads the pool after
	// placing, so either it sees the pool gone and goes elsewhere, or we
	// see it here and put the pool back.
	if err := inUse(); err != nil {
		if _, perr := cat.Pools().Put(ctx, p); perr != nil {
			s.log.ErrorContext(ctx, "pool deleted with queues on it", "pool", name, "err", perr)
		}
		return err
	}
	return nil
}
