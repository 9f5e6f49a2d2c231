package tflite_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkMobileNetV1_128 measures MobileNet V1 1.0@128 with 1001 classes:
// batch 1 on one thread (latency), batch 8 on all cores (throughput) and
// batch 1 on all cores (latency with the image split across threads).
func BenchmarkMobileNetV1_128(b *testing.B) {
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v1", Width: 1.0, Size: 128, Classes: 1001, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	m, err := tflite.Load(g.TFLite())
	if err != nil {
		b.Fatal(err)
	}
	procs := runtime.GOMAXPROCS(0)
	configs := []struct{ batch, threads int }{{1, 1}, {8, procs}}
	if procs > 1 {
		configs = append(configs, struct{ batch, threads int }{1, procs}) // latency split inside the image
	}
	for _, bc := range configs {
		b.Run(fmt.Sprintf("batch%d_threads%d", bc.batch, bc.threads), func(b *testing.B) {
			m.SetThreads(bc.threads)
			h, w, c := m.InputShape()
			in := make([]float32, bc.batch*h*w*c)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range in {
				in[i] = rng.Float32()
			}
			out := make([]float32, bc.batch*m.NumClasses())
			start, cpu0 := time.Now(), cpuTime()
			for b.Loop() {
				if err := m.Run(in, bc.batch, out); err != nil {
					b.Fatal(err)
				}
			}
			imgs := float64(b.N * bc.batch)
			sec := time.Since(start).Seconds()
			b.ReportMetric(imgs/sec, "img/s")
			b.ReportMetric(sec*1e3/imgs, "ms/img")
			// CPU time per image is steadier than wall time on a shared machine.
			b.ReportMetric((cpuTime()-cpu0).Seconds()*1e3/imgs, "cpu-ms/img")
		})
	}
}

// cpuTime is the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
