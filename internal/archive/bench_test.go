package archive

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/records"
)

// BenchmarkValidate streams a 16 MiB model archive (incompressible weights, as a float model
// roughly is) through Validate; b.SetBytes makes -bench report compressed MB/s.
func BenchmarkValidate(b *testing.B) {
	model := make([]byte, 16<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range model {
		model[i] = byte(r.Uint32())
	}
	copy(model, testModel[:8])
	data := Build([]File{{Name: records.ModelFile, Data: model}, {Name: records.LabelsFile, Data: []byte("a\nb\n")}})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Validate(io.NopCloser(bytes.NewReader(data)), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
