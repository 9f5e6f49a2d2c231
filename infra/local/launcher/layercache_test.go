package launcher

import (
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// countingImage counts the reads of its layers' uncompressed bytes; lie makes a layer claim a
// diff ID its bytes do not have.
type countingImage struct {
	v1.Image
	reads *atomic.Int32
	lie   bool
}

func (i countingImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for k, l := range ls {
		out[k] = countingLayer{l, i.reads, i.lie}
	}
	return out, nil
}

type countingLayer struct {
	v1.Layer
	reads *atomic.Int32
	lie   bool
}

func (l countingLayer) Uncompressed() (io.ReadCloser, error) {
	l.reads.Add(1)
	return l.Layer.Uncompressed()
}

func (l countingLayer) DiffID() (v1.Hash, error) {
	if l.lie {
		return v1.Hash{Algorithm: "sha256", Hex: "00000000000000000000000000000000000000000000000000000000000000aa"}, nil
	}
	return l.Layer.DiffID()
}

// tree reads every regular file under root.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p[len(root):]] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUnpackedLayersAreReadOnce: a second launch of an image unpacks its layers from the cache
// (the same files), while a layer whose bytes do not match its diff ID is never kept.
func TestUnpackedLayersAreReadOnce(t *testing.T) {
	for _, lie := range []bool{false, true} {
		img, err := random.Image(4096, 2) // new layers: nothing of them is cached yet
		if err != nil {
			t.Fatal(err)
		}
		var reads atomic.Int32
		ci := countingImage{img, &reads, lie}
		var trees []map[string]string
		for range 2 {
			root := t.TempDir()
			if err := extractRoot(ci, root, false); err != nil {
				t.Fatal(err)
			}
			trees = append(trees, tree(t, root))
		}
		if len(trees[0]) == 0 || len(trees[0]) != len(trees[1]) {
			t.Fatalf("lie=%v: extracted %d and %d files", lie, len(trees[0]), len(trees[1]))
		}
		for p, c := range trees[0] {
			if trees[1][p] != c {
				t.Errorf("lie=%v: %s differs between the two extractions", lie, p)
			}
		}
		want := int32(2) // two layers, each read once
		if lie {
			want = 4 // never cached: read at every launch
		}
		if got := reads.Load(); got != want {
			t.Errorf("lie=%v: the layers were read %d times, want %d", lie, got, want)
		}
	}
}
