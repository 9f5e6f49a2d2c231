package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/records"
)

// TestClassifyEXIFOrientation: a JPEG tagged with EXIF orientation 6 classifies differently
// with --exif-orientation apply (the default) and ignore; an archive whose cspipe.json says
// "ignore" behaves like the flag, and the flag overrides the archive; a bad value is a usage
// error.
func TestClassifyEXIFOrientation(t *testing.T) {
	dir := t.TempDir()
	model := writeModel(t, dir, 4)
	tfl, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	arch := filepath.Join(dir, "model.tar.gz")
	os.WriteFile(arch, archive.Build([]archive.File{
		{Name: records.ModelFile, Data: tfl},
		{Name: records.LabelsFile, Data: []byte("w\nx\ny\nz\n")},
		{Name: records.MetadataFile, Data: []byte(`{"exif_orientation":"ignore"}`)},
	}), 0o644)
	img := filepath.Join(dir, "a.jpg")
	writeJPEG(t, img)
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	tiff := []byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")
	seg := append([]byte{0xFF, 0xE1, 0, byte(len(tiff) + 2)}, tiff...)
	rotated := append(append([]byte{0xFF, 0xD8}, seg...), data[2:]...)
	if err := os.WriteFile(img, rotated, 0o644); err != nil {
		t.Fatal(err)
	}
	classifyOne := func(args ...string) []records.Class {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(t.Context(), append(append([]string{"classify"}, args...), img), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		var l classifyLine
		if err := json.Unmarshal(out.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		return l.TopK
	}
	applied := classifyOne("--model", model)
	ignored := classifyOne("--model", model, "--exif-orientation", "ignore")
	if cmp.Equal(applied, ignored) {
		t.Fatal("orientation 6 applied and ignored give the same scores")
	}
	if got := classifyOne("--model", arch); !cmp.Equal(scores(got), scores(ignored)) {
		t.Fatal(`the archive's "exif_orientation":"ignore" was not applied`)
	}
	if got := classifyOne("--model", arch, "--exif-orientation", "apply"); !cmp.Equal(scores(got), scores(applied)) {
		t.Fatal("--exif-orientation apply did not override the archive")
	}
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"classify", "--model", model, "--exif-orientation", "sideways", img}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "exif-orientation") {
		t.Fatalf("bad value: exit %d, stderr %q", code, errb.String())
	}
}

func scores(cs []records.Class) []float32 {
	var s []float32
	for _, c := range cs {
		s = append(s, c.Score)
	}
	return s
}
