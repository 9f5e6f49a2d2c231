package tflite_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the FuzzLoad seed corpus in testdata")

// TestWriteSeeds keeps testdata/fuzz/FuzzLoad in step with the generator
// when run with -write-seeds; otherwise it checks the seeds exist.
func TestWriteSeeds(t *testing.T) {
	valid := tinyGraph().TFLite()
	seeds := map[string][]byte{
		"valid":     valid,
		"truncated": valid[:len(valid)*2/3],
		"header":    valid[:16],
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzLoad")
	for name, b := range seeds {
		path := filepath.Join(dir, name)
		if *writeSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("seed %s missing; run go test -run TestWriteSeeds -args -write-seeds: %v", name, err)
		}
	}
}
