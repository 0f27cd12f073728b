// Command connector captures employees' Exchange Online e-mail into the
// DeDeSales CRM. See README.md and `connector --help`.
package main

import (
	"os"

	"github.com/dedesales/exchange-connector/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
