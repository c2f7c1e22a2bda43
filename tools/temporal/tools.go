//go:build tools

// Package tools pins the Temporal CLI that tests and the local stack run as a dev server. It is
// a module of its own because the CLI does not build in one module graph with the SDK version
// the project uses. scripts/temporal-cli builds it.
package tools

import _ "github.com/temporalio/cli/cmd/temporal"
