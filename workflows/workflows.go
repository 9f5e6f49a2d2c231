// Package workflows holds the Cloud Workflows definitions cspipe deploys (launch.yaml) and
// exposes them to the local engine and the local stack. The engine that runs them lives in
// workflows/engine, the expression language in workflows/expr, and the Executions API server in
// workflows/executions.
package workflows

import (
	_ "embed"

	"github.com/cspipe/cspipe/workflows/engine"
)

// LaunchYAML is workflows/launch.yaml, byte for byte what is deployed.
//
//go:embed launch.yaml
var LaunchYAML []byte

// LaunchName is the deployed workflow's name (the last segment of its resource name).
const LaunchName = "launch"

// Launch loads launch.yaml into the local engine.
func Launch() (*engine.Workflow, error) { return engine.Load(LaunchYAML) }
