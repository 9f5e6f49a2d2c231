package stack

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/records"
)

// SyntheticModel builds a model archive holding a random-weight MobileNet (its predictions mean
// nothing: the weights are synthetic) with labels "synthetic-class-N".
func SyntheticModel(cfg modelgen.Config) ([]byte, error) {
	g, err := modelgen.MobileNet(cfg)
	if err != nil {
		return nil, fmt.Errorf("generating the model: %w", err)
	}
	var labels strings.Builder
	for i := range cfg.Classes {
		fmt.Fprintf(&labels, "synthetic-class-%d\n", i)
	}
	meta, err := json.Marshal(records.ModelMetadata{InputRange: "0,1"})
	if err != nil {
		return nil, err
	}
	return archive.Build([]archive.File{
		{Name: records.ModelFile, Data: g.TFLite()},
		{Name: records.LabelsFile, Data: []byte(labels.String())},
		{Name: records.MetadataFile, Data: meta},
	}), nil
}
