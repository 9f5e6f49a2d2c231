package oracle_test

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/oracle"
)

// TestBenchORTPaced: bench_ort.js in paced mode (make bench's ONNX Runtime
// side) reports ready after its warm-up, measures one slice per input line
// and ends with its input; bad arguments are refused by name.
func TestBenchORTPaced(t *testing.T) {
	node := oracle.Require(t)
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v1", Width: 0.25, Size: 32, Classes: 8, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(model, b, 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(oracle.Dir(t), "bench_ort.js")
	cmd := exec.Command(node, script, model, "2", "1", "paced", "30")
	cmd.Stdin = strings.NewReader("go\ngo\ngo\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench_ort.js paced: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 || lines[0] != `{"ready":true}` {
		t.Fatalf("want a ready line and 3 slices, got:\n%s", out)
	}
	for _, l := range lines[1:] {
		var r struct {
			Runtime string  `json:"runtime"`
			Batch   int     `json:"batch"`
			Threads int     `json:"threads"`
			Runs    int     `json:"runs"`
			ImgPerS float64 `json:"img_per_s"`
			MS      float64 `json:"ms_per_img"`
			CPU     float64 `json:"cpu_ms_per_img"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if r.Runtime != "onnxruntime" || r.Batch != 2 || r.Threads != 1 || r.Runs < 1 || r.CPU <= 0 ||
			math.Abs(r.ImgPerS*r.MS-1000) > 1e-6 || float64(r.Runs*r.Batch)*r.MS < 30 {
			t.Errorf("slice %q: want batch 2 on 1 thread, at least 30 ms of runs, consistent times", l)
		}
	}
	bad := exec.Command(node, script, model, "2", "1", "paced")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "bad arguments") {
		t.Errorf("paced without a slice length: %v, %s", err, out)
	}
}
