package workload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/inference/classify"
)

// LoadEngine is the production ModelLoader: it unpacks the verified archive in memory with the
// same limits RegisterModel applies (archive.DefaultLimits) and loads the model with the
// inference engine. The archive's cspipe.json supplies the input range and label offset.
func LoadEngine(_ context.Context, b []byte, topK int) (Classifier, error) {
	m, err := archive.Extract(b, archive.DefaultLimits())
	if err != nil {
		return nil, fmt.Errorf("unpacking model archive: %w", err)
	}
	c, err := classify.New(m.Model, m.Labels, classify.Options{
		TopK: topK, InputRange: m.Metadata.InputRange, LabelOffset: m.Metadata.LabelOffset,
		IgnoreEXIFOrientation: m.Metadata.EXIFOrientation == "ignore",
		MaxBytes:              MaxImageBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("loading model: %w", err)
	}
	return engine{c}, nil
}

type engine struct{ c *classify.Classifier }

func (e engine) Classify(ctx context.Context, data []byte) (Prediction, error) {
	p, err := e.c.ClassifyBytes(ctx, data, time.Time{})
	if err != nil {
		var ie *classify.ImageError
		if errors.As(err, &ie) {
			return Prediction{}, &ImageError{Code: ie.Code, Err: ie.Err}
		}
		return Prediction{}, err
	}
	return Prediction{PredictedClass: p.PredictedClass, Label: p.Label, TopK: p.TopK, DecodeMS: p.DecodeMS, InferMS: p.InferMS}, nil
}
