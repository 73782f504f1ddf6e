package heatapi

import (
	"net/url"

	"github.com/gophercloud/gophercloud/v2"
)

func signalURL(c *gophercloud.ServiceClient, stackName, stackID, resourceName string) string {
	// Resource names are template keys: anything YAML allows.
	return c.ServiceURL("stacks", stackName, stackID, "resources", url.PathEscape(resourceName), "signal")
}

func actionsURL(c *gophercloud.ServiceClient, stackName, stackID string) string {
	return c.ServiceURL("stacks", stackName, stackID, "actions")
}
