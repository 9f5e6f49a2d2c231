package classify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/records"
)

// meanModel scores class k by the mean of input channel k (k < 3) and class 3 by a constant
// 0.5: a uniform image of colour (r,g,b) ranks its channels.
type meanModel struct {
	h, w   int
	images atomic.Int64 // images run, over all batches
	fail   bool
}

func (m *meanModel) InputShape() (int, int, int) { return m.h, m.w, 3 }
func (m *meanModel) NumClasses() int             { return 4 }
func (m *meanModel) Run(in []float32, batch int, out []float32) error {
	m.images.Add(int64(batch))
	if m.fail {
		return errors.New("kernel exploded")
	}
	n := m.h * m.w * 3
	if len(in) != batch*n || len(out) != batch*4 {
		return fmt.Errorf("bad sizes %d %d", len(in), len(out))
	}
	for b := range batch {
		var s [3]float32
		for i, v := range in[b*n : (b+1)*n] {
			s[i%3] += v
		}
		for k := range 3 {
			out[b*4+k] = s[k] / float32(m.h*m.w)
		}
		out[b*4+3] = 0.5
	}
	return nil
}

func pngOf(t *testing.T, c color.Color) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 20, 10))
	for y := range 10 {
		for x := range 20 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestClassify(t *testing.T) {
	labels := []string{"background", "red", "green", "blue", "half"}
	c, err := NewWithModel(&meanModel{h: 6, w: 8}, labels, Options{TopK: 3, LabelOffset: 1})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Classify(t.Context(), bytes.NewReader(pngOf(t, color.NRGBA{51, 255, 102, 255})))
	if err != nil {
		t.Fatal(err)
	}
	want := []records.Class{{ClassIndex: 1, Label: "green", Score: 1}, {ClassIndex: 3, Label: "half", Score: 0.5}, {ClassIndex: 2, Label: "blue", Score: 0.4}}
	approx := cmp.Comparer(func(a, b float32) bool { return a-b < 1e-5 && b-a < 1e-5 })
	if diff := cmp.Diff(want, p.TopK, approx); diff != "" {
		t.Fatalf("top-k (-want +got):\n%s", diff)
	}
	if p.PredictedClass != 1 || p.Label != "green" || p.Width != 20 || p.Height != 10 {
		t.Fatalf("prediction %+v", p)
	}
}

func TestClassifyErrors(t *testing.T) {
	c, err := NewWithModel(&meanModel{h: 4, w: 4}, nil, Options{MaxBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		r    io.Reader
		code string
	}{
		{"not an image", bytes.NewReader([]byte("plain text")), records.ErrNotAnImage},
		{"empty", bytes.NewReader(nil), records.ErrEmpty},
		{"too many bytes", bytes.NewReader(make([]byte, 1001)), records.ErrTooLarge},
		{"read error", io.MultiReader(bytes.NewReader([]byte{1}), errReader{}), records.ErrRead},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Classify(t.Context(), tc.r)
			var ie *ImageError
			if !errors.As(err, &ie) || ie.Code != tc.code {
				t.Fatalf("err = %v, want code %s", err, tc.code)
			}
		})
	}
	bad, _ := NewWithModel(&meanModel{h: 4, w: 4, fail: true}, nil, Options{})
	_, err = bad.Classify(t.Context(), bytes.NewReader(pngOf(t, color.White)))
	var ie *ImageError
	if !errors.As(err, &ie) || ie.Code != records.ErrInference {
		t.Fatalf("model failure: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Classify(ctx, bytes.NewReader(pngOf(t, color.White))); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestNewRejects(t *testing.T) {
	if _, err := NewWithModel(&meanModel{h: 0, w: 4}, nil, Options{}); err == nil {
		t.Error("zero-height model accepted")
	}
	if _, err := NewWithModel(&meanModel{h: 4, w: 4}, nil, Options{InputRange: "0,7"}); err == nil {
		t.Error("bad input range accepted")
	}
	if _, err := NewWithModel(&meanModel{h: 4, w: 4}, nil, Options{LabelOffset: -1}); err == nil {
		t.Error("negative label offset accepted")
	}
}

func TestClassifyManyInOrder(t *testing.T) {
	m := &meanModel{h: 4, w: 4}
	c, err := NewWithModel(m, []string{"r", "g", "b", "h"}, Options{Threads: 3, TopK: 1, Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	colours := []color.Color{color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 255, 0, 255}, color.NRGBA{0, 0, 255, 255}}
	imgs := make([][]byte, 3)
	for i, col := range colours {
		imgs[i] = pngOf(t, col)
	}
	const n = 25
	var got []string
	err = c.ClassifyMany(t.Context(), n, func(_ context.Context, i int) (io.ReadCloser, error) {
		if i == 7 {
			return nil, errors.New("gone")
		}
		if i == 8 {
			return io.NopCloser(bytes.NewReader([]byte("junk"))), nil
		}
		return io.NopCloser(bytes.NewReader(imgs[i%3])), nil
	}, func(i int, p Prediction, err error) {
		var ie *ImageError
		switch {
		case errors.As(err, &ie):
			got = append(got, fmt.Sprintf("%d:%s", i, ie.Code))
		case err != nil:
			t.Fatalf("image %d: %v", i, err)
		default:
			got = append(got, fmt.Sprintf("%d:%s", i, p.Label))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range n {
		switch i {
		case 7:
			want = append(want, "7:"+records.ErrRead)
		case 8:
			want = append(want, "8:"+records.ErrNotAnImage)
		default:
			want = append(want, fmt.Sprintf("%d:%s", i, []string{"r", "g", "b"}[i%3]))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("emitted (-want +got):\n%s", diff)
	}
	if m.images.Load() != n-2 {
		t.Fatalf("model ran %d images, want %d", m.images.Load(), n-2)
	}
}

func TestClassifyManyCancelled(t *testing.T) {
	c, _ := NewWithModel(&meanModel{h: 4, w: 4}, nil, Options{Threads: 2})
	ctx, cancel := context.WithCancel(t.Context())
	img := pngOf(t, color.White)
	emitted := 0
	err := c.ClassifyMany(ctx, 1000, func(_ context.Context, i int) (io.ReadCloser, error) {
		if i == 5 {
			cancel()
		}
		return io.NopCloser(bytes.NewReader(img)), nil
	}, func(int, Prediction, error) { emitted++ })
	if !errors.Is(err, context.Canceled) || emitted >= 1000 {
		t.Fatalf("err = %v after %d images", err, emitted)
	}
}

func TestClassifyManyModelFailure(t *testing.T) {
	c, _ := NewWithModel(&meanModel{h: 4, w: 4, fail: true}, nil, Options{Threads: 2, Batch: 3})
	img := pngOf(t, color.White)
	var codes []string
	err := c.ClassifyMany(t.Context(), 5, func(context.Context, int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(img)), nil
	}, func(_ int, _ Prediction, err error) {
		var ie *ImageError
		if errors.As(err, &ie) {
			codes = append(codes, ie.Code)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{records.ErrInference, records.ErrInference, records.ErrInference, records.ErrInference, records.ErrInference}
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Fatalf("codes (-want +got):\n%s", diff)
	}
}
