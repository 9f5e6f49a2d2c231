package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/inference/classify"
	"github.com/cspipe/cspipe/internal/inference/modelfile"
	"github.com/cspipe/cspipe/internal/records"
)

// exitSomeImagesFailed is classify's exit code when at least one image failed and the rest
// were classified.
const exitSomeImagesFailed = 4

func init() {
	register("classify", "classify images with a .tflite or .onnx model (JSON Lines), or run a raw tensor", runClassify)
}

// classifyLine is one JSON Lines record of `cspipe classify`.
type classifyLine struct {
	Image          string          `json:"image"`
	PredictedClass *int            `json:"predicted_class,omitempty"`
	Label          string          `json:"label,omitempty"`
	TopK           []records.Class `json:"top_k,omitempty"`
	DecodeMS       float64         `json:"decode_ms,omitempty"`
	InferMS        float64         `json:"infer_ms,omitempty"`
	Error          string          `json:"error,omitempty"`
	ErrorCode      string          `json:"error_code,omitempty"`
}

func runClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("model", "", "path of the .tflite or .onnx model, or a model archive (.tar.gz with model.tflite or model.onnx, labels.txt, cspipe.json) (required)")
	labelsPath := fs.String("labels", "", "labels file, one per line")
	var o classify.Options
	fs.IntVar(&o.TopK, "top-k", 5, "classes listed per image")
	fs.BoolVar(&o.Fast, "fast", false, "decode large JPEGs at 1/8 scale from DC coefficients (faster, slightly different)")
	fs.StringVar(&o.InputRange, "input-range", "0,1", `model input range: "0,1", "-1,1" or "0,255"`)
	fs.Int64Var(&o.MaxPixels, "max-pixels", 0, "refuse images with more pixels (0: 100 million)")
	fs.IntVar(&o.Threads, "threads", 0, "images classified at once (0: number of CPUs)")
	fs.IntVar(&o.LabelOffset, "label-offset", 0, "added to a class index to find its line in the labels file")
	fs.BoolVar(&o.StdlibJPEG, "stdlib-jpeg", false, "decode JPEG with Go's image/jpeg instead of cspipe's decoder")
	exifOrientation := fs.String("exif-orientation", "apply", `"apply": turn photos upright by their EXIF orientation before the resize; "ignore": keep the stored pixels, as TensorFlow does (default: the model archive's cspipe.json, else apply)`)
	tensorPath := fs.String("tensor", "", "run this raw little-endian NHWC float32 tensor instead of images")
	outPath := fs.String("out", "", "with --tensor: where to write the raw float32 output")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cspipe classify --model M.tflite|M.onnx [--labels L] [--top-k 5] [--fast] [--input-range 0,1] [--exif-orientation apply|ignore] IMAGE...")
		fmt.Fprintln(stderr, "       cspipe classify --model M.tflite --tensor IN.f32 --out OUT.f32")
		fmt.Fprintf(stderr, "exit code 0: all classified; %d: some images failed (one error line each); 1: usage or model error\n", exitSomeImagesFailed)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitError{code: 2}
	}
	if *modelPath == "" {
		fs.Usage()
		return exitError{code: 2, msg: "--model is required"}
	}
	model, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if model.meta.InputRange != "" && !set["input-range"] {
		o.InputRange = model.meta.InputRange
	}
	if !set["label-offset"] {
		o.LabelOffset = model.meta.LabelOffset
	}
	if model.meta.EXIFOrientation != "" && !set["exif-orientation"] {
		*exifOrientation = model.meta.EXIFOrientation
	}
	switch *exifOrientation {
	case "apply":
	case "ignore":
		o.IgnoreEXIFOrientation = true
	default:
		return exitError{code: 2, msg: fmt.Sprintf("--exif-orientation %q: want apply or ignore", *exifOrientation)}
	}
	if *tensorPath != "" {
		if *outPath == "" || fs.NArg() > 0 {
			return exitError{code: 2, msg: "--tensor needs --out and no images"}
		}
		return runTensor(model.model, *tensorPath, *outPath)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitError{code: 2, msg: "no images given"}
	}
	labels := model.labels
	if *labelsPath != "" {
		f, err := openLimit(*labelsPath, maxLabelsFileBytes, "labels")
		if err != nil {
			return err
		}
		labels, err = classify.ParseLabels(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	c, err := classify.New(model.model, labels, o)
	if err != nil {
		return err
	}
	images := fs.Args()
	enc := json.NewEncoder(stdout)
	failed := 0
	var writeErr error
	err = c.ClassifyMany(ctx, len(images), func(_ context.Context, i int) (io.ReadCloser, error) {
		return openLimit(images[i], maxPhotoFileBytes, "image")
	}, func(i int, p classify.Prediction, err error) {
		line := classifyLine{Image: images[i]}
		if err != nil {
			failed++
			line.Error, line.ErrorCode = err.Error(), records.ErrDecode
			var ie *classify.ImageError
			if errors.As(err, &ie) {
				line.ErrorCode = ie.Code
			}
		} else {
			line.PredictedClass, line.Label, line.TopK = &p.PredictedClass, p.Label, p.TopK
			line.DecodeMS, line.InferMS = p.DecodeMS, p.InferMS
		}
		if err := enc.Encode(line); err != nil && writeErr == nil {
			writeErr = err
		}
	})
	if err != nil {
		return err
	}
	if writeErr != nil {
		return fmt.Errorf("writing results: %w", writeErr)
	}
	if failed > 0 {
		return exitError{code: exitSomeImagesFailed, msg: fmt.Sprintf("%d of %d images failed", failed, len(images))}
	}
	return nil
}

// modelFiles is what --model names: a bare .tflite or .onnx, or the parts of a model archive.
type modelFiles struct {
	model  []byte // TFLite or ONNX
	labels []string
	meta   records.ModelMetadata
}

// loadModel reads a .tflite or .onnx file or, when the file is gzip-compressed, a model archive
// (validated by internal/archive with its default limits).
func loadModel(path string) (modelFiles, error) {
	b, err := readFileLimit(path, maxModelFileBytes, "model")
	if err != nil {
		return modelFiles{}, err
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return modelFiles{model: b}, nil
	}
	m, err := archive.Extract(b, archive.DefaultLimits())
	if err != nil {
		return modelFiles{}, fmt.Errorf("reading model archive: %w", err)
	}
	return modelFiles{model: m.Model, labels: m.Labels, meta: m.Metadata}, nil
}

// runTensor runs a raw NHWC float32 tensor (a whole number of images) through the model and
// writes the raw float32 scores, for parity checks against other runtimes.
func runTensor(model []byte, inPath, outPath string) error {
	m, err := modelfile.Load(model)
	if err != nil {
		return err
	}
	raw, err := readFileLimit(inPath, maxTensorFileBytes, "tensor")
	if err != nil {
		return err
	}
	h, w, c := m.InputShape()
	per := h * w * c
	if len(raw)%4 != 0 || len(raw) == 0 || (len(raw)/4)%per != 0 {
		return fmt.Errorf("tensor has %d bytes, want a multiple of %d (%dx%dx%d float32)", len(raw), per*4, h, w, c)
	}
	in := decodeF32(raw)
	batch := len(in) / per
	out := make([]float32, batch*m.NumClasses())
	if err := m.Run(in, batch, out); err != nil {
		return err
	}
	if err := os.WriteFile(outPath, encodeF32(out), 0o644); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

func decodeF32(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func encodeF32(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}
