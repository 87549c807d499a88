// Command lopper compresses fine-tuned transformer models by pruning, driven
// by declarative YAML recipes. The command line lives in package
// lopper/internal/cli (its command table is internal/cli/commands.go);
// release builds set the version with
// -ldflags "-X lopper/internal/cli.version=…".
package main

import (
	"os"

	"lopper/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
