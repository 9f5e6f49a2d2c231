package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/image/bmp"

	"github.com/cspipe/cspipe/internal/inference/imageprep"
)

// djpegOnce times one run of libjpeg-turbo's djpeg decoding the whole photo to /dev/null (its
// default islow inverse DCT and fancy upsampling, what the exact path reproduces); ok is false
// without djpeg or when it fails.
func djpegOnce(photo string) (wallMS, cpuMS float64, ok bool) {
	if _, err := exec.LookPath("djpeg"); err != nil {
		return 0, 0, false
	}
	cmd := exec.Command("djpeg", "-outfile", os.DevNull, photo)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, false
	}
	wallMS = float64(time.Since(start).Microseconds()) / 1000
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return wallMS, float64(cpu.Microseconds()) / 1000, true
}

// formatBench is one line of the per-format table of `cspipe bench --decode --json`.
type formatBench struct {
	Format string `json:"format"`
	// Source names the photo the file was made from and how.
	Source  string  `json:"source"`
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	Bytes   int     `json:"bytes"`
	Path    string  `json:"path"`
	MS      float64 `json:"ms"`
	CPUMS   float64 `json:"cpu_ms"`
	AllocMB float64 `json:"alloc_mb"`
	// MaxAbsVsJPEG compares the tensor with the exact path on the JPEG the file holds the same
	// coefficients as (the lossless transcodes; absent otherwise).
	MaxAbsVsJPEG *float64 `json:"max_abs_vs_jpeg,omitempty"`
}

// benchFormats re-encodes one sample photo in every other decoded format and times
// decode+resize of each: the arithmetic-coded transcode (same coefficients, so the same
// tensor) at full size, and PNG/WebP/GIF/BMP from a 2048-pixel-wide copy.
func benchFormats(photo string, w, h, repeat int, asJSON bool, stdout io.Writer) error {
	data, err := os.ReadFile(photo)
	if err != nil {
		return fmt.Errorf("reading photo: %w", err)
	}
	tmp, err := os.MkdirTemp("", "cspipe-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	type variant struct {
		format, source string
		data           []byte
		ref            []byte // a JPEG with the same pixels, when there is one
	}
	var vs []variant
	if _, err := exec.LookPath("jpegtran"); err == nil {
		if out, err := exec.Command("jpegtran", "-arithmetic", photo).Output(); err == nil {
			vs = append(vs, variant{"jpeg arithmetic", "jpegtran -arithmetic", out, data})
		}
		if out, err := exec.Command("jpegtran", "-arithmetic", "-progressive", photo).Output(); err == nil {
			vs = append(vs, variant{"jpeg arith progressive", "jpegtran -arithmetic -progressive", out, data})
		}
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %w", photo, err)
	}
	small := shrink(img, 2048)
	var pb bytes.Buffer
	if err := png.Encode(&pb, small); err != nil {
		return err
	}
	pngData := pb.Bytes()
	scaled := fmt.Sprintf("%dx%d copy", small.Bounds().Dx(), small.Bounds().Dy())
	vs = append(vs, variant{"png", scaled + ", image/png", pngData, nil})
	var b bytes.Buffer
	if err := bmp.Encode(&b, small); err != nil {
		return err
	}
	vs = append(vs, variant{"bmp", scaled, b.Bytes(), nil})
	var g bytes.Buffer
	if err := gif.Encode(&g, small, &gif.Options{NumColors: 256}); err != nil {
		return err
	}
	vs = append(vs, variant{"gif", scaled + ", 256 colours", g.Bytes(), nil})
	if _, err := exec.LookPath("cwebp"); err == nil {
		src := filepath.Join(tmp, "src.png")
		if err := os.WriteFile(src, pngData, 0o644); err != nil {
			return err
		}
		for _, c := range []struct{ name, args string }{{"webp lossy", "-q 85"}, {"webp lossless", "-lossless -z 1"}} {
			out := filepath.Join(tmp, "out.webp")
			args := append(splitArgs(c.args), "-quiet", src, "-o", out)
			if err := exec.Command("cwebp", args...).Run(); err == nil {
				if wb, err := os.ReadFile(out); err == nil {
					vs = append(vs, variant{c.name, scaled + ", cwebp " + c.args, wb, nil})
				}
			}
		}
	}
	if !asJSON {
		fmt.Fprintf(stdout, "\nOther formats, from %s -> %d (fastest of %d; alloc = bytes allocated by one decode)\n", filepath.Base(photo), w, repeat)
		fmt.Fprintf(stdout, "%-24s %-42s %11s %9s %7s %9s %9s %11s\n", "format", "source", "size", "path", "ms", "cpu ms", "alloc MB", "vs jpeg max")
	}
	enc := json.NewEncoder(stdout)
	for _, v := range vs {
		o := imageprep.Options{Width: w, Height: h}
		dst := make([]float32, o.TensorLen())
		r := formatBench{Format: v.format, Source: v.source, Bytes: len(v.data)}
		best, bestCPU := math.Inf(1), math.Inf(1)
		settleHeap(func() { _, _ = imageprep.Prepare(v.data, o, dst) })
		for range repeat {
			start, cpu0 := time.Now(), cpuTime()
			res, err := imageprep.Prepare(v.data, o, dst)
			if err != nil {
				return fmt.Errorf("%s: %w", v.format, err)
			}
			best = min(best, float64(time.Since(start).Microseconds())/1000)
			bestCPU = min(bestCPU, float64((cpuTime()-cpu0).Microseconds())/1000)
			r.Path, r.Width, r.Height = res.Path, res.Width, res.Height
		}
		r.MS, r.CPUMS = best, bestCPU
		r.AllocMB = allocOf(func() { _, _ = imageprep.Prepare(v.data, o, dst) })
		if v.ref != nil {
			ref := make([]float32, o.TensorLen())
			if _, err := imageprep.Prepare(v.ref, o, ref); err == nil {
				d, _ := absDiff(dst, ref)
				r.MaxAbsVsJPEG = &d
			}
		}
		if asJSON {
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		vsJPEG := "-"
		if r.MaxAbsVsJPEG != nil {
			vsJPEG = fmt.Sprintf("%.3g", *r.MaxAbsVsJPEG)
		}
		fmt.Fprintf(stdout, "%-24s %-42s %11s %9s %7.1f %9.1f %9.2f %11s\n", r.Format, r.Source,
			fmt.Sprintf("%dx%d", r.Width, r.Height), r.Path, r.MS, r.CPUMS, r.AllocMB, vsJPEG)
	}
	if !asJSON {
		// The whole-image decoder next to the streamed PNG path, for its memory.
		alloc := allocOf(func() { _, _ = png.Decode(bytes.NewReader(pngData)) })
		fmt.Fprintf(stdout, "(image/png decoding the same PNG whole allocates %.1f MB)\n", alloc)
	}
	return nil
}

// shrink is a nearest-neighbour copy of img at most maxW pixels wide.
func shrink(img image.Image, maxW int) *image.NRGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > maxW {
		w, h = maxW, h*maxW/w
	}
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x*b.Dx()/w, b.Min.Y+y*b.Dy()/h)).(color.NRGBA)
			out.SetNRGBA(x, y, c)
		}
	}
	return out
}

func splitArgs(s string) []string {
	var out []string
	for _, f := range bytes.Fields([]byte(s)) {
		out = append(out, string(f))
	}
	return out
}
