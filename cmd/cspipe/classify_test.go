package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
	"github.com/cspipe/cspipe/internal/records"
)

// writeModel writes a small random-weight MobileNet into dir and returns its path.
func writeModel(t *testing.T, dir string, classes int) string {
	t.Helper()
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v1", Width: 0.25, Size: 128, Classes: classes, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "m.tflite")
	if err := os.WriteFile(p, g.TFLite(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeJPEG(t *testing.T, path string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := range 120 {
		for x := range 160 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(2 * y), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestClassifyCommand(t *testing.T) {
	dir := t.TempDir()
	model := writeModel(t, dir, 4)
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(labels, []byte("background\nw\nx\ny\nz\n"), 0o644)
	good := filepath.Join(dir, "good.jpg")
	writeJPEG(t, good)
	bad := filepath.Join(dir, "bad.jpg")
	os.WriteFile(bad, []byte("this is text"), 0o644)
	missing := filepath.Join(dir, "missing.jpg")

	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"classify", "--model", model, "--labels", labels, "--label-offset", "1", "--top-k", "2", good, bad, missing}, &out, &errb)
	if code != exitSomeImagesFailed {
		t.Fatalf("exit code %d, want %d; stderr %s", code, exitSomeImagesFailed, errb.String())
	}
	var lines []classifyLine
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var l classifyLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 3 {
		t.Fatalf("got %d lines: %s", len(lines), out.String())
	}
	g := lines[0]
	if g.Image != good || g.PredictedClass == nil || len(g.TopK) != 2 || g.TopK[0].ClassIndex != *g.PredictedClass ||
		g.Label != []string{"w", "x", "y", "z"}[*g.PredictedClass] || g.Error != "" {
		t.Fatalf("good line %+v", g)
	}
	codes := []string{lines[1].ErrorCode, lines[2].ErrorCode}
	if diff := cmp.Diff([]string{records.ErrNotAnImage, records.ErrRead}, codes); diff != "" {
		t.Fatalf("error codes (-want +got):\n%s", diff)
	}
	if lines[1].PredictedClass != nil || lines[1].Error == "" {
		t.Fatalf("bad line %+v", lines[1])
	}

	out.Reset()
	if code := run(t.Context(), []string{"classify", "--model", model, good}, &out, &errb); code != 0 {
		t.Fatalf("all-good exit code %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), `"predicted_class":`) {
		t.Fatalf("output %s", out.String())
	}
	if code := run(t.Context(), []string{"classify", good}, &out, &errb); code != 2 {
		t.Fatalf("missing --model: exit %d", code)
	}
}

func TestClassifyTensor(t *testing.T) {
	dir := t.TempDir()
	model := writeModel(t, dir, 5)
	b, _ := os.ReadFile(model)
	m, err := tflite.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 2
	in := make([]float32, batch*128*128*3)
	for i := range in {
		in[i] = float32(i%251) / 251
	}
	want := make([]float32, batch*5)
	if err := m.Run(in, batch, want); err != nil {
		t.Fatal(err)
	}
	inPath, outPath := filepath.Join(dir, "in.f32"), filepath.Join(dir, "out.f32")
	os.WriteFile(inPath, encodeF32(in), 0o644)
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"classify", "--model", model, "--tensor", inPath, "--out", outPath}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	raw, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, decodeF32(raw)); diff != "" {
		t.Fatalf("output (-want +got):\n%s", diff)
	}
	os.WriteFile(inPath, []byte{1, 2, 3}, 0o644)
	if code := run(t.Context(), []string{"classify", "--model", model, "--tensor", inPath, "--out", outPath}, &out, &errb); code != 1 {
		t.Fatalf("short tensor: exit %d", code)
	}
}

func TestClassifyModelArchive(t *testing.T) {
	dir := t.TempDir()
	model := writeModel(t, dir, 4)
	tfl, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	labels := "background\nw\nx\ny\nz\n"
	arch := filepath.Join(dir, "model.tar.gz")
	os.WriteFile(arch, archive.Build([]archive.File{
		{Name: records.ModelFile, Data: tfl},
		{Name: records.LabelsFile, Data: []byte(labels)},
		{Name: records.MetadataFile, Data: []byte(`{"input_range":"-1,1","label_offset":1}`)},
	}), 0o644)
	labelsPath := filepath.Join(dir, "labels.txt")
	os.WriteFile(labelsPath, []byte(labels), 0o644)
	img := filepath.Join(dir, "a.jpg")
	writeJPEG(t, img)

	classifyOne := func(args ...string) classifyLine {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(t.Context(), append(append([]string{"classify"}, args...), img), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		var l classifyLine
		if err := json.Unmarshal(out.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		l.DecodeMS, l.InferMS = 0, 0
		return l
	}
	fromArchive := classifyOne("--model", arch)
	explicit := classifyOne("--model", model, "--labels", labelsPath, "--label-offset", "1", "--input-range", "-1,1")
	if diff := cmp.Diff(explicit, fromArchive); diff != "" {
		t.Fatalf("archive metadata not applied (-explicit +archive):\n%s", diff)
	}
	if fromArchive.Label == "" || fromArchive.Label == "background" {
		t.Fatalf("label %q", fromArchive.Label)
	}
	otherRange := classifyOne("--model", arch, "--input-range", "0,1")
	if cmp.Equal(otherRange.TopK, fromArchive.TopK) {
		t.Fatal("--input-range did not override the archive's range (scores identical)")
	}
}

// TestClassifyONNXModel: --model takes an .onnx file, and it classifies as
// the .tflite encoding of the same weights does.
func TestClassifyONNXModel(t *testing.T) {
	dir := t.TempDir()
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v1", Width: 0.25, Size: 128, Classes: 6, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	onnxBytes, err := g.ONNXWith(modelgen.ONNXOptions{NCHWInput: true, GlobalPool: true})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string][]byte{"m.tflite": g.TFLite(), "m.onnx": onnxBytes}
	img := filepath.Join(dir, "img.jpg")
	writeJPEG(t, img)
	var got []classifyLine
	for _, name := range []string{"m.tflite", "m.onnx"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, paths[name], 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		if code := run(t.Context(), []string{"classify", "--model", p, "--top-k", "3", img}, &out, &errb); code != 0 {
			t.Fatalf("%s: exit code %d: %s", name, code, errb.String())
		}
		var l classifyLine
		if err := json.Unmarshal(out.Bytes(), &l); err != nil {
			t.Fatalf("%s: %q: %v", name, out.String(), err)
		}
		got = append(got, l)
	}
	if got[0].PredictedClass == nil || got[1].PredictedClass == nil || *got[0].PredictedClass != *got[1].PredictedClass {
		t.Fatalf("tflite %+v, onnx %+v", got[0], got[1])
	}
	for i := range got[0].TopK {
		if got[0].TopK[i].ClassIndex != got[1].TopK[i].ClassIndex {
			t.Fatalf("top-k differs: tflite %+v, onnx %+v", got[0].TopK, got[1].TopK)
		}
	}
}
