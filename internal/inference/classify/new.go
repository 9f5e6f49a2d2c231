package classify

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/cspipe/cspipe/internal/inference/modelfile"
)

// New loads a TFLite or ONNX model and builds a Classifier around it. The engine uses every core:
// a single image is split inside (Classify), a batch runs images side by side (ClassifyMany).
func New(model []byte, labels []string, o Options) (*Classifier, error) {
	m, err := modelfile.Load(model)
	if err != nil {
		return nil, err
	}
	return NewWithModel(m, labels, o)
}

// ParseLabels reads a labels file: one label per line, surrounding blanks trimmed, trailing
// empty lines dropped. Line i is the label of class i - Options.LabelOffset.
func ParseLabels(r io.Reader) ([]string, error) {
	var labels []string
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), 1<<20)
	for s.Scan() {
		labels = append(labels, strings.TrimSpace(s.Text()))
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("reading labels: %w", err)
	}
	for len(labels) > 0 && labels[len(labels)-1] == "" {
		labels = labels[:len(labels)-1]
	}
	return labels, nil
}
