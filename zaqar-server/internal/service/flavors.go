package service

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/zaqar-go/suite/zaqar-server/internal/storage"
	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// A flavor is a project's name for the pools whose flavor field is that
// name (zaqar/transport/wsgi/v2_0/flavors.py): its pool list and
// capabilities are read from the pools, never stored with it.

// FlavorView is a flavor as the API shows it.
type FlavorView struct {
	Name         string
	PoolList     []string // the flavor's pools by name
	Capabilities []string // of its first pool; only when asked for
}

// FlavorListParams are the parameters of a flavor listing; nil means absent.
type FlavorListParams struct {
	Marker   string
	Limit    *int
	Detailed bool
}

// flavorPools groups pool names by flavor, with the first pool's URI.
type flavorPools struct {
	cat   poolCatalog
	names map[string][]string
	first map[string]string
}

func (s *Service) flavorPools(ctx context.Context, cat poolCatalog) (flavorPools, error) {
	pools, err := cat.Pools().List(ctx, "", 0)
	if err != nil {
		return flavorPools{}, storeErr(err, "Flavors could not be read.")
	}
	fp := flavorPools{cat: cat, names: map[string][]string{}, first: map[string]string{}}
	for _, p := range pools {
		if p.Flavor == "" {
			continue
		}
		if _, ok := fp.first[p.Flavor]; !ok {
			fp.first[p.Flavor] = p.URI
		}
		fp.names[p.Flavor] = append(fp.names[p.Flavor], p.Name)
	}
	return fp, nil
}

func (fp flavorPools) view(name string, caps bool) FlavorView {
	v := FlavorView{Name: name, PoolList: fp.names[name]}
	if caps {
		v.Capabilities = []string{}
		if uri, ok := fp.first[name]; ok {
			v.Capabilities = append(v.Capabilities, fp.cat.Capabilities(uri)...)
		}
	}
	return v
}

// ListFlavors lists the project's flavors by name, capabilities when detailed.
func (s *Service) ListFlavors(ctx context.Context, project string, p FlavorListParams) ([]FlavorView, error) {
	cat, err := s.catalog()
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(p.Limit, s.limits.MaxFlavorsPerPage)
	if err != nil {
		return nil, err
	}
	flavors, err := cat.Flavors().List(ctx, project, p.Marker, limit)
	if err != nil {
		return nil, storeErr(err, "Flavors could not be listed.")
	}
	fp, err := s.flavorPools(ctx, cat)
	if err != nil {
		return nil, err
	}
	out := make([]FlavorView, len(flavors))
	for i, f := range flavors {
		out[i] = fp.view(f.Name, p.Detailed)
	}
	return out, nil
}

// GetFlavor returns a flavor with its pools and capabilities.
func (s *Service) GetFlavor(ctx context.Context, project, name string) (FlavorView, error) {
	cat, err := s.catalog()
	if err != nil {
		return FlavorView{}, err
	}
	if err := s.flavorExists(ctx, cat, project, name); err != nil {
		return FlavorView{}, err
	}
	fp, err := s.flavorPools(ctx, cat)
	if err != nil {
		return FlavorView{}, err
	}
	v := fp.view(name, true)
	if v.PoolList == nil {
		v.PoolList = []string{}
	}
	return v, nil
}

func (s *Service) flavorExists(ctx context.Context, cat poolCatalog, project, name string) error {
	_, err := cat.Flavors().Get(ctx, project, name)
	if errors.Is(err, storage.ErrFlavorNotFound) {
		return zaqar.NotFoundf("Flavor %s does not exist", name)
	}
	if err != nil {
		return storeErr(err, "Flavor could not be retrieved.")
	}
	return nil
}

// parsePoolList reads pool_list from a flavor document: create checks
// Zaqar's create schema (pool_list required, capabilities an object,
// nothing else), PATCH only needs pool_list. The list must name existing
// pools; an empty one is refused as Zaqar does, with its odd wording.
func parsePoolList(ctx context.Context, cat poolCatalog, body []byte, create bool, unable func(what string) error) ([]string, error) {
	doc, err := decodeAdminDoc(body)
	if err != nil {
		return nil, err
	}
	if create {
		for _, k := range sortedKeys(doc) {
			if k != "pool_list" && k != "capabilities" {
				return nil, zaqar.BadBodyf("Additional properties are not allowed ('%s' was unexpected)", k)
			}
		}
		if c, ok := doc["capabilities"]; ok {
			if _, isObj := c.(map[string]any); !isObj {
				return nil, zaqar.BadBodyf("%s is not of type 'object'", jsonText(c))
			}
		}
	}
	raw, ok := doc["pool_list"]
	if !ok {
		if create {
			return nil, zaqar.BadBodyf("'pool_list' is a required property")
		}
		return nil, zaqar.BadBodyf("`pool_list` needs to be specified")
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, zaqar.BadBodyf("%s is not of type 'array'", jsonText(raw))
	}
	if len(list) == 0 {
		return nil, &zaqar.Error{Kind: zaqar.Invalid, Title: "Unable to create", Desc: "Bad Request"}
	}
	names := make([]string, len(list))
	for i, v := range list {
		name, isStr := v.(string)
		if !isStr {
			return nil, unable(fmt.Sprintf("Pool %s does not exist", jsonText(v)))
		}
		if _, err := cat.Pools().Get(ctx, name); errors.Is(err, storage.ErrPoolNotFound) {
			return nil, unable(fmt.Sprintf("Pool %s does not exist", name))
		} else if err != nil {
			return nil, storeErr(err, "Flavor could not be written.")
		}
		names[i] = name
	}
	return names, nil
}

// setFlavor sets the flavor field of pools.
func setFlavor(ctx context.Context, cat poolCatalog, pools []string, flavor string) error {
	for _, p := range pools {
		err := cat.Pools().Update(ctx, p, storage.PoolUpdate{Flavor: &flavor})
		if err != nil && !errors.Is(err, storage.ErrPoolNotFound) {
			return storeErr(err, "Flavor could not be written.")
		}
	}
	return nil
}

// CreateFlavor creates (or re-creates) a project's flavor and puts the
// pools of its pool_list in it. Pools already in it stay, as in Zaqar.
func (s *Service) CreateFlavor(ctx context.Context, project, name string, body []byte) error {
	cat, err := s.catalog()
	if err != nil {
		return err
	}
	pools, err := parsePoolList(ctx, cat, body, true, func(what string) error {
		return &zaqar.Error{Kind: zaqar.Invalid, Title: "Unable to create",
			Desc: fmt.Sprintf("Flavor %s could not be created, error:%s", name, what)}
	})
	if err != nil {
		return err
	}
	if _, err := cat.Flavors().Put(ctx, zaqar.Flavor{Project: project, Name: name}); err != nil {
		return storeErr(err, "Flavor could not be created.")
	}
	return setFlavor(ctx, cat, pools, name)
}

// PatchFlavor replaces a flavor's pools with its pool_list and returns it.
func (s *Service) PatchFlavor(ctx context.Context, project, name string, body []byte) (FlavorView, error) {
	cat, err := s.catalog()
	if err != nil {
		return FlavorView{}, err
	}
	// Zaqar checks the document, then that the flavor exists, then the pools.
	if _, err := parsePoolList(ctx, cat, body, false, func(string) error { return nil }); err != nil {
		return FlavorView{}, err
	}
	if err := s.flavorExists(ctx, cat, project, name); err != nil {
		return FlavorView{}, err
	}
	pools, err := parsePoolList(ctx, cat, body, false, func(what string) error {
		return &zaqar.Error{Kind: zaqar.Invalid, Title: "updatefail",
			Desc: fmt.Sprintf("Flavor %s cant be updated, error:%s", name, what)}
	})
	if err != nil {
		return FlavorView{}, err
	}
	before, err := s.flavorPools(ctx, cat)
	if err != nil {
		return FlavorView{}, err
	}
	if err := setFlavor(ctx, cat, pools, name); err != nil {
		return FlavorView{}, err
	}
	var removed []string
	for _, p := range before.names[name] {
		if !slices.Contains(pools, p) {
			removed = append(removed, p)
		}
	}
	if err := setFlavor(ctx, cat, removed, ""); err != nil {
		return FlavorView{}, err
	}
	v := FlavorView{Name: name, PoolList: pools, Capabilities: []string{}}
	if p, err := cat.Pools().Get(ctx, pools[0]); err == nil {
		v.Capabilities = append(v.Capabilities, cat.Capabilities(p.URI)...)
	}
	return v, nil
}

// DeleteFlavor detaches the flavor's pools, then deletes it; a missing
// flavor is not an error.
func (s *Service) DeleteFlavor(ctx context.Context, project, name string) error {
	cat, err := s.catalog()
	if err != nil {
		return err
	}
	fp, err := s.flavorPools(ctx, cat)
	if err != nil {
		return err
	}
	if err := setFlavor(ctx, cat, fp.names[name], ""); err != nil {
		return err
	}
	if err := cat.Flavors().Delete(ctx, project, name); err != nil {
		return storeErr(err, "Flavor could not be deleted.")
	}
	return nil
}
