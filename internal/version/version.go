// Package version says which build a binary is: the version and commit the
// Makefile stamps with -ldflags -X (from git describe), else what the Go
// toolchain recorded (module version, vcs.revision, vcs.modified), and the
// Go version. Every command's --version prints String.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by the Makefile:
//
//	-X github.com/zaqar-go/suite/internal/version.version=$(git describe --tags --always --dirty)
//	-X github.com/zaqar-go/suite/internal/version.commit=$(git rev-parse HEAD)
var (
	version string
	commit  string
)

// Info is one binary's build.
type Info struct {
	Version string // git describe, the module version, or "devel"
	Commit  string // full hash, "-dirty" appended for a modified tree; "unknown" when not recorded
	Go      string
}

// Get returns the build information of the running binary.
func Get() Info {
	return get(version, commit, debug.ReadBuildInfo)
}

func get(v, c string, read func() (*debug.BuildInfo, bool)) Info {
	info := Info{Version: v, Commit: c, Go: runtime.Version()}
	if bi, ok := read(); ok {
		info.Go = bi.GoVersion
		var rev string
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if info.Commit == "" && rev != "" {
			info.Commit = rev
			if modified {
				info.Commit += "-dirty"
			}
		}
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// String is the --version line: "NAME VERSION (commit COMMIT, GO)".
func String(name string) string {
	i := Get()
	return fmt.Sprintf("%s %s (commit %s, %s)", name, i.Version, i.Commit, i.Go)
}
