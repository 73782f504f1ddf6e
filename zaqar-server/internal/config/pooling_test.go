package config

import (
	"strings"
	"testing"
)

func TestLoadPooling(t *testing.T) {
	c, err := Load(writeConf(t, `
[DEFAULT]
admin_mode = true
pooling = true

[drivers]
management_store = memory

[pooling:catalog]
enable_virtual_pool = true

[transport]
max_pools_per_page = 5
max_flavors_per_page = 7
`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Pooling || !c.AdminMode || !c.VirtualPool || c.ManagementStore != "memory" ||
		c.Limits.MaxPoolsPerPage != 5 || c.Limits.MaxFlavorsPerPage != 7 {
		t.Errorf("Load = %+v", c)
	}
	if d := Default(); d.Limits.MaxPoolsPerPage != 20 || d.Limits.MaxFlavorsPerPage != 20 || d.VirtualPool {
		t.Errorf("Default() = %+v", d)
	}

	for _, tc := range []struct{ name, conf, want string }{
		{"catalog store", "[DEFAULT]\npooling = true\n[drivers]\nmanagement_store = sqlalchemy\n", `[drivers]: option "management_store"`},
		{"unknown option", "[pooling:catalog]\nenable_virtual_pools = true\n", `[pooling:catalog]: unknown option "enable_virtual_pools"`},
		{"page size", "[transport]\nmax_pools_per_page = 0\n", `option "max_pools_per_page": must be at least 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConf(t, tc.conf))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load = %v, want an error with %q", err, tc.want)
			}
		})
	}
	// Without pooling the management store is not used, so not checked.
	if _, err := Load(writeConf(t, "[drivers]\nmanagement_store = mongodb\n")); err != nil {
		t.Errorf("management_store without pooling: %v", err)
	}
}
