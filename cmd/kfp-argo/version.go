package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise the module version is shown.
var version = ""

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the kfp-argo version and the git revision it was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, _ := debug.ReadBuildInfo()
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionLine(version, info))
			return err
		},
	}
}

// versionLine is what `kfp-argo version` prints: the version (from -ldflags, else the module's, which `go
// install ...@vX` sets) and the git revision that `go build` records in a checkout (vcs.revision), marked
// "dirty" when the tree had local changes.
func versionLine(ldflags string, info *debug.BuildInfo) string {
	v := ldflags
	revision, modified := "", false
	if info != nil {
		if v == "" && info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	line := "kfp-argo " + v
	if revision != "" {
		if len(revision) > 12 {
			revision = revision[:12]
		}
		if modified {
			revision += "-dirty"
		}
		line += " (git " + revision + ")"
	}
	return line + ", Argo Workflows API v3.7.18"
}
