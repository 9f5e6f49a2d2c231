package classify

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/cspipe/cspipe/internal/tflite"
)

// New loads a .tflite model and builds a Classifier around it. When Options.Threads allows
// more than one image at a time, each model run uses one goroutine (parallelism comes from
// running images side by side); with Threads 1 a run may spread over every core.
func New(model []byte, labels []string, o Options) (*Classifier, error) {
	m, err := tflite.Load(model)
	if err != nil {
		return nil, err
	}
	if o.Threads == 1 {
		m.SetThreads(0)
	} else {
		m.SetThreads(1)
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
