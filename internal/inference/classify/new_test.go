package classify

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

func TestParseLabels(t *testing.T) {
	got, err := ParseLabels(strings.NewReader("background\r\n tench \ngoldfish\n\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"background", "tench", "goldfish"}, got); diff != "" {
		t.Fatalf("labels (-want +got):\n%s", diff)
	}
}

func TestNewWithGeneratedModel(t *testing.T) {
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v1", Width: 0.25, Size: 128, Classes: 7, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	labels := []string{"background", "a", "b", "c", "d", "e", "f", "g"}
	c, err := New(g.TFLite(), labels, Options{TopK: 3, LabelOffset: 1, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if h, w, ch := c.InputShape(); h != 128 || w != 128 || ch != 3 {
		t.Fatalf("input %dx%dx%d", h, w, ch)
	}
	img := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for y := range 200 {
		for x := range 300 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	p, err := c.Classify(t.Context(), bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.TopK) != 3 || p.TopK[0].ClassIndex != p.PredictedClass || p.Label != labels[p.PredictedClass+1] {
		t.Fatalf("prediction %+v", p)
	}
	if p.TopK[0].Score < p.TopK[1].Score || p.TopK[1].Score < p.TopK[2].Score {
		t.Fatalf("top-k not sorted: %+v", p.TopK)
	}
	if _, err := New([]byte("not a model"), nil, Options{}); err == nil {
		t.Fatal("garbage model accepted")
	}
}
