//go:build ignore

// gen writes the demo's photos: small procedurally drawn JPEGs, so the repository carries its own
// sample images and `make run` needs nothing outside it. Run with `go generate ./internal/demophotos`.
package main

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"log"
	"math"
	"os"
	"path/filepath"
)

const w, h = 160, 120

type scene struct {
	name string
	draw func(x, y int) color.RGBA
}

func clamp(v float64) uint8 { return uint8(math.Max(0, math.Min(255, v))) }

var scenes = []scene{
	{"sunset.jpg", func(x, y int) color.RGBA {
		t := float64(y) / h
		dx, dy := float64(x-w/2), float64(y-int(0.7*h))
		if dx*dx+dy*dy < 22*22 && y < int(0.7*h) {
			return color.RGBA{255, 220, 90, 255}
		}
		if y >= int(0.7*h) {
			return color.RGBA{clamp(30 + 40*t), clamp(40 + 30*t), clamp(90 + 60*t), 255}
		}
		return color.RGBA{clamp(250 - 40*t), clamp(120 + 60*t), clamp(60 + 80*t), 255}
	}},
	{"checkerboard.jpg", func(x, y int) color.RGBA {
		if (x/20+y/20)%2 == 0 {
			return color.RGBA{235, 235, 225, 255}
		}
		return color.RGBA{40, 40, 50, 255}
	}},
	{"meadow.jpg", func(x, y int) color.RGBA {
		horizon := 55 + 8*math.Sin(float64(x)/18)
		if float64(y) < horizon {
			return color.RGBA{120, 180, 240, 255}
		}
		g := 140 + 40*math.Sin(float64(x*y)/90)
		return color.RGBA{clamp(50 + 0.2*g), clamp(g), 60, 255}
	}},
	{"rings.jpg", func(x, y int) color.RGBA {
		r := math.Hypot(float64(x-w/2), float64(y-h/2))
		v := 0.5 + 0.5*math.Cos(r/4)
		return color.RGBA{clamp(200 * v), clamp(80 + 100*(1-v)), clamp(160 * v), 255}
	}},
	{"stripes.jpg", func(x, y int) color.RGBA {
		switch ((x + y) / 12) % 3 {
		case 0:
			return color.RGBA{210, 60, 50, 255}
		case 1:
			return color.RGBA{245, 240, 230, 255}
		}
		return color.RGBA{40, 70, 160, 255}
	}},
}

func main() {
	for _, s := range scenes {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				img.SetRGBA(x, y, s.draw(x, y))
			}
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", s.name), b.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
