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
