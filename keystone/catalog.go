package keystone

import (
	"context"
	"fmt"
	"strings"
)

// EndpointFor returns the URL of an endpoint of serviceType (e.g.
// "messaging") from the service user's catalog. iface is "public",
// "internal" or "admin" ("" means public; a "URL" suffix as in publicURL is
// accepted); region "" means Config.RegionName, and when that is empty too
// any region matches. Errors wrap ErrNoEndpoint or ErrUnavailable.
func (v *Validator) EndpointFor(ctx context.Context, serviceType, iface, region string) (string, error) {
	r, err := v.serviceToken(ctx)
	if err != nil {
		return "", err
	}
	catalog, err := r.ExtractServiceCatalog()
	if err != nil {
		return "", fmt.Errorf("%w: reading the catalog: %w", ErrUnavailable, err)
	}
	iface = strings.TrimSuffix(strings.ToLower(iface), "url")
	if iface == "" {
		iface = "public"
	}
	if region == "" {
		region = v.cfg.RegionName
	}
	for _, s := range catalog.Entries {
		if s.Type != serviceType {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Interface != iface {
				continue
			}
			if region != "" && e.RegionID != region && e.Region != region {
				continue
			}
			return e.URL, nil
		}
	}
	return "", fmt.Errorf("%w: type %q, interface %q, region %q", ErrNoEndpoint, serviceType, iface, region)
}
