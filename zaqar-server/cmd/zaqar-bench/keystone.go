package main

import (
	"context"
	"fmt"
	"os"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// keystoneToken authenticates with the OS_* variables of an openrc file,
// as the openstack CLI does (user and project domains given separately,
// which gophercloud's AuthOptionsFromEnv does not read), and returns the
// token.
func keystoneToken(ctx context.Context) (string, error) {
	env := func(names ...string) string {
		for _, n := range names {
			if v := os.Getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	opts := gophercloud.AuthOptions{
		IdentityEndpoint: env("OS_AUTH_URL"),
		Username:         env("OS_USERNAME"),
		UserID:           env("OS_USER_ID"),
		Password:         env("OS_PASSWORD"),
		DomainName:       env("OS_USER_DOMAIN_NAME", "OS_DOMAIN_NAME"),
		DomainID:         env("OS_USER_DOMAIN_ID", "OS_DOMAIN_ID"),
		Scope: &gophercloud.AuthScope{
			ProjectID:   env("OS_PROJECT_ID"),
			ProjectName: env("OS_PROJECT_NAME"),
			DomainName:  env("OS_PROJECT_DOMAIN_NAME", "OS_DOMAIN_NAME"),
			DomainID:    env("OS_PROJECT_DOMAIN_ID", "OS_DOMAIN_ID"),
		},
	}
	if opts.Scope.ProjectID != "" {
		opts.Scope.ProjectName, opts.Scope.DomainName, opts.Scope.DomainID = "", "", ""
	}
	if opts.Password == "" || (opts.Username == "" && opts.UserID == "") {
		return "", fmt.Errorf("set OS_USERNAME (or OS_USER_ID) and OS_PASSWORD")
	}
	provider, err := openstack.AuthenticatedClient(ctx, opts)
	if err != nil {
		return "", err
	}
	return provider.Token(), nil
}
