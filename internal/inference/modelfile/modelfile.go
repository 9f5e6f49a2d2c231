// Package modelfile loads a model file in any format the engine reads —
// TFLite or ONNX — telling them apart by their content.
package modelfile

import (
	"fmt"

	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/onnx"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// Formats Detect reports.
const (
	TFLite = "tflite"
	ONNX   = "onnx"
)

// Detect names b's format: TFLite by its FlatBuffers identifier, ONNX by
// its first protobuf field (ir_version, which every ONNX writer puts
// first), "" otherwise.
func Detect(b []byte) string {
	switch {
	case len(b) >= 8 && string(b[4:8]) == tflite.FileIdentifier:
		return TFLite
	case len(b) >= 2 && b[0] == 0x08:
		return ONNX
	}
	return ""
}

// Load reads and plans a TFLite or ONNX model. Errors are permanent.
func Load(b []byte) (*graph.Model, error) {
	switch Detect(b) {
	case TFLite:
		return tflite.Load(b)
	case ONNX:
		return onnx.Load(b)
	}
	return nil, errclass.Permanent(fmt.Errorf("loading model: neither a TFLite file (no %q identifier) nor an ONNX model", tflite.FileIdentifier))
}
