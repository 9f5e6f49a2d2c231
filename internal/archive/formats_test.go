package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/records"
)

var testONNX = append([]byte{0x08, 0x07, 0x12, 0x03}, []byte("abc")...)

func TestExtractONNX(t *testing.T) {
	b := Build([]File{{Name: records.ONNXModelFile, Data: testONNX}, {Name: records.LabelsFile, Data: []byte("a\nb\n")}})
	m, err := Extract(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != FormatONNX || !bytes.Equal(m.Model, testONNX) {
		t.Errorf("Extract() = format %q, %d model bytes; want onnx and the file", m.Format, len(m.Model))
	}
	m, err = Extract(Build(good()), Limits{})
	if err != nil || m.Format != FormatTFLite {
		t.Errorf("TFLite archive: format %q, err %v", m.Format, err)
	}
}

// TestRefusesForeignFormats: SavedModel and Keras archives (and a bare Keras file) are refused
// as unsupported_model_format with the conversion command in the detail.
func TestRefusesForeignFormats(t *testing.T) {
	labels := File{Name: records.LabelsFile, Data: []byte("a\n")}
	cases := []struct {
		name  string
		b     []byte
		entry string
		want  string
	}{
		{"saved model", Build([]File{{Name: "saved_model.pb", Data: []byte("x")}, labels}), "saved_model.pb", "TFLiteConverter.from_saved_model"},
		{"saved model in a folder", Build([]File{{Name: "mobilenet/", Typeflag: tar.TypeDir}, {Name: "mobilenet/saved_model.pb", Data: []byte("x")}}), "mobilenet/saved_model.pb", "tf2onnx.convert --saved-model"},
		{"variables dir first", Build([]File{{Name: "variables/", Typeflag: tar.TypeDir}, {Name: "variables/variables.index", Data: []byte("x")}}), "variables/", "TensorFlow SavedModel"},
		{"keras in archive", Build([]File{{Name: "model.keras", Data: []byte("PK")}, labels}), "model.keras", "from_keras_model"},
		{"h5 in archive", Build([]File{{Name: "weights.h5", Data: []byte("x")}, labels}), "weights.h5", "tf2onnx.convert --keras"},
		{"bare h5", []byte("\x89HDF\r\n\x1a\n rest of file"), "", "Keras .h5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Validate(bytes.NewReader(tc.b), Limits{})
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("Validate() = %v, want an *Error", err)
			}
			if ae.Reason != ReasonUnsupportedModel || ae.Entry != tc.entry || !strings.Contains(ae.Detail, tc.want) {
				t.Errorf("Validate() = %+v, want reason %s, entry %q, detail containing %q", ae, ReasonUnsupportedModel, tc.entry, tc.want)
			}
		})
	}
}

func TestZipIsCorruptWithKerasHint(t *testing.T) {
	_, err := Validate(bytes.NewReader([]byte("PK\x03\x04 rest")), Limits{})
	var ae *Error
	if !errors.As(err, &ae) || ae.Reason != ReasonCorrupt || !strings.Contains(ae.Detail, "from_keras_model") {
		t.Fatalf("Validate(zip) = %v, want corrupt with the Keras conversion", err)
	}
}

func TestRefusesTwoModelsOrBadONNX(t *testing.T) {
	labels := File{Name: records.LabelsFile, Data: []byte("a\n")}
	cases := []struct {
		name   string
		files  []File
		reason Reason
	}{
		{"both models", []File{{Name: records.ModelFile, Data: testModel}, {Name: records.ONNXModelFile, Data: testONNX}, labels}, ReasonDuplicate},
		{"not onnx", []File{{Name: records.ONNXModelFile, Data: []byte("hello")}, labels}, ReasonBadModel},
		{"no model", []File{labels}, ReasonMissingEntry},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Validate(bytes.NewReader(Build(tc.files)), Limits{})
			var ae *Error
			if !errors.As(err, &ae) || ae.Reason != tc.reason {
				t.Fatalf("Validate() = %v, want reason %s", err, tc.reason)
			}
		})
	}
}
