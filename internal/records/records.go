// Package records defines the shapes that cross component boundaries: a run's per-image result
// records (results.jsonl), its summary (summary.json), the model manifest RegisterModel writes,
// and where each lives in a bucket. The workload writes them, the workflow writes error
// summaries, PublishResults reads them, and users parse them: changing a JSON name is a breaking
// change.
package records

import (
	"fmt"
	"strings"
	"time"
)

// Object names inside a run's results prefix.
const (
	ResultsFile = "results.jsonl"
	SummaryFile = "summary.json"
	ReceiptFile = "receipt.jwt"
	// RunsPrefix is the top-level prefix of everything the pipeline writes into the results bucket.
	RunsPrefix = "runs/"
)

// Prefix is the object prefix (with a trailing slash) of one shard's outputs: runs/<run_id>/ for
// a single-shard run, runs/<run_id>/shard-<i>/ when the run has more than one shard.
func Prefix(runID string, shard, shardCount int) string {
	if shardCount <= 1 {
		return RunsPrefix + runID + "/"
	}
	return fmt.Sprintf("%s%s/shard-%03d/", RunsPrefix, runID, shard)
}

// ParseSummaryName reports whether name is a shard's summary object and, if so, its prefix and run id.
func ParseSummaryName(name string) (prefix, runID string, ok bool) {
	if !strings.HasPrefix(name, RunsPrefix) || !strings.HasSuffix(name, "/"+SummaryFile) {
		return "", "", false
	}
	prefix = strings.TrimSuffix(name, SummaryFile)
	rest := strings.TrimPrefix(prefix, RunsPrefix)
	runID, _, _ = strings.Cut(rest, "/")
	if runID == "" {
		return "", "", false
	}
	return prefix, runID, true
}

// Status values of a record or summary.
const (
	StatusOK     = "ok"
	StatusError  = "error"
	StatusFailed = "failed" // summary: the run produced no usable results
)

// Per-image error codes.
const (
	ErrNotAnImage  = "not_an_image"
	ErrUnsupported = "unsupported_format"
	ErrTruncated   = "truncated"
	ErrTooLarge    = "too_large"
	ErrEmpty       = "empty"
	ErrDecode      = "decode_failed"
	ErrRead        = "read_failed"
	ErrInference   = "inference_failed"
)

// Class is one entry of a top-k list.
type Class struct {
	ClassIndex int     `json:"class_index"`
	Label      string  `json:"label,omitempty"`
	Score      float32 `json:"score"`
}

// Timings are per-image durations in milliseconds.
type Timings struct {
	ReadMS   float64 `json:"read_ms"`
	DecodeMS float64 `json:"decode_ms"`
	InferMS  float64 `json:"infer_ms"`
	TotalMS  float64 `json:"total_ms"`
}

// Record is one line of results.jsonl: the outcome for one image.
type Record struct {
	RunID          string   `json:"run_id"`
	Shard          int      `json:"shard"`
	Image          string   `json:"image"`
	Generation     int64    `json:"generation,omitempty"`
	Status         string   `json:"status"`
	PredictedClass *int     `json:"predicted_class,omitempty"`
	Label          string   `json:"label,omitempty"`
	TopK           []Class  `json:"top_k,omitempty"`
	ErrorCode      string   `json:"error_code,omitempty"`
	Error          string   `json:"error,omitempty"`
	Timings        *Timings `json:"timings,omitempty"`
}

// ImageError names one image that failed, in a summary.
type ImageError struct {
	Image string `json:"image"`
	Code  string `json:"code"`
	Error string `json:"error"`
}

// Summary is summary.json: one shard's outcome. It is written last.
type Summary struct {
	RunID          string       `json:"run_id"`
	Shard          int          `json:"shard"`
	ShardCount     int          `json:"shard_count"`
	Status         string       `json:"status"` // ok: every image has a record; failed: the shard did not run
	Error          string       `json:"error,omitempty"`
	Images         int          `json:"images"`
	Succeeded      int          `json:"succeeded"`
	Failed         int          `json:"failed"`
	ModelObject    string       `json:"model_object,omitempty"`
	ModelSHA256    string       `json:"model_sha256,omitempty"`
	ImageDigest    string       `json:"image_digest,omitempty"`
	ImageReference string       `json:"image_reference,omitempty"`
	ResultsSHA256  string       `json:"results_sha256,omitempty"`
	StartedAt      time.Time    `json:"started_at,omitzero"`
	FinishedAt     time.Time    `json:"finished_at,omitzero"`
	DurationMS     float64      `json:"duration_ms,omitempty"`
	Errors         []ImageError `json:"errors,omitempty"` // at most MaxSummaryErrors
	Source         string       `json:"source,omitempty"` // "workload" or "workflow"
}

// MaxSummaryErrors bounds Summary.Errors; results.jsonl has every one.
const MaxSummaryErrors = 100

// Model archive layout: a gzip-compressed tar holding these entries at its root, the model
// as exactly one of ModelFile (TFLite) or ONNXModelFile.
const (
	ModelFile     = "model.tflite"
	ONNXModelFile = "model.onnx"
	LabelsFile    = "labels.txt"
	MetadataFile  = "cspipe.json" // optional ModelMetadata
)

// ModelMetadata is the optional cspipe.json inside a model archive.
type ModelMetadata struct {
	// InputRange is "0,1" (default, as TF Hub MobileNet expects) or "-1,1".
	InputRange string `json:"input_range,omitempty"`
	// LabelOffset is added to a class index to find its line in labels.txt (1 when the model has
	// no background class but labels.txt starts with one).
	LabelOffset int `json:"label_offset,omitempty"`
	// EXIFOrientation is "apply" (default: photos are turned upright before the resize) or
	// "ignore" (the stored pixels as they are, as TensorFlow's decoders read them, for models
	// whose training pipeline did not apply orientation).
	EXIFOrientation string `json:"exif_orientation,omitempty"`
}

// ManifestSuffix is appended to a model object's name to name its manifest.
const ManifestSuffix = ".manifest.json"

// Manifest statuses.
const (
	ManifestAccepted = "accepted"
	ManifestRejected = "rejected"
)

// Manifest is what RegisterModel writes next to a model archive; the workload checks the model
// against it before parsing a byte.
type Manifest struct {
	Object       string         `json:"object"`
	Generation   int64          `json:"generation"`
	SHA256       string         `json:"sha256"` // hex of the archive bytes as stored
	Size         int64          `json:"size"`
	Status       string         `json:"status"`
	Reason       string         `json:"reason,omitempty"`
	Entries      int            `json:"entries,omitempty"`
	Uncompressed int64          `json:"uncompressed_bytes,omitempty"`
	Metadata     *ModelMetadata `json:"metadata,omitempty"`
	RegisteredAt time.Time      `json:"registered_at,omitzero"`
}

// Pub/Sub attribute names on messages PublishResults sends.
const (
	AttrRunID          = "run_id"
	AttrImage          = "image"
	AttrStatus         = "status"
	AttrPredictedClass = "predicted_class"
	AttrLabel          = "label"
	AttrKind           = "kind" // "image" or "summary"
	AttrShard          = "shard"
)
