package demophotos

import (
	"bytes"
	"image/jpeg"
	"testing"
)

func TestPhotosAreSmallDecodableJPEGs(t *testing.T) {
	ps := All()
	if len(ps) < 3 {
		t.Fatalf("%d photos, want at least 3", len(ps))
	}
	total := 0
	for _, p := range ps {
		total += len(p.Data)
		img, err := jpeg.Decode(bytes.NewReader(p.Data))
		if err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		if b := img.Bounds(); b.Dx() < 64 || b.Dy() < 64 {
			t.Errorf("%s is %v, too small to classify", p.Name, b)
		}
	}
	if total > 64<<10 {
		t.Errorf("the photos take %d bytes; keep the repository's demo photos under 64 KiB", total)
	}
}
