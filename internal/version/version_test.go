package version

import (
	"runtime/debug"
	"testing"
)

func TestGet(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}
	read := func() (*debug.BuildInfo, bool) { return bi, true }
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	for _, tc := range []struct {
		name string
		v, c string
		read func() (*debug.BuildInfo, bool)
		want Info
	}{
		{"from the toolchain", "", "", read, Info{Version: "devel", Commit: "abc123-dirty", Go: "go1.99"}},
		{"stamped by the Makefile", "v1.2.0-3-gabc123", "abc123def", read, Info{Version: "v1.2.0-3-gabc123", Commit: "abc123def", Go: "go1.99"}},
		{"nothing recorded", "", "", none, Info{Version: "devel", Commit: "unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := get(tc.v, tc.c, tc.read)
			if tc.want.Go == "" {
				tc.want.Go = got.Go // runtime.Version()
			}
			if got != tc.want {
				t.Errorf("get(%q, %q) = %+v, want %+v", tc.v, tc.c, got, tc.want)
			}
		})
	}
}
