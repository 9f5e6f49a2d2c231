package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedSmallKMatchesGenerator is TestGeneratedAssemblyMatchesGenerators
// for gen_gemmsmallk.go: gemmsmallk_amd64.s is exactly what it writes.
func TestGeneratedSmallKMatchesGenerator(t *testing.T) {
	const gen, out = "gen_gemmsmallk.go", "gemmsmallk_amd64.s"
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run the generator: %v", err)
	}
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
		t.Fatalf("%s differs from what %s writes: rerun `go run %s` in this directory", out, gen, gen)
	}
}
