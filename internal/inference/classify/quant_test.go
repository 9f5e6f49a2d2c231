package classify

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// TestInt8Model: an int8 model, TFLite or QDQ ONNX, classifies a photo like
// the float model it was quantized from (the float image is quantized with
// the input tensor's parameters by the model's QUANTIZE or QuantizeLinear):
// same top class, scores close.
func TestInt8Model(t *testing.T) {
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v1", Width: 0.25, Size: 64, Classes: 7, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	q, err := modelgen.Quantize(g, modelgen.CalibrationImages(3, 4*64*64*3), 4)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 120, 90))
	for y := range 90 {
		for x := range 120 {
			img.Set(x, y, color.RGBA{uint8(2 * x), uint8(3 * y), uint8(x * y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	qdq, err := q.QDQ(modelgen.QDQOptions{Uint8: true})
	if err != nil {
		t.Fatal(err)
	}
	var preds []Prediction
	for _, model := range [][]byte{g.TFLite(), q.TFLite(), qdq} {
		c, err := New(model, nil, Options{TopK: 7, InputRange: "-1,1"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.Classify(t.Context(), bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		preds = append(preds, p)
	}
	f := preds[0]
	for i, what := range []string{"", "int8 TFLite", "int8 QDQ ONNX"} {
		if i == 0 {
			continue
		}
		i8 := preds[i]
		if f.PredictedClass != i8.PredictedClass {
			t.Fatalf("%s predicts %d, float %d", what, i8.PredictedClass, f.PredictedClass)
		}
		if d := math.Abs(float64(f.TopK[0].Score - i8.TopK[0].Score)); d > 0.05 {
			t.Fatalf("top score %g (%s) vs %g (float)", i8.TopK[0].Score, what, f.TopK[0].Score)
		}
	}
}
