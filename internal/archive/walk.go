package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/cspipe/cspipe/internal/records"
)

// tfliteIdentifier is the FlatBuffers file identifier at bytes 4..8 of a TFLite model.
const tfliteIdentifier = "TFL3"

// Report is what Validate learned about an accepted archive.
type Report struct {
	SHA256       string // hex sha256 of the archive bytes as stored (compressed)
	Size         int64  // bytes of the archive as stored
	Entries      int    // tar entries
	Uncompressed int64  // bytes of all entries' contents
	Labels       int    // lines of labels.txt
	// Metadata is cspipe.json, or nil when the archive has none.
	Metadata *records.ModelMetadata
}

// Model formats an archive may hold.
const (
	FormatTFLite = "tflite"
	FormatONNX   = "onnx"
)

// Model is an unpacked archive.
type Model struct {
	// Model is the model file's bytes, in Format (FormatTFLite or FormatONNX).
	Model  []byte
	Format string
	Labels []string
	// Metadata is cspipe.json, or the zero value when the archive has none.
	Metadata records.ModelMetadata
	Report   Report
}

// Validate reads the archive from r exactly once, to its end, and checks it against limits
// (zero fields take DefaultLimits). A bad archive is an *Error; a failure of r itself is
// returned wrapped, not as an *Error, so the caller can retry.
func Validate(r io.Reader, limits Limits) (Report, error) {
	m, err := walk(r, limits, false)
	return m.Report, err
}

// Extract validates b like Validate and returns its contents. The caller checks b's sha256
// against the manifest before calling it.
func Extract(b []byte, limits Limits) (Model, error) {
	return walk(bytes.NewReader(b), limits, true)
}

// source counts and hashes the compressed bytes and keeps the underlying reader's error apart
// from the archive's own problems.
type source struct {
	r     io.Reader
	h     hash.Hash
	n     int64
	max   int64
	over  bool
	ioErr error
}

var errSourceStop = errors.New("archive source stopped")

func (s *source) Read(p []byte) (int, error) {
	if s.over || s.ioErr != nil {
		return 0, errSourceStop
	}
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	if s.n > s.max {
		s.over = true
		return n, errSourceStop
	}
	if err != nil && err != io.EOF {
		s.ioErr = err
		return n, errSourceStop
	}
	return n, err
}

type walker struct {
	lim     Limits
	src     *source
	total   int64 // uncompressed bytes read so far
	keep    bool
	seen    map[string]bool
	model   Model
	pending *Error // a directory entry, refused unless the next entry says more
}

func walk(r io.Reader, limits Limits, keep bool) (Model, error) {
	w := &walker{lim: limits.withDefaults(), keep: keep, seen: map[string]bool{}}
	w.src = &source{r: r, h: sha256.New(), max: w.lim.MaxCompressed}
	err := w.run()
	if w.src.ioErr != nil {
		return Model{}, fmt.Errorf("reading model archive: %w", w.src.ioErr)
	}
	if w.src.over {
		return Model{}, refuse(ReasonTooLarge, "", "archive is larger than %d bytes", w.lim.MaxCompressed)
	}
	if err != nil {
		return Model{}, err
	}
	w.model.Report.SHA256 = hex.EncodeToString(w.src.h.Sum(nil))
	w.model.Report.Size = w.src.n
	w.model.Report.Uncompressed = w.total
	return w.model, nil
}

func (w *walker) run() error {
	br := bufio.NewReader(w.src)
	head, _ := br.Peek(8)
	if f := foreignFile(head); f != "" {
		return refuse(ReasonUnsupportedModel, "", "%s", f)
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
			return refuse(ReasonCorrupt, "", "not gzip but a zip file; if it is a Keras .keras model, %s", convertKeras)
		}
		return refuse(ReasonCorrupt, "", "not gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return refuse(ReasonCorrupt, "", "reading tar: %v", err)
		}
		w.model.Report.Entries++
		if w.model.Report.Entries > w.lim.MaxEntries {
			return refuse(ReasonTooManyEntries, hdr.Name, "more than %d entries", w.lim.MaxEntries)
		}
		if err := w.entry(hdr, tr); err != nil {
			return err
		}
	}
	// Read the gzip stream to its end (that checks its CRC) and the source to its end (that
	// completes the hash), counting both against the limits.
	if err := w.drain(zr); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, w.src); err != nil {
		return refuse(ReasonCorrupt, "", "reading past the gzip stream: %v", err)
	}
	return w.finish()
}

func (w *walker) drain(zr io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := zr.Read(buf)
		if cerr := w.count("", int64(n), 0); cerr != nil {
			return cerr
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return refuse(ReasonCorrupt, "", "reading gzip: %v", err)
		}
	}
}

// count adds n uncompressed bytes (entrySoFar of them in the current entry) and enforces the
// size and ratio limits.
func (w *walker) count(entry string, n, entrySoFar int64) error {
	w.total += n
	switch {
	case entrySoFar > w.lim.MaxEntrySize:
		return refuse(ReasonTooLarge, entry, "entry is larger than %d bytes", w.lim.MaxEntrySize)
	case w.total > w.lim.MaxTotal:
		return refuse(ReasonTooLarge, entry, "contents are larger than %d bytes in total", w.lim.MaxTotal)
	case w.total > RatioSlack && float64(w.total) > w.lim.MaxRatio*float64(w.src.n):
		return refuse(ReasonBomb, entry, "%d bytes expanded from %d compressed (limit ratio %g)", w.total, w.src.n, w.lim.MaxRatio)
	}
	return nil
}

func (w *walker) entry(hdr *tar.Header, r io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return refuse(ReasonBadPath, hdr.Name, "%v", err)
	}
	if f := foreignEntry(name); f != "" {
		return refuse(ReasonUnsupportedModel, hdr.Name, "%s", f)
	}
	if w.pending != nil {
		// The directory before this entry is refused, unless this entry showed the archive
		// to be a SavedModel (above): that refusal says more.
		return w.pending
	}
	switch hdr.Typeflag {
	case tar.TypeReg: // Reader.Next reports the legacy NUL type flag as TypeReg
	case tar.TypeXGlobalHeader:
		return nil
	case tar.TypeDir:
		if name == "" {
			return nil
		}
		// Refused at the next entry (or the end), once that entry has been looked at: a
		// SavedModel tarball starts with its folder.
		w.pending = refuse(ReasonBadType, hdr.Name, "directories are not allowed")
		return nil
	case tar.TypeSymlink, tar.TypeLink:
		return refuse(ReasonBadType, hdr.Name, "links are not allowed (target %q)", truncate(hdr.Linkname))
	default:
		return refuse(ReasonBadType, hdr.Name, "entry type %q is not allowed (only regular files)", hdr.Typeflag)
	}
	switch name {
	case records.ModelFile, records.ONNXModelFile, records.LabelsFile, records.MetadataFile:
	default:
		return refuse(ReasonUnexpectedEntry, hdr.Name, "only %s or %s, %s and %s may be present",
			records.ModelFile, records.ONNXModelFile, records.LabelsFile, records.MetadataFile)
	}
	if w.seen[name] {
		return refuse(ReasonDuplicate, hdr.Name, "appears more than once")
	}
	if other := map[string]string{records.ModelFile: records.ONNXModelFile, records.ONNXModelFile: records.ModelFile}[name]; other != "" && w.seen[other] {
		return refuse(ReasonDuplicate, hdr.Name, "the archive already holds %s; give exactly one model", other)
	}
	w.seen[name] = true
	if hdr.Size > w.lim.MaxEntrySize {
		return refuse(ReasonTooLarge, hdr.Name, "entry declares %d bytes, limit %d", hdr.Size, w.lim.MaxEntrySize)
	}
	switch name {
	case records.ModelFile:
		b, err := w.read(hdr.Name, r, w.lim.MaxEntrySize, w.keep)
		if err != nil {
			return err
		}
		if len(b) < 8 || string(b[4:8]) != tfliteIdentifier {
			return refuse(ReasonBadModel, hdr.Name, "not a TFLite model (no %q identifier)", tfliteIdentifier)
		}
		if w.keep {
			w.model.Model, w.model.Format = b, FormatTFLite
		}
	case records.ONNXModelFile:
		b, err := w.read(hdr.Name, r, w.lim.MaxEntrySize, w.keep)
		if err != nil {
			return err
		}
		// Every ONNX writer serialises ModelProto's fields in order, so the file starts with
		// ir_version (field 1, varint: tag byte 0x08).
		if len(b) < 2 || b[0] != 0x08 {
			return refuse(ReasonBadModel, hdr.Name, "not an ONNX model (does not start with ir_version)")
		}
		if w.keep {
			w.model.Model, w.model.Format = b, FormatONNX
		}
	case records.LabelsFile:
		b, err := w.read(hdr.Name, r, w.lim.MaxLabelsSize, true)
		if err != nil {
			return err
		}
		labels, err := parseLabels(b)
		if err != nil {
			return refuse(ReasonBadLabels, hdr.Name, "%v", err)
		}
		w.model.Labels = labels
		w.model.Report.Labels = len(labels)
	case records.MetadataFile:
		b, err := w.read(hdr.Name, r, w.lim.MaxMetadata, true)
		if err != nil {
			return err
		}
		md, err := parseMetadata(b)
		if err != nil {
			return refuse(ReasonBadMetadata, hdr.Name, "%v", err)
		}
		w.model.Metadata = md
		w.model.Report.Metadata = &md
	}
	return nil
}

// read reads an entry's contents, enforcing limit and the archive-wide limits. When keep is
// false only the first 8 bytes are kept (enough to check a file identifier).
func (w *walker) read(entry string, r io.Reader, limit int64, keep bool) ([]byte, error) {
	var out []byte
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if n > limit {
			return nil, refuse(ReasonTooLarge, entry, "entry is larger than %d bytes", limit)
		}
		if cerr := w.count(entry, int64(k), n); cerr != nil {
			return nil, cerr
		}
		if keep {
			out = append(out, buf[:k]...)
		} else if len(out) < 8 {
			out = append(out, buf[:min(k, 8-len(out))]...)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, refuse(ReasonCorrupt, entry, "reading entry: %v", err)
		}
	}
}

func (w *walker) finish() error {
	if w.pending != nil {
		return w.pending
	}
	if !w.seen[records.ModelFile] && !w.seen[records.ONNXModelFile] {
		return refuse(ReasonMissingEntry, records.ModelFile, "the archive has no %s or %s", records.ModelFile, records.ONNXModelFile)
	}
	if !w.seen[records.LabelsFile] {
		return refuse(ReasonMissingEntry, records.LabelsFile, "the archive has no %s", records.LabelsFile)
	}
	if md := w.model.Report.Metadata; md != nil && md.LabelOffset >= len(w.model.Labels) {
		return refuse(ReasonBadMetadata, records.MetadataFile, "label_offset %d is not below the %d labels", md.LabelOffset, len(w.model.Labels))
	}
	return nil
}

// cleanName checks a tar entry name and returns it without a leading "./" ("" for the root).
func cleanName(name string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("empty name")
	case !utf8.ValidString(name):
		return "", errors.New("name is not UTF-8")
	case strings.HasPrefix(name, "/"):
		return "", errors.New("absolute path")
	case len(name) >= 2 && name[1] == ':':
		return "", errors.New("drive-letter path")
	case strings.ContainsRune(name, '\\'):
		return "", errors.New("backslash in name")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", errors.New("control character in name")
		}
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", errors.New(`".." in path`)
		}
	}
	n := strings.TrimPrefix(name, "./")
	n = strings.TrimSuffix(n, "/")
	if n == "." {
		n = ""
	}
	return n, nil
}

// parseLabels splits labels.txt into lines (LF or CRLF), dropping trailing blank lines.
func parseLabels(b []byte) ([]string, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not UTF-8")
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, errors.New("contains a NUL byte")
	}
	s := strings.TrimPrefix(string(b), "\uFEFF")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return nil, errors.New("no labels")
	}
	return lines, nil
}

// parseMetadata decodes cspipe.json strictly.
func parseMetadata(b []byte) (records.ModelMetadata, error) {
	var md records.ModelMetadata
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&md); err != nil {
		return md, fmt.Errorf("decoding: %w", err)
	}
	if dec.More() {
		return md, errors.New("more than one JSON value")
	}
	switch md.InputRange {
	case "", "0,1", "-1,1":
	default:
		return md, fmt.Errorf("input_range %q: want \"0,1\" or \"-1,1\"", truncate(md.InputRange))
	}
	switch md.EXIFOrientation {
	case "", "apply", "ignore":
	default:
		return md, fmt.Errorf("exif_orientation %q: want \"apply\" or \"ignore\"", truncate(md.EXIFOrientation))
	}
	if md.LabelOffset < 0 {
		return md, fmt.Errorf("label_offset %d is negative", md.LabelOffset)
	}
	return md, nil
}
