package launcher

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// FuzzExtractRoot feeds arbitrary layer bytes to the extraction: it may refuse them, but it must
// never write outside the root (the sibling directory stays empty) nor panic.
func FuzzExtractRoot(f *testing.F) {
	seed := func(hs ...tar.Header) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range hs {
			_ = tw.WriteHeader(&h)
			if h.Size > 0 {
				_, _ = tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
			}
		}
		_ = tw.Close()
		return buf.Bytes()
	}
	f.Add(seed(tar.Header{Name: "app/workload", Typeflag: tar.TypeReg, Mode: 0o755, Size: 3}))
	f.Add(seed(tar.Header{Name: "../x", Typeflag: tar.TypeReg, Size: 1}))
	f.Add(seed(tar.Header{Name: "d", Typeflag: tar.TypeSymlink, Linkname: "../../sibling"}, tar.Header{Name: "d/x", Typeflag: tar.TypeReg, Size: 1}))
	f.Add(seed(tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../sibling/x"}))
	f.Fuzz(func(t *testing.T, layerTar []byte) {
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil })
		if err != nil {
			return
		}
		img, err := mutate.AppendLayers(empty.Image, layer)
		if err != nil {
			return
		}
		base := t.TempDir()
		root, sibling := filepath.Join(base, "a", "root"), filepath.Join(base, "sibling")
		if err := os.MkdirAll(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(sibling, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = extractRoot(img, root, false)
		for _, d := range []string{sibling, base, filepath.Join(base, "a")} {
			entries, _ := os.ReadDir(d)
			for _, e := range entries {
				if p := filepath.Join(d, e.Name()); p != sibling && p != filepath.Join(base, "a") && p != root {
					t.Fatalf("extraction wrote %s outside the root", p)
				}
			}
		}
	})
}
