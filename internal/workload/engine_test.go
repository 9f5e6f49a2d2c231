package workload_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/records"
	"github.com/cspipe/cspipe/internal/workload"
	"github.com/cspipe/cspipe/internal/workload/workloadtest"
)

// tinyModelArchive packs the repository's random-weight MobileNet fixture with ten labels.
func tinyModelArchive(t testing.TB) []byte {
	t.Helper()
	tfl, err := os.ReadFile("../../testdata/models/mobilenet_v1_0.25_128_c10.tflite")
	if err != nil {
		t.Fatal(err)
	}
	labels := ""
	for i := range 10 {
		labels += fmt.Sprintf("class-%d\n", i)
	}
	return archive.Build([]archive.File{{Name: records.ModelFile, Data: tfl}, {Name: records.LabelsFile, Data: []byte(labels)}})
}

func TestLoadEngine(t *testing.T) {
	clf, err := workload.LoadEngine(t.Context(), tinyModelArchive(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	p, err := clf.Classify(t.Context(), workloadtest.PNG(32, 32, 200))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.TopK) != 3 || p.PredictedClass != p.TopK[0].ClassIndex || p.Label != fmt.Sprintf("class-%d", p.PredictedClass) {
		t.Errorf("prediction = %+v", p)
	}
	_, err = clf.Classify(t.Context(), []byte("plain text, not an image"))
	var ie *workload.ImageError
	if !errors.As(err, &ie) || ie.Code != records.ErrNotAnImage {
		t.Errorf("text: err = %v, want an ImageError %s", err, records.ErrNotAnImage)
	}
	if _, err := workload.LoadEngine(t.Context(), []byte("not gzip"), 3); err == nil {
		t.Error("LoadEngine accepted garbage")
	}
}

// TestLoadEngineONNX: an archive holding model.onnx loads and predicts what the same weights
// as model.tflite predict.
func TestLoadEngineONNX(t *testing.T) {
	onnxModel, err := os.ReadFile("../../testdata/models/mobilenet_v1_0.25_128_c10.onnx")
	if err != nil {
		t.Fatal(err)
	}
	var labels string
	for i := range 10 {
		labels += fmt.Sprintf("class-%d\n", i)
	}
	onnxArchive := archive.Build([]archive.File{{Name: records.ONNXModelFile, Data: onnxModel}, {Name: records.LabelsFile, Data: []byte(labels)}})
	var preds []workload.Prediction
	for _, b := range [][]byte{tinyModelArchive(t), onnxArchive} {
		clf, err := workload.LoadEngine(t.Context(), b, 3)
		if err != nil {
			t.Fatal(err)
		}
		p, err := clf.Classify(t.Context(), workloadtest.PNG(40, 30, 120))
		if err != nil {
			t.Fatal(err)
		}
		preds = append(preds, p)
	}
	for i := range preds[0].TopK {
		if preds[0].TopK[i].ClassIndex != preds[1].TopK[i].ClassIndex {
			t.Fatalf("top-k: tflite %+v, onnx %+v", preds[0].TopK, preds[1].TopK)
		}
	}
}
