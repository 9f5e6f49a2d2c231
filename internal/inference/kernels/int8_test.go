package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestGemmU8I8 checks the VNNI kernel and the AVX2 kernel (when the CPU
// has them) and the portable loop against a direct triple loop on random
// shapes with ragged edges and on the extreme values 255 x -128.
func TestGemmU8I8(t *testing.T) { eachInt8Path(t, testGemmU8I8) }

func testGemmU8I8(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 1, 1}, {4, 32, 4}, {5, 33, 7}, {3, 31, 3}, {17, 70, 129}, {9, 8, 27}, {64, 96, 576}, {6, 40, 2101}}
	for i := 0; i < 20; i++ {
		shapes = append(shapes, [3]int{1 + rng.IntN(40), 1 + rng.IntN(100), 1 + rng.IntN(300)})
	}
	for si, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		w := make([]int8, n*k)
		extreme := si%5 == 0
		for i := range w {
			w[i] = int8(rng.IntN(256) - 128)
			if extreme {
				w[i] = -128
			}
		}
		b := PackI8(w, n, k)
		lda := b.Kp + 4*(si%3)
		a := make([]uint8, (m-1)*lda+b.Kp)
		for r := 0; r < m; r++ {
			for c := 0; c < k; c++ {
				a[r*lda+c] = uint8(rng.IntN(256))
				if extreme {
					a[r*lda+c] = 255
				}
			}
		}
		ldc := b.Np + I8Tile*(si%2)
		got := make([]int32, (m-1)*ldc+b.Np)
		gen := make([]int32, len(got))
		GemmU8I8(m, a, lda, b, got, ldc)
		GemmU8I8Generic(m, a, lda, b, gen, ldc)
		for r := 0; r < m; r++ {
			for j := 0; j < n; j++ {
				var want int32
				for c := 0; c < k; c++ {
					want += int32(a[r*lda+c]) * int32(w[j*k+c])
				}
				if got[r*ldc+j] != want || gen[r*ldc+j] != want {
					t.Fatalf("shape %v (VNNI %v) [%d][%d]: got %d, generic %d, want %d", s, UseVNNI(), r, j, got[r*ldc+j], gen[r*ldc+j], want)
				}
			}
			var sum int32
			for c := 0; c < k; c++ {
				sum += int32(w[(r%n)*k+c])
			}
			if b.Sum[r%n] != sum {
				t.Fatalf("shape %v: row sum %d, want %d", s, b.Sum[r%n], sum)
			}
		}
	}
	t.Logf("VNNI kernel in use: %v, AVX2: %v", UseVNNI(), hasAVX2FMA)
}

// BenchmarkGemmU8I8: a 64-pixel chunk of a 1x1 convolution, 256 to 256
// channels, VNNI (when present) against the portable loop.
func BenchmarkGemmU8I8(b *testing.B) {
	const m, n, k = 64, 256, 256
	w := make([]int8, n*k)
	for i := range w {
		w[i] = int8(i*7 - 3)
	}
	p := PackI8(w, n, k)
	a := make([]uint8, m*p.Kp)
	c := make([]int32, m*p.Np)
	b.Run("default", func(b *testing.B) {
		for b.Loop() {
			GemmU8I8(m, a, p.Kp, p, c, p.Np)
		}
		b.ReportMetric(float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
	})
	if hasAVX2FMA {
		p16 := PackI8(w, n, k)
		p16.packW16()
		b.Run("avx2", func(b *testing.B) {
			for b.Loop() {
				gemmU8I8AVX2(m, a, p.Kp, p16, c, p.Np)
			}
			b.ReportMetric(float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
	b.Run("generic", func(b *testing.B) {
		for b.Loop() {
			GemmU8I8Generic(m, a, p.Kp, p, c, p.Np)
		}
		b.ReportMetric(float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
	})
}

// BenchmarkGemmU8I8Shapes: the GEMMs of MobileNet V2 at 128 on each path:
// the classifier at batch 1, an expansion, a projection and a late 1x1.
func BenchmarkGemmU8I8Shapes(b *testing.B) {
	for _, s := range [][3]int{{1, 1001, 1280}, {64, 96, 16}, {64, 24, 144}, {64, 576, 96}} {
		m, n, k := s[0], s[1], s[2]
		w := make([]int8, n*k)
		for i := range w {
			w[i] = int8(i*7 - 3)
		}
		paths := []string{"generic"}
		if hasAVX2FMA {
			paths = append(paths, "avx2")
		}
		if UseVNNI() {
			paths = append(paths, "vnni")
		}
		for _, path := range paths {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", m, n, k, path), func(b *testing.B) {
				saved2, saved512 := hasAVX2FMA, hasAVX512
				defer func() { hasAVX2FMA, hasAVX512 = saved2, saved512 }()
				switch path {
				case "generic":
					hasAVX2FMA, hasAVX512 = false, false
				case "avx2":
					hasAVX512 = false
				}
				p := PackI8(w, n, k)
				a := make([]uint8, m*p.Kp)
				c := make([]int32, m*p.Np)
				for b.Loop() {
					GemmU8I8(m, a, p.Kp, p, c, p.Np)
				}
				b.ReportMetric(float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

// BenchmarkGemmU8I8Requant: the fused GEMM and rescale on the shapes of
// MobileNet's 1x1 layers at 128 (64-pixel chunks: V2's expansions and a
// projection, V1's 256 to 1024 channels), on the AMX tiles and on AVX-512
// VNNI alone.
func BenchmarkGemmU8I8Requant(b *testing.B) {
	for _, s := range [][3]int{{64, 96, 16}, {64, 64, 32}, {64, 384, 64}, {64, 24, 144}, {64, 576, 96}, {64, 256, 256}, {64, 512, 512}, {64, 1024, 1024}} {
		m, n, k := s[0], s[1], s[2]
		w := make([]int8, n*k)
		for i := range w {
			w[i] = int8(i*7 - 3)
		}
		bias, mult, shift := make([]int32, n), make([]int32, n), make([]int, n)
		for i := range mult {
			mult[i], shift[i] = 1<<30+int32(i*12345), -8
		}
		r := NewRequant(bias, mult, shift, false, 3, -128, 127)
		paths := []string{"vnni"}
		if useAMX() {
			paths = append(paths, "amx")
		}
		for _, path := range paths {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", m, n, k, path), func(b *testing.B) {
				saved := hasAMX
				defer func() { hasAMX = saved }()
				hasAMX = hasAMX && path == "amx"
				p := PackI8(w, n, k)
				a := make([]uint8, m*p.Kp)
				c := make([]int32, m*p.Np)
				out := make([]int8, m*n)
				for b.Loop() {
					GemmU8I8Requant(m, a, p.Kp, p, r, out, n, c)
				}
				b.ReportMetric(float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}
