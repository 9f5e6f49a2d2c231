// Package archive validates and unpacks a cspipe model archive: a gzip-compressed tar holding
// the model (model.tflite or model.onnx), labels.txt and optionally cspipe.json at its root
// (records.ModelFile or records.ONNXModelFile, records.LabelsFile, records.MetadataFile).
// A TensorFlow SavedModel or Keras file is recognised and refused with the one-line
// conversion to a format the engine runs.
//
// Validate streams an archive once, computing the sha256 of the compressed bytes as it goes, and
// refuses anything outside Limits: too many bytes or entries, a decompression bomb, absolute or
// `..` paths, links, devices, fifos, duplicate or unexpected names, a missing model or labels
// file, labels that are empty or not UTF-8, an invalid cspipe.json. Extract does the same walk
// over bytes whose sha256 the caller has already checked and returns the model. Every refusal is
// an *Error whose Reason says what kind of problem it is and whose Entry names the entry.
package archive

import (
	"errors"
	"fmt"
)

// Reason classifies why an archive was refused.
type Reason string

// Reasons an archive is refused.
const (
	ReasonCorrupt          Reason = "corrupt"                  // not gzip, not tar, truncated, bad checksum
	ReasonTooLarge         Reason = "too_large"                // compressed, entry or total size over a limit
	ReasonTooManyEntries   Reason = "too_many_entries"         // more entries than MaxEntries
	ReasonBomb             Reason = "decompression_bomb"       // uncompressed/compressed ratio over MaxRatio
	ReasonBadPath          Reason = "bad_path"                 // absolute, "..", backslash, empty or control characters
	ReasonBadType          Reason = "bad_entry_type"           // link, device, fifo, or a directory other than "."
	ReasonDuplicate        Reason = "duplicate_entry"          // the same name twice
	ReasonUnexpectedEntry  Reason = "unexpected_entry"         // a name other than the three known files
	ReasonMissingEntry     Reason = "missing_entry"            // no model file, or labels.txt absent
	ReasonBadModel         Reason = "bad_model"                // model file empty or not a TFLite flatbuffer / ONNX protobuf
	ReasonUnsupportedModel Reason = "unsupported_model_format" // a SavedModel or Keras model: convert it first
	ReasonBadLabels        Reason = "bad_labels"               // labels.txt empty or not UTF-8
	ReasonBadMetadata      Reason = "bad_metadata"             // cspipe.json not valid records.ModelMetadata
)

// Error is a refusal: the archive is bad, and reading it again will not change that.
type Error struct {
	Reason Reason
	// Entry is the tar entry's name as stored ("" when the problem is the archive as a whole).
	Entry string
	// Detail says what exactly is wrong.
	Detail string
}

func (e *Error) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("model archive %s: %s", e.Reason, e.Detail)
	}
	return fmt.Sprintf("model archive entry %q: %s: %s", truncate(e.Entry), e.Reason, e.Detail)
}

// IsRefusal reports whether err is (or wraps) an *Error, as opposed to a failure to read.
func IsRefusal(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

func refuse(reason Reason, entry, format string, args ...any) *Error {
	return &Error{Reason: reason, Entry: entry, Detail: fmt.Sprintf(format, args...)}
}

func truncate(s string) string {
	if len(s) <= 120 {
		return s
	}
	return s[:120] + "…"
}

// Limits bound what an archive may hold. Zero fields take the DefaultLimits value.
type Limits struct {
	MaxCompressed int64   // bytes of the archive as stored
	MaxEntries    int     // tar entries, directories and PAX global headers included
	MaxEntrySize  int64   // uncompressed bytes of any one entry
	MaxTotal      int64   // uncompressed bytes of all entries together
	MaxRatio      float64 // uncompressed/compressed bytes beyond the first RatioSlack bytes
	MaxLabelsSize int64   // bytes of labels.txt
	MaxMetadata   int64   // bytes of cspipe.json
}

// RatioSlack is the uncompressed volume allowed before MaxRatio applies, so that a tiny archive
// of a few highly compressible files is not mistaken for a bomb.
const RatioSlack = 1 << 20

// DefaultLimits fit MobileNet-class models with room to spare.
func DefaultLimits() Limits {
	return Limits{
		MaxCompressed: 256 << 20,
		MaxEntries:    16,
		MaxEntrySize:  256 << 20,
		MaxTotal:      512 << 20,
		MaxRatio:      50,
		MaxLabelsSize: 1 << 20,
		MaxMetadata:   64 << 10,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxCompressed <= 0 {
		l.MaxCompressed = d.MaxCompressed
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxEntrySize <= 0 {
		l.MaxEntrySize = d.MaxEntrySize
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = d.MaxTotal
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.MaxLabelsSize <= 0 {
		l.MaxLabelsSize = d.MaxLabelsSize
	}
	if l.MaxMetadata <= 0 {
		l.MaxMetadata = d.MaxMetadata
	}
	return l
}
