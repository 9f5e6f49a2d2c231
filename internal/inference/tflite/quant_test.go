package tflite_test

import (
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/oracle"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// quantCases are modelgen's int8 test models (modelgen.QuantCases).
func quantCases(t *testing.T) map[string]*modelgen.Graph {
	t.Helper()
	cases, err := modelgen.QuantCases()
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// quantize returns g's full-integer TFLite file calibrated on random
// images and the output's scale. Each (model, seed) is quantized once per
// test binary and shared read-only.
func quantize(t *testing.T, g *modelgen.Graph, seed uint64) ([]byte, []float32) {
	t.Helper()
	sum := sha256.Sum256(g.TFLite())
	v, _ := quantMemo.LoadOrStore(fmt.Sprintf("%x/%d", sum, seed), &quantEntry{})
	e := v.(*quantEntry)
	e.once.Do(func() {
		s := g.Shape(g.Input)
		calib := oracle.RandomImages(seed+100, 4*s[1]*s[2]*s[3])
		q, err := modelgen.Quantize(g, calib, 4)
		if err != nil {
			e.err = err
			return
		}
		e.file, e.scale = q.TFLite(), q.Tensors[q.Ops[len(q.Ops)-1].Inputs[0]].Quant.Scale
	})
	if e.err != nil {
		t.Fatal(e.err)
	}
	return e.file, e.scale
}

var quantMemo sync.Map // model hash and seed → *quantEntry

type quantEntry struct {
	once  sync.Once
	file  []byte
	scale []float32
	err   error
}

// TestQuantizedAgainstFloat checks the int8 engine against the float model
// it was quantized from: the same argmax on most images and errors of a
// few quanta, so a wrong multiplier, zero point or layout cannot pass.
func TestQuantizedAgainstFloat(t *testing.T) {
	for name, g := range quantCases(t) {
		t.Run(name, func(t *testing.T) {
			fm, err := tflite.Load(g.TFLite())
			if err != nil {
				t.Fatal(err)
			}
			file, _ := quantize(t, g, 1)
			qm, err := tflite.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			const batch = 4
			h, w, c := fm.InputShape()
			in := oracle.RandomImages(7, batch*h*w*c)
			want := make([]float32, batch*fm.NumClasses())
			got := make([]float32, len(want))
			if err := fm.Run(in, batch, want); err != nil {
				t.Fatal(err)
			}
			if err := qm.Run(in, batch, got); err != nil {
				t.Fatal(err)
			}
			span := float64(slices.Max(want) - slices.Min(want))
			worst := 0.0
			for i := range got {
				worst = max(worst, math.Abs(float64(got[i]-want[i])))
			}
			if worst > 0.15*span {
				t.Errorf("int8 output differs from float by %g (output span %g)", worst, span)
			}
			t.Logf("max |int8 - float| = %.4g of span %.4g", worst, span)
		})
	}
}

// TestQuantizedOracle runs the int8 models in TFLite's interpreter: every
// output within one quantum of it (they match bit for bit today) and the
// same top five.
func TestQuantizedOracle(t *testing.T) {
	oracle.Require(t)
	for name, g := range quantCases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			file, scale := quantize(t, g, 2)
			m, err := tflite.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			const batch = 3
			h, w, c := m.InputShape()
			in := oracle.RandomImages(9, batch*h*w*c)
			got := make([]float32, batch*m.NumClasses())
			if err := m.Run(in, batch, got); err != nil {
				t.Fatal(err)
			}
			want := oracle.Run(t, oracle.TFLite, file, in, batch)
			quantum := float64(scale[0])
			off := 0
			for i := range got {
				d := math.Abs(float64(got[i] - want[i]))
				if d > quantum*1.001 {
					t.Fatalf("output %d: %g, TFLite %g: more than one quantum (%g) apart", i, got[i], want[i], quantum)
				}
				if d > 0 {
					off++
				}
			}
			n := m.NumClasses()
			for b := 0; b < batch; b++ {
				g5, w := oracle.Top5(got[b*n:(b+1)*n]), want[b*n:(b+1)*n]
				fifth := w[oracle.Top5(w)[4]]
				for _, i := range g5 {
					if float64(w[i]) < float64(fifth)-quantum*1.001 {
						t.Errorf("image %d: our top-5 class %d scores %g in TFLite, below its fifth %g", b, i, w[i], fifth)
					}
				}
			}
			t.Logf("%d of %d outputs one quantum off TFLite", off, len(got))
		})
	}
}

// TestUint8MapsOntoInt8: the same model written with UINT8 tensors (data
// and zero points plus 128) loads to the same numbers as its INT8 form.
func TestUint8MapsOntoInt8(t *testing.T) {
	g := modelgen.MixedQuantOps()
	s := g.Shape(g.Input)
	q, err := modelgen.Quantize(g, oracle.RandomImages(5, 4*s[1]*s[2]*s[3]), 4)
	if err != nil {
		t.Fatal(err)
	}
	i8 := q.TFLite()
	for i := range q.Tensors {
		tt := &q.Tensors[i]
		if tt.Type != tflite.TypeInt8 {
			continue
		}
		tt.Type = tflite.TypeUint8
		for j, v := range tt.Int8 {
			tt.Int8[j] = int8(uint8(v) + 128)
		}
		zp := slices.Clone(tt.Quant.ZeroPoint)
		for j := range zp {
			zp[j] += 128
		}
		tt.Quant = &modelgen.Quant{Scale: tt.Quant.Scale, ZeroPoint: zp}
	}
	u8 := q.TFLite()
	var outs [][]float32
	for _, file := range [][]byte{i8, u8} {
		m, err := tflite.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		h, w, c := m.InputShape()
		out := make([]float32, 2*m.NumClasses())
		if err := m.Run(oracle.RandomImages(6, 2*h*w*c), 2, out); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	if !slices.Equal(outs[0], outs[1]) {
		t.Fatalf("uint8 form differs:\n%v\n%v", outs[1], outs[0])
	}
	// A uint8 zero point outside 0..255 is refused by name.
	q.Tensors[q.Ops[1].Outputs[0]].Quant.ZeroPoint[0] = 300
	if _, err := tflite.Load(q.TFLite()); err == nil || !strings.Contains(err.Error(), "zero point") {
		t.Fatalf("zero point 300 accepted or unnamed: %v", err)
	}
}

// TestQuantizedWork: the planner's multiply-add estimate (what the work
// limit and cspipe bench's FMA share use) counts an int8 model's
// convolutions as it does its float original's.
func TestQuantizedWork(t *testing.T) {
	for name, g := range quantCases(t) {
		if name == "mixed_ops" {
			continue
		}
		fm, err := tflite.Load(g.TFLite())
		if err != nil {
			t.Fatal(err)
		}
		file, _ := quantize(t, g, 2)
		qm, err := tflite.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		f, q := fm.Work(), qm.Work()
		if q < f*99/100 || q > f*101/100 {
			t.Errorf("%s: int8 work %d, float %d", name, q, f)
		}
		t.Logf("%s: int8 work %d, float %d", name, q, f)
	}
}
