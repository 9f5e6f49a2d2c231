package tflite

import "github.com/cspipe/cspipe/internal/inference/graph"

// Work exposes the planner's cost estimate to the external tests.
func Work(m *graph.Model) int64 { return m.Work() }

// FoldFile parses a file and folds its constant operators, returning which
// operators folded and the tensors afterwards.
func FoldFile(b []byte) ([]bool, []*graph.Tensor, error) {
	rg, err := parseFile(b)
	if err != nil {
		return nil, nil, err
	}
	folded, err := foldConstants(rg)
	return folded, rg.tensors, err
}
