// composecheck loads compose files with compose-go, the library behind `docker compose config`:
// JSON-schema validation against the Compose Specification, interpolation, and the semantic
// checks of the loader (depends_on targets, volume and network references, ...). It prints the
// normalised project as JSON and exits 1 when a file is invalid.
//
// Used by tests/unit/deploy/test_deploy_compose.py, which builds it with the local Go toolchain
// (no Docker engine is needed).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck compose.yml [more.yml...]")
		os.Exit(2)
	}
	options, err := cli.NewProjectOptions(os.Args[1:], cli.WithOsEnv, cli.WithDotEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_, _ = os.Stdout.Write(out)
}
