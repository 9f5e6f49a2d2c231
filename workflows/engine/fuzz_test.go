package engine

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary YAML to the loader: it must refuse or accept, never panic. Seeds are
// testdata/*.yaml and the deployed launch.yaml.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	seeds = append(seeds, filepath.Join("..", "launch.yaml"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("- a:\n    next: a\n"))
	f.Add([]byte("main: &x\n  steps: *x\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, _ = Load(src)
	})
}

func TestSyntaxSeedLoads(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "syntax.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(b); err != nil {
		t.Fatalf("testdata/syntax.yaml: %v", err)
	}
}
