package tflite_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/oracle"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// quantCases are the int8 models the tests run: MobileNet V1 and V2 and a
// graph of the other quantized operators, ending in logits so that one
// quantum is a real tolerance.
func quantCases(t *testing.T) map[string]*modelgen.Graph {
	t.Helper()
	out := map[string]*modelgen.Graph{}
	for name, cfg := range map[string]modelgen.Config{
		"v1_0.25_64": {Arch: "v1", Width: 0.25, Size: 64, Classes: 32, Seed: 31},
		"v2_0.35_64": {Arch: "v2", Width: 0.35, Size: 64, Classes: 32, Seed: 32},
	} {
		g, err := modelgen.MobileNet(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = g
	}
	out["quant_ops"] = quantOpsGraph()
	return out
}

// quantOpsGraph exercises what the MobileNets do not: 5x5 stride-2
// convolution, depth multiplier 2, max and average pooling with SAME
// padding, ADD with fused ReLU, PAD, CONCATENATION with different
// parameters, MUL, MEAN keeping dims, RESHAPE and FULLY_CONNECTED.
func quantOpsGraph() *modelgen.Graph {
	g := modelgen.NewGraph(11, 13, 4, 7)
	x := g.Conv(g.Input, 12, 5, 2, tflite.PaddingSame, tflite.ActRelu, 1.4)
	x = g.Depthwise(x, 3, 2, 2, tflite.PaddingSame, tflite.ActRelu6, 1.4)
	a := g.Pool(x, true, 3, 1, tflite.PaddingSame)
	b := g.Pool(x, false, 3, 1, tflite.PaddingSame)
	x = g.Add(a, b)
	g.Ops[len(g.Ops)-1].Act = tflite.ActRelu
	x = g.Pad(x, 1, 0, 2, 1)
	y := g.Depthwise(x, 3, 1, 1, tflite.PaddingValid, tflite.ActNone, 1.0)
	z := g.Conv(x, 8, 3, 1, tflite.PaddingValid, tflite.ActNone, 1.0)
	x = g.Concat(3, y, z)
	x = g.Mul(x, g.Conv(x, 32, 1, 1, tflite.PaddingSame, tflite.ActRelu6, 1.4))
	x = g.SpatialMean(x, true)
	x = g.Reshape(x, []int{1, 32})
	g.Output = g.FullyConnected(x, 10, 3)
	return g
}

func quantize(t *testing.T, g *modelgen.Graph, seed uint64) ([]byte, []float32) {
	t.Helper()
	s := g.Shape(g.Input)
	calib := oracle.RandomImages(seed+100, 4*s[1]*s[2]*s[3])
	q, err := modelgen.Quantize(g, calib, 4)
	if err != nil {
		t.Fatal(err)
	}
	return q.TFLite(), q.Tensors[q.Ops[len(q.Ops)-1].Inputs[0]].Quant.Scale
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
	g := quantOpsGraph()
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
		if name == "quant_ops" {
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
