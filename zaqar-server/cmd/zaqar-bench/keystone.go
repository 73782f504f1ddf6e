package main

import (
	"context"
	"os"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// keystoneToken authenticates with the OS_* variables, as the openstack CLI
// does, and returns the token.
func keystoneToken(ctx context.Context) (string, error) {
	opts, err := openstack.AuthOptionsFromEnv()
	if err != nil {
		return "", err
	}
	if opts.DomainName == "" && opts.DomainID == "" {
		opts.DomainName = os.Getenv("OS_USER_DOMAIN_NAME")
	}
	if name := os.Getenv("OS_PROJECT_NAME"); name != "" && opts.Scope == nil {
		opts.Scope = &gophercloud.AuthScope{ProjectName: name, DomainName: os.Getenv("OS_PROJECT_DOMAIN_NAME")}
	}
	provider, err := openstack.AuthenticatedClient(ctx, opts)
	if err != nil {
		return "", err
	}
	return provider.Token(), nil
}
