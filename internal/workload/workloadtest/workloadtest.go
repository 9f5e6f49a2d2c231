// Package workloadtest holds test doubles for the workload: a stand-in classifier that really
// decodes PNG/JPEG/GIF (so corrupt and hostile images fail the way they would) but "infers" from
// the mean colour, model archives, tiny generated images, and an in-memory Store with streaming
// writes. It is for tests and the test-only build of the workload binary; production code never
// imports it.
package workloadtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	_ "image/gif" // registered decoders
	_ "image/jpeg"
	"image/png"
	"io"
	"strings"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/records"
	"github.com/cspipe/cspipe/internal/workload"
)

// MaxPixels is the stand-in's decode limit (the real engine has its own).
const MaxPixels = 4096 * 4096

// Classifier is the stand-in engine.
type Classifier struct {
	Labels []string
	TopK   int
}

var _ workload.Classifier = (*Classifier)(nil)

// Classify decodes r and predicts the class from the image's mean red value.
func (c *Classifier) Classify(ctx context.Context, data []byte) (workload.Prediction, error) {
	start := time.Now()
	if len(data) == 0 {
		return workload.Prediction{}, &workload.ImageError{Code: records.ErrEmpty, Err: errors.New("no bytes")}
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return workload.Prediction{}, &workload.ImageError{Code: records.ErrNotAnImage, Err: errors.New("not a PNG, JPEG or GIF")}
	}
	if err == nil && int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return workload.Prediction{}, &workload.ImageError{Code: records.ErrTooLarge,
			Err: fmt.Errorf("%s of %dx%d pixels exceeds %d", format, cfg.Width, cfg.Height, MaxPixels)}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		code := records.ErrDecode
		if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected EOF") || strings.Contains(err.Error(), "not enough pixel data") {
			code = records.ErrTruncated
		}
		return workload.Prediction{}, &workload.ImageError{Code: code, Err: err}
	}
	decodeMS := float64(time.Since(start).Microseconds()) / 1000
	t1 := time.Now()
	var sum, n uint64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, _, _, _ := img.At(x, y).RGBA()
			sum += uint64(r >> 8)
			n++
		}
	}
	class := int(sum/max(n, 1)) % max(len(c.Labels), 1)
	p := workload.Prediction{PredictedClass: class, DecodeMS: decodeMS}
	if class < len(c.Labels) {
		p.Label = c.Labels[class]
	}
	for k := 0; k < c.TopK && k < max(len(c.Labels), 1); k++ {
		i := (class + k) % max(len(c.Labels), 1)
		cl := records.Class{ClassIndex: i, Score: 1 / float32(k+2)}
		if i < len(c.Labels) {
			cl.Label = c.Labels[i]
		}
		p.TopK = append(p.TopK, cl)
	}
	p.InferMS = float64(time.Since(t1).Microseconds()) / 1000
	return p, nil
}

// Load is a workload.ModelLoader for archives made by Archive: it reads labels.txt.
func Load(_ context.Context, archive []byte, topK int) (workload.Classifier, error) {
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return nil, fmt.Errorf("model archive: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("model archive: no %s: %w", records.LabelsFile, err)
		}
		if h.Name != records.LabelsFile {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return nil, err
		}
		return &Classifier{Labels: strings.Split(strings.TrimSpace(string(b)), "\n"), TopK: topK}, nil
	}
}

// Archive builds a model archive (gzip tar) with model bytes and labels.
func Archive(model []byte, labels []string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct {
		name string
		data []byte
	}{{records.ModelFile, model}, {records.LabelsFile, []byte(strings.Join(labels, "\n") + "\n")}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)})
		tw.Write(f.data)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// PNG is a w×h image filled with one red level.
func PNG(w, h int, red uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: red, G: 10, B: 20, A: 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// HugePNGHeader is a valid PNG signature and IHDR claiming 30000×30000 pixels, with no data.
func HugePNGHeader() []byte {
	b := PNG(1, 1, 0)[:33] // signature (8) + IHDR length, type, 13 data bytes, CRC
	copy(b[16:24], []byte{0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30})
	binary.BigEndian.PutUint32(b[29:33], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// Store is an in-memory workload.Store: blob.Memory plus buffered writes committed on Close.
type Store struct{ *blob.Memory }

var _ workload.Store = Store{}

// NewStore returns an empty Store.
func NewStore() Store { return Store{blob.NewMemory()} }

// NewWriter implements workload.Store.
func (s Store) NewWriter(ctx context.Context, bucket, name, contentType string) io.WriteCloser {
	return &memWriter{ctx: ctx, s: s.Memory, bucket: bucket, name: name, ct: contentType}
}

type memWriter struct {
	ctx          context.Context
	s            *blob.Memory
	bucket, name string
	ct           string
	buf          bytes.Buffer
}

func (w *memWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *memWriter) Close() error {
	_, err := w.s.Write(w.ctx, w.bucket, w.name, blob.Object{Data: w.buf.Bytes(), ContentType: w.ct}, blob.Cond{})
	return err
}
