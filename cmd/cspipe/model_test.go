package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

func TestModelPack(t *testing.T) {
	dir := t.TempDir()
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v1", Width: 0.25, Size: 96, Classes: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tfl := filepath.Join(dir, "model.tflite")
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(tfl, g.TFLite(), 0o644)
	os.WriteFile(labels, []byte("background\ncat\ndog\n"), 0o644)
	out := filepath.Join(dir, "model.tar.gz")

	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"model", "pack", "--model", tfl, "--labels", labels, "--out", out, "--input-range", "-1,1"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := archive.Extract(b, archive.Limits{})
	if err != nil {
		t.Fatalf("the packed archive is refused: %v", err)
	}
	if !bytes.Equal(m.Model, g.TFLite()) || len(m.Labels) != 3 || m.Labels[1] != "cat" || m.Metadata.InputRange != "-1,1" {
		t.Errorf("archive holds %d model bytes, labels %q, metadata %+v", len(m.Model), m.Labels, m.Metadata)
	}
	if !strings.Contains(stdout.String(), m.Report.SHA256) {
		t.Errorf("output does not name the archive's sha256: %s", stdout.String())
	}

	// Not a TFLite model: refused before anything is written.
	os.WriteFile(tfl, []byte("not a model"), 0o644)
	bad := filepath.Join(dir, "bad.tar.gz")
	stderr.Reset()
	if code := run(t.Context(), []string{"model", "pack", "--model", tfl, "--labels", labels, "--out", bad}, &stdout, &stderr); code != 1 {
		t.Errorf("a non-TFLite model: exit %d, want 1", code)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("an archive was written for a bad model")
	}
	if !strings.Contains(stderr.String(), "rejected") {
		t.Errorf("stderr does not say why: %s", stderr.String())
	}
	if code := run(t.Context(), []string{"model", "pack", "--model", tfl}, &stdout, &stderr); code != 2 {
		t.Errorf("missing flags: exit %d, want 2", code)
	}
}
