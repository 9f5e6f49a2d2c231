// Package demophotos holds the demo's sample photos: a few small JPEGs drawn by gen.go (shapes and
// gradients, made by the project, no outside images), so `cspipe demo` and `cspipe local up` work
// from a bare clone. `cspipe demo --images DIR` classifies other photos instead.
package demophotos

import (
	"embed"
	"io/fs"
	"path"
	"sort"
)

//go:generate go run gen.go

//go:embed testdata/*.jpg
var files embed.FS

// Photo is one sample photo.
type Photo struct {
	Name string // file name, e.g. "sunset.jpg"
	Data []byte
}

// All returns the sample photos sorted by name.
func All() []Photo {
	names, err := fs.Glob(files, "testdata/*.jpg")
	if err != nil {
		panic(err) // the pattern is a constant
	}
	sort.Strings(names)
	out := make([]Photo, 0, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			panic(err) // embedded at build time
		}
		out = append(out, Photo{Name: path.Base(n), Data: b})
	}
	return out
}
