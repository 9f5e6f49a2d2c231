// Package classify turns an image into a prediction: imageprep makes the input tensor, an
// inference engine (internal/tflite) runs it, and the scores become a top-k list with labels.
// A Classifier is safe for concurrent use; ClassifyMany runs a stream of images on a worker pool.
package classify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/cspipe/cspipe/internal/inference/imageprep"
	"github.com/cspipe/cspipe/internal/records"
)

// Model is what a Classifier needs from an inference engine; *graph.Model implements it.
type Model interface {
	InputShape() (h, w, c int)
	NumClasses() int
	// Run maps batch NHWC float32 images to batch×NumClasses scores; safe for concurrent use.
	Run(in []float32, batch int, out []float32) error
}

// DefaultMaxBytes bounds how many bytes of one image are read when Options.MaxBytes is zero.
const DefaultMaxBytes = 256 << 20

// Options configure a Classifier. The zero value is usable.
type Options struct {
	// TopK is how many classes each prediction lists; 0 means 5.
	TopK int
	// InputRange is the model's input range: "0,1" (default), "-1,1" or "0,255".
	InputRange string
	// Fast selects imageprep's fast (1/8-scale DC) JPEG decode for large photos.
	Fast bool
	// MaxPixels refuses images whose header declares more pixels; 0 means imageprep's default.
	MaxPixels int64
	// MaxBytes refuses images longer than this; 0 means DefaultMaxBytes.
	MaxBytes int64
	// Threads is the number of images ClassifyMany decodes at once; 0 means the number of CPUs.
	Threads int
	// Batch is the most images ClassifyMany gives the model in one run; 0 means 8. Decoded
	// images are batched as they become ready, so a slow decode never holds others back.
	Batch int
	// LabelOffset is added to a class index to find its label (records.ModelMetadata.LabelOffset:
	// 1 when labels start with a background line the model has no output for).
	LabelOffset int
	// StdlibJPEG decodes JPEG with image/jpeg instead of our decoder.
	StdlibJPEG bool
	// IgnoreEXIFOrientation classifies the stored pixels without turning the photo upright, as
	// TensorFlow's decoders read them (records.ModelMetadata.EXIFOrientation "ignore").
	IgnoreEXIFOrientation bool
}

// Prediction is the outcome for one image.
type Prediction struct {
	PredictedClass int
	Label          string
	TopK           []records.Class
	// DecodeMS covers reading, decoding, resizing and scaling; InferMS the model run.
	DecodeMS, InferMS float64
	// Width and Height are the image's own dimensions; DecodePath is imageprep's path.
	Width, Height int
	DecodePath    string
}

// ImageError is a failure attributable to one image; Code is a records.Err* constant.
type ImageError struct {
	Code string
	Err  error
}

func (e *ImageError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ImageError) Unwrap() error { return e.Err }

// Classifier classifies images with one model.
type Classifier struct {
	model   Model
	labels  []string
	opts    Options
	prep    imageprep.Options
	classes int
}

// NewWithModel builds a Classifier around an already loaded model.
func NewWithModel(m Model, labels []string, o Options) (*Classifier, error) {
	h, w, c := m.InputShape()
	if c != 3 || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("model input is %dx%dx%d, want HxWx3", h, w, c)
	}
	n := m.NumClasses()
	if n <= 0 {
		return nil, fmt.Errorf("model has %d classes", n)
	}
	if o.TopK <= 0 {
		o.TopK = 5
	}
	o.TopK = min(o.TopK, n)
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.Batch <= 0 {
		o.Batch = 8
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.LabelOffset < 0 {
		return nil, fmt.Errorf("label offset %d is negative", o.LabelOffset)
	}
	p := imageprep.Options{Width: w, Height: h, InputRange: o.InputRange, Fast: o.Fast, MaxPixels: o.MaxPixels, Stdlib: o.StdlibJPEG,
		IgnoreOrientation: o.IgnoreEXIFOrientation}
	// Validate the range now rather than on the first image.
	if _, err := imageprep.Prepare(nil, p, make([]float32, p.TensorLen())); err != nil {
		var ie *imageprep.Error
		if !errors.As(err, &ie) {
			return nil, err
		}
	}
	return &Classifier{model: m, labels: labels, opts: o, prep: p, classes: n}, nil
}

// InputShape is the model's input height, width and channels.
func (c *Classifier) InputShape() (h, w, ch int) { return c.prep.Height, c.prep.Width, 3 }

// Label is the label of class i, or "" when the labels do not cover it.
func (c *Classifier) Label(i int) string {
	j := i + c.opts.LabelOffset
	if j < 0 || j >= len(c.labels) {
		return ""
	}
	return c.labels[j]
}

// Classify reads one image from r and predicts its class.
func (c *Classifier) Classify(ctx context.Context, r io.Reader) (Prediction, error) {
	start := time.Now()
	data, err := c.read(r)
	if err != nil {
		return Prediction{}, err
	}
	return c.ClassifyBytes(ctx, data, start)
}

// read reads a whole image, refusing more than Options.MaxBytes.
func (c *Classifier) read(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, c.opts.MaxBytes+1))
	if err != nil {
		return nil, &ImageError{Code: records.ErrRead, Err: fmt.Errorf("reading image: %w", err)}
	}
	if int64(len(data)) > c.opts.MaxBytes {
		return nil, &ImageError{Code: records.ErrTooLarge, Err: fmt.Errorf("image is longer than %d bytes", c.opts.MaxBytes)}
	}
	return data, nil
}

// ClassifyBytes predicts the class of an image already in memory; start is when reading began
// (for DecodeMS), or the zero time to start the clock now.
func (c *Classifier) ClassifyBytes(ctx context.Context, data []byte, start time.Time) (Prediction, error) {
	in, p, err := c.prepare(ctx, data, start)
	if err != nil {
		return Prediction{}, err
	}
	decoded := time.Now()
	out := make([]float32, c.classes)
	if err := c.model.Run(in, 1, out); err != nil {
		return Prediction{}, &ImageError{Code: records.ErrInference, Err: fmt.Errorf("running model: %w", err)}
	}
	p.InferMS = ms(time.Since(decoded))
	c.rank(out, &p)
	return p, nil
}

// prepare decodes data into a new input tensor; the Prediction carries the decode facts.
func (c *Classifier) prepare(ctx context.Context, data []byte, start time.Time) ([]float32, Prediction, error) {
	if start.IsZero() {
		start = time.Now()
	}
	if err := ctx.Err(); err != nil {
		return nil, Prediction{}, err
	}
	in := make([]float32, c.prep.TensorLen())
	res, err := imageprep.Prepare(data, c.prep, in)
	if err != nil {
		var pe *imageprep.Error
		if errors.As(err, &pe) {
			return nil, Prediction{}, &ImageError{Code: pe.Code, Err: err}
		}
		return nil, Prediction{}, fmt.Errorf("preparing image: %w", err)
	}
	p := Prediction{DecodeMS: ms(time.Since(start)), Width: res.Width, Height: res.Height, DecodePath: res.Path}
	return in, p, ctx.Err()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rank fills p's top-k from scores: highest first, ties by lower class index (NaN last). One
// pass with a k-long insertion list: sorting all 1001 scores cost more than the bookkeeping of a
// whole workload run.
func (c *Classifier) rank(scores []float32, p *Prediction) {
	idx := topK(scores, c.opts.TopK)
	top := make([]records.Class, len(idx))
	for k := range top {
		i := idx[k]
		top[k] = records.Class{ClassIndex: i, Label: c.Label(i), Score: scores[i]}
	}
	p.PredictedClass, p.Label, p.TopK = top[0].ClassIndex, top[0].Label, top
}

// topK returns the indices of the k best scores in rank order (the order a stable sort by
// descending score would give).
func topK(scores []float32, k int) []int {
	k = min(k, len(scores))
	best := make([]int, 0, k)
	before := func(a, b int) bool {
		if c := cmp.Compare(scores[a], scores[b]); c != 0 {
			return c > 0
		}
		return a < b
	}
	for i := range scores {
		if k == 0 || (len(best) == k && !before(i, best[k-1])) {
			continue
		}
		j := len(best)
		if j < k {
			best = append(best, i)
		} else {
			j = k - 1
		}
		for ; j > 0 && before(i, best[j-1]); j-- {
			best[j] = best[j-1]
		}
		best[j] = i
	}
	return best
}
