package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/inference/graph"
)

func TestBenchModelJSON(t *testing.T) {
	model := writeModel(t, t.TempDir(), 10)
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"bench", "--model", model, "--batch", "2", "--threads", "1", "--duration", "50ms", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var r map[string]any
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	for _, k := range []string{"batch", "threads", "img_per_s", "ms_per_img"} {
		if _, ok := r[k]; !ok {
			t.Errorf("missing %q in %s", k, out.String())
		}
	}
	if r["batch"] != 2.0 || r["threads"] != 1.0 || r["img_per_s"].(float64) <= 0 {
		t.Errorf("values %v", r)
	}
	if _, ok := r["nodes"]; ok {
		t.Errorf("per-operator times without --node-times: %s", out.String())
	}
	if code := run(t.Context(), []string{"bench"}, &out, &errb); code != 2 {
		t.Errorf("no arguments: exit %d", code)
	}
}

// TestBenchNodeTimes: --node-times adds one entry per planned operator to
// the JSON (names, kernel, time over every image run) and a table to the
// text output.
func TestBenchNodeTimes(t *testing.T) {
	model := writeModel(t, t.TempDir(), 10)
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"bench", "--model", model, "--batch", "2", "--threads", "1", "--duration", "50ms", "--json", "--node-times"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var r struct {
		Images int `json:"images"`
		Nodes  []struct {
			Name   string `json:"name"`
			Kernel string `json:"kernel"`
			Images int    `json:"images"`
			Total  int64  `json:"total_ns"`
			CPU    int64  `json:"cpu_ns"`
			CPUImg int    `json:"cpu_images"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if len(r.Nodes) == 0 {
		t.Fatalf("no per-operator times in %s", out.String())
	}
	var total, cpu int64
	for _, n := range r.Nodes {
		// Every timed run, not the warm-up.
		if n.Name == "" || n.Kernel == "" || n.Images != r.Images {
			t.Errorf("entry %+v (run %d images)", n, r.Images)
		}
		// One thread: every call is timed by its thread's CPU clock too.
		if runtime.GOOS == "linux" && n.CPUImg != r.Images {
			t.Errorf("entry %+v: CPU time of %d images, want %d", n, n.CPUImg, r.Images)
		}
		total += n.Total
		cpu += n.CPU
	}
	if total <= 0 {
		t.Errorf("no time recorded: %s", out.String())
	}
	if runtime.GOOS == "linux" && cpu <= 0 {
		t.Errorf("no CPU time recorded: %s", out.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"bench", "--model", model, "--duration", "20ms", "--node-times"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	table, goes, ok := strings.Cut(out.String(), "\nwhere the time goes")
	if !ok || !strings.Contains(table, "us/img") || !strings.Contains(table, "cpu-us") || strings.Count(table, "\n") != len(r.Nodes)+2 {
		t.Errorf("text output without the table of %d operators and the summary:\n%s", len(r.Nodes), out.String())
	}
	if !strings.Contains(goes, "of gap") {
		t.Errorf("summary without its header:\n%s", goes)
	}
}

// TestTimeGoes: the summary groups operators by kernel and output size,
// prefers the one-thread CPU time, and charges each group the time beyond
// its multiply-adds at the peak.
func TestTimeGoes(t *testing.T) {
	us := func(v float64) time.Duration { return time.Duration(v * 1e3) }
	nodes := []graph.NodeTime{
		// 2e6 MACs at 1e9 MAC/s peak take 2000 us: 3000 us of CPU is 1000 over.
		{Name: "a", Kernel: "conv", Shape: []int{1, 8, 8, 16}, MACs: 2e6, Images: 10, Total: us(50000), CPU: us(30000), CPUImages: 10},
		{Name: "b", Kernel: "conv", Shape: []int{1, 8, 8, 16}, MACs: 1e6, Images: 10, Total: us(10000), CPU: us(10000), CPUImages: 10},
		// No CPU time: the wall time counts (500 us over its 0 MACs).
		{Name: "c", Kernel: "depthwise", Shape: []int{1, 8, 8, 16}, MACs: 0, Images: 10, Total: us(5000)},
		{Name: "d", Kernel: "softmax", Shape: []int{1, 10}, MACs: 0, Images: 10, Total: us(5000)},
	}
	var out bytes.Buffer
	printTimeGoes(&out, nodes, 1e9, 1, 1)
	rows := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n")[2:] {
		f := strings.Fields(l)
		rows[f[0]] = f
	}
	// kernel@output ops us/img time MACs GMAC/s of-peak over-us of-gap
	want := map[string][]string{
		"conv@8x8":      {"conv@8x8", "2", "4000.0", "80.0%", "100.0%", "0.8", "75%", "1000.0", "50.0%"},
		"depthwise@8x8": {"depthwise@8x8", "1", "500.0", "10.0%", "0.0%", "0.0", "0%", "500.0", "25.0%"},
		"softmax":       {"softmax", "1", "500.0", "10.0%", "0.0%", "0.0", "0%", "500.0", "25.0%"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %v, want %v:\n%s", rows, want, out.String())
	}
	for k, w := range want {
		if !slices.Equal(rows[k], w) {
			t.Errorf("row %q = %v, want %v", k, rows[k], w)
		}
	}
	if !strings.Contains(out.String(), "60% of it overall") {
		t.Errorf("overall share (3e6 MACs in 5000 us at 1e9) missing:\n%s", out.String())
	}
	out.Reset()
	printTimeGoes(&out, nodes, 0, 1, 1)
	if out.Len() != 0 {
		t.Errorf("printed without a peak: %s", out.String())
	}
}

func TestBenchDecode(t *testing.T) {
	dir := t.TempDir()
	photo := filepath.Join(dir, "p.jpg")
	writeJPEG(t, photo) // 160x120: the fast path needs 1/8 scale >= target
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"bench", "--decode", "--size", "12", "--repeat", "1", "--json", photo}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	var r decodeBench
	if err := json.Unmarshal(lines[0], &r); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if r.Width != 160 || r.Height != 120 || r.StdlibMS <= 0 || r.ExactMS <= 0 || r.FastMS <= 0 || r.FastPath != "fast" || r.ExactPath != "exact" || r.ExactVsStdlibMaxAbs > 3.0/255 {
		t.Fatalf("result %+v", r)
	}
	if _, err := exec.LookPath("jpegtran"); err != nil {
		t.Fatal("jpegtran not found: run `make deps` (installs libjpeg-turbo-progs)")
	}
	if r.DjpegMS <= 0 || r.DjpegCPUMS < 0 || r.ExactVsDjpegCPU < 0 {
		t.Fatalf("no djpeg comparison: %+v", r)
	}
	// One line per other format: the arithmetic transcodes decode to the very same tensor.
	paths := map[string]string{}
	for _, l := range lines[1:] {
		var f formatBench
		if err := json.Unmarshal(l, &f); err != nil {
			t.Fatalf("format line %q: %v", l, err)
		}
		if f.MS <= 0 || f.Width != 160 || f.Height != 120 {
			t.Fatalf("format line %+v", f)
		}
		if strings.HasPrefix(f.Format, "jpeg") && (f.MaxAbsVsJPEG == nil || *f.MaxAbsVsJPEG != 0) {
			t.Fatalf("%s differs from the photo's tensor: %+v", f.Format, f)
		}
		paths[f.Format] = f.Path
	}
	want := map[string]string{"jpeg arithmetic": "exact", "jpeg arith progressive": "exact", "png": "stream", "bmp": "stdlib", "gif": "stdlib"}
	for k, v := range want {
		if paths[k] != v {
			t.Errorf("format %s: path %q, want %q (all: %v)", k, paths[k], v, paths)
		}
	}
	out.Reset()
	if code := run(t.Context(), []string{"bench", "--decode", "--size", "12", "--repeat", "1", photo}, &out, &errb); code != 0 || !strings.Contains(out.String(), "image/jpeg") {
		t.Fatalf("text output exit %d: %s", code, out.String())
	}
}

// TestBenchRounds: --rounds splits the run into rounds and reports their
// medians, the statistic bench_ort.js reports for ONNX Runtime, so that
// make bench compares the two engines alike; --rounds 0 is refused.
func TestBenchRounds(t *testing.T) {
	model := writeModel(t, t.TempDir(), 10)
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"bench", "--model", model, "--batch", "2", "--threads", "1", "--duration", "60ms", "--rounds", "3", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var r struct {
		Rounds  int       `json:"rounds"`
		Round   []float64 `json:"round_ms_per_img"`
		MS      float64   `json:"ms_per_img"`
		ImgPerS float64   `json:"img_per_s"`
		Images  int       `json:"images"`
		Runs    int       `json:"runs"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if r.Rounds != 3 || len(r.Round) != 3 {
		t.Fatalf("rounds %d, per-round times %v, want 3", r.Rounds, r.Round)
	}
	sorted := slices.Clone(r.Round)
	slices.Sort(sorted)
	if r.MS != sorted[1] {
		t.Errorf("ms_per_img %v is not the median of the rounds %v", r.MS, r.Round)
	}
	if math.Abs(r.ImgPerS*r.MS-1000) > 1e-6 {
		t.Errorf("img_per_s %v does not match ms_per_img %v", r.ImgPerS, r.MS)
	}
	if r.Runs < 3 || r.Images != 2*r.Runs {
		t.Errorf("runs %d, images %d: every round runs the model at least once", r.Runs, r.Images)
	}
	out.Reset()
	if code := run(t.Context(), []string{"bench", "--model", model, "--duration", "10ms", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), `"rounds":1`) || strings.Contains(out.String(), "round_ms_per_img") {
		t.Errorf("one round by default, without per-round times: %s", out.String())
	}
	errb.Reset()
	if code := run(t.Context(), []string{"bench", "--model", model, "--rounds", "0"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--rounds") {
		t.Errorf("--rounds 0: exit %d, %q", code, errb.String())
	}
}

// TestBenchPaced: --paced prints a ready line after the warm-up, then one
// round per input line, each a full bench line, and stops at the end of
// input; it is refused without --json and with --rounds or --node-times.
func TestBenchPaced(t *testing.T) {
	model := writeModel(t, t.TempDir(), 10)
	saved := benchStdin
	t.Cleanup(func() { benchStdin = saved })
	benchStdin = strings.NewReader("go\ngo\n\ngo\n")
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"bench", "--model", model, "--batch", "2", "--threads", "1", "--duration", "20ms", "--paced", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 || lines[0] != `{"ready":true}` {
		t.Fatalf("want a ready line and one line per input line (4), got %d lines:\n%s", len(lines), out.String())
	}
	for _, l := range lines[1:] {
		var r struct {
			Rounds  int     `json:"rounds"`
			Batch   int     `json:"batch"`
			Threads int     `json:"threads"`
			Runs    int     `json:"runs"`
			Images  int     `json:"images"`
			Seconds float64 `json:"seconds"`
			MS      float64 `json:"ms_per_img"`
			ImgPerS float64 `json:"img_per_s"`
			CPU     float64 `json:"cpu_ms_per_img"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if r.Rounds != 1 || r.Batch != 2 || r.Threads != 1 || r.Runs < 1 || r.Images != 2*r.Runs {
			t.Errorf("line %q: want one round of batch 2 on 1 thread with images = 2 × runs", l)
		}
		if r.Seconds < 0.015 || math.Abs(r.MS-r.Seconds*1000/float64(r.Images)) > 1e-9 || math.Abs(r.ImgPerS*r.MS-1000) > 1e-6 || r.CPU <= 0 {
			t.Errorf("line %q: a round lasts --duration and its times agree", l)
		}
	}
	for _, bad := range [][]string{{"--paced"}, {"--paced", "--json", "--rounds", "3"}, {"--paced", "--json", "--node-times"}} {
		errb.Reset()
		if code := run(t.Context(), append([]string{"bench", "--model", model}, bad...), &out, &errb); code != 2 || !strings.Contains(errb.String(), "--paced") {
			t.Errorf("%v: exit %d, %q", bad, code, errb.String())
		}
	}
}

// TestBenchScriptPacing drives two stand-in engines through make bench's
// slice-by-slice driver (scripts/bench.sh, sourced with no section
// selected): both start and report ready, every slice request is answered
// by the engine asked, in order, and stopping closes both and waits for them.
func TestBenchScriptPacing(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("bash: %v", err)
	}
	script, err := filepath.Abs("../../scripts/bench.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	engine := filepath.Join(dir, "engine.sh")
	if err := os.WriteFile(engine, []byte(`n=0; echo '{"ready":true}'; while read -r l; do n=$((n+1)); echo "{\"name\":\"$1\",\"img_per_s\":$n}"; done; echo "$1 done after $n" >>"$2"`), 0o644); err != nil {
		t.Fatal(err)
	}
	driver := `set -euo pipefail
tmp=` + dir + `
BENCH_ONLY=none source ` + script + `
paced_start a bash "$tmp/engine.sh" a "$tmp/log"
paced_start b bash "$tmp/engine.sh" b "$tmp/log"
for i in 1 2 3; do paced_slice a; paced_slice b; done
paced_slice a
echo "${slice_out[a]} $(jf "${slice_out[b]}" img_per_s) $(med 3 1 2 10) $(ratio 3 2)"
paced_stop
sort "$tmp/log"
paced_start c false || echo "c refused"
`
	out, err := exec.Command("bash", "-c", driver).CombinedOutput()
	if err != nil {
		t.Fatalf("driver: %v\n%s", err, out)
	}
	want := `{"name":"a","img_per_s":4} 3 3 1.500000
a done after 4
b done after 3
bench: c did not start (no output): false
c refused
`
	if string(out) != want {
		t.Errorf("driver output:\n%s\nwant:\n%s", out, want)
	}
}
