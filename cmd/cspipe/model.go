package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/records"
)

func init() {
	register("model", "build a model archive (model pack --model model.tflite --labels labels.txt --out model.tar.gz)", runModel)
}

func runModel(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "pack" {
		fmt.Fprintln(stderr, "usage: cspipe model pack --model model.tflite --labels labels.txt --out model.tar.gz [--input-range 0,1|-1,1] [--label-offset N]")
		return exitError{code: 2}
	}
	fs := flag.NewFlagSet("model pack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "the TFLite model (required)")
	labels := fs.String("labels", "", "labels.txt, one label per line (required)")
	out := fs.String("out", "", "where to write the archive (.tar.gz; required)")
	inputRange := fs.String("input-range", "", `the model's input range, "0,1" (default) or "-1,1" (written to cspipe.json)`)
	labelOffset := fs.Int("label-offset", 0, "added to a class index to find its line in labels.txt (written to cspipe.json)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{code: 2}
	}
	if *model == "" || *labels == "" || *out == "" || fs.NArg() > 0 {
		return exitError{code: 2, msg: "model pack needs --model, --labels and --out (and no other arguments)"}
	}
	arc, rep, err := packModel(*model, *labels, records.ModelMetadata{InputRange: *inputRange, LabelOffset: *labelOffset})
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, arc, 0o644); err != nil {
		return fmt.Errorf("writing the archive: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s: %d bytes, sha256 %s, %d labels (accepted by the same checks as RegisterModel)\n",
		*out, rep.Size, rep.SHA256, rep.Labels)
	return nil
}

// packModel builds the archive RegisterModel accepts (model.tflite, labels.txt, and cspipe.json
// when meta is not zero) and checks it with internal/archive's limits before anything is written.
func packModel(modelPath, labelsPath string, meta records.ModelMetadata) ([]byte, archive.Report, error) {
	tfl, err := readFileLimit(modelPath, maxModelFileBytes, "--model")
	if err != nil {
		return nil, archive.Report{}, err
	}
	lab, err := readFileLimit(labelsPath, maxLabelsFileBytes, "--labels")
	if err != nil {
		return nil, archive.Report{}, err
	}
	// The archive names the model by its format: ONNX models go in as model.onnx.
	modelName := records.ModelFile
	if strings.EqualFold(filepath.Ext(modelPath), ".onnx") {
		modelName = records.ONNXModelFile
	}
	files := []archive.File{{Name: modelName, Data: tfl}, {Name: records.LabelsFile, Data: lab}}
	if meta != (records.ModelMetadata{}) {
		b, err := json.Marshal(meta)
		if err != nil {
			return nil, archive.Report{}, err
		}
		files = append(files, archive.File{Name: records.MetadataFile, Data: b})
	}
	arc := archive.Build(files)
	rep, err := archive.Validate(bytes.NewReader(arc), archive.Limits{})
	if err != nil {
		return nil, archive.Report{}, fmt.Errorf("the archive would be rejected: %w", err)
	}
	return arc, rep, nil
}
