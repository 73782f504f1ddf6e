package zaqartest

import (
	"context"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"
)

// PointMessagingAt moves the catalog's messaging endpoints to url, so that
// Heat's event sinks post there, and moves them back when the test ends.
func PointMessagingAt(t testing.TB, admin *gophercloud.ProviderClient, url string) {
	t.Helper()
	ctx := context.Background()
	id, err := openstack.NewIdentityV3(admin, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := services.List(id, services.ListOpts{ServiceType: "messaging"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := services.ExtractServices(pages)
	if err != nil || len(svcs) == 0 {
		t.Fatalf("no messaging service in the catalog: %v", err)
	}
	pages, err = endpoints.List(id, endpoints.ListOpts{ServiceID: svcs[0].ID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := endpoints.ExtractEndpoints(pages)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range eps {
		old := e
		if err := endpoints.Update(ctx, id, e.ID, endpoints.UpdateOpts{URL: url}).Err; err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			endpoints.Update(ctx, id, old.ID, endpoints.UpdateOpts{URL: old.URL})
		})
	}
}
