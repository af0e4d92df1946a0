package main

import (
	"fmt"
	"runtime"

	faktory "github.com/contribsys/faktory/client"
	"github.com/spf13/cobra"
)

// version of wfbench, written into every result.
const version = "0.1.0"

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print wfbench's version and the versions it embeds",
		Example: "  wfbench version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "wfbench %s (%s, %s/%s, embedded Faktory %s)\n",
				version, runtime.Version(), runtime.GOOS, runtime.GOARCH, faktory.Version)
			return nil
		},
	}
}
