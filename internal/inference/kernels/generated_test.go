package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedAssemblyMatchesGenerators: the checked-in assembly that a
// generator writes (gen_*.go, run with `go run gen_X.go` here) is exactly
// what the generator writes today, so a hand edit of the .s file or a
// generator change without a rerun fails here instead of drifting.
func TestGeneratedAssemblyMatchesGenerators(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run the generators: %v", err)
	}
	for gen, out := range map[string]string{
		"gen_gemmband.go":   "gemmband_amd64.s",
		"gen_dwblock.go":    "dwblock_amd64.s",
		"gen_gemv.go":       "gemv_amd64.s",
		"gen_wino.go":       "wino_amd64.s",
		"gen_dwplane.go":    "dwplane_amd64.s",
		"gen_stem.go":       "stem_amd64.s",
		"gen_gemmsmallk.go": "gemmsmallk_amd64.s",
		"gen_gemmavx2.go":   "gemmavx2_amd64.s",
		"gen_dwavx2.go":     "dwavx2_amd64.s",
		"gen_gemvavx2.go":   "gemvavx2_amd64.s",
		"gen_stemavx2.go":   "stemavx2_amd64.s",
		"gen_gemmpair.go":   "gemmpairavx2_amd64.s",
	} {
		t.Run(gen, func(t *testing.T) {
			src, err := os.ReadFile(gen)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, gen), src, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(gobin, "run", gen)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GO111MODULE=off", "GOFLAGS=")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go run %s: %v\n%s", gen, err, b)
			}
			got, err := os.ReadFile(filepath.Join(dir, out))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from what %s writes (%d vs %d bytes): rerun `go run %s` in this directory", out, gen, len(want), len(got), gen)
			}
		})
	}
}
