//go:build cspipe_testhook

package main

import (
	"context"
	"os"

	"github.com/cspipe/cspipe/internal/workload"
	"github.com/cspipe/cspipe/internal/workload/workloadtest"
)

// Test-only build (go build -tags cspipe_testhook): CSPIPE_TEST_ENGINE=fake swaps in the
// stand-in classifier, and CSPIPE_TEST_MODEL_LOADED names a file created whenever a model is
// loaded, so tests can prove a refused model never was. Never part of the production image.
func init() {
	inner := loadModel
	if os.Getenv("CSPIPE_TEST_ENGINE") == "fake" {
		inner = workloadtest.Load
	}
	marker := os.Getenv("CSPIPE_TEST_MODEL_LOADED")
	loadModel = func(ctx context.Context, b []byte, topK int) (workload.Classifier, error) {
		if marker != "" {
			if err := os.WriteFile(marker, []byte("loaded\n"), 0o644); err != nil {
				return nil, err
			}
		}
		return inner(ctx, b, topK)
	}
}
