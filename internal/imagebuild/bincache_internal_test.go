package imagebuild

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestLayerCacheGivesTheSameImage packs an image without the cache, then through it (a miss,
// then a hit), and checks that all three are the same image byte for byte, and that the one
// packed from the cached layer pushes as that image.
func TestLayerCacheGivesTheSameImage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	bin := make([]byte, 3<<20)
	for i := range bin {
		bin[i] = byte(r.IntN(16)) // compressible, like a binary
	}
	cache := t.TempDir()
	build := func(o Options) (v1.Image, v1.Layer) {
		t.Helper()
		o.Binary, o.Variant = bin, "v"
		img, err := Build(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil || len(ls) != 1 {
			t.Fatalf("layers %v, %v", ls, err)
		}
		return img, ls[0]
	}
	raw := func(img v1.Image) string {
		m, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		c, err := img.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		return string(m) + "\n" + string(c)
	}
	compressed := func(l v1.Layer) []byte {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	fresh, freshLayer := build(Options{NoCache: true})
	miss, missLayer := build(Options{CacheDir: cache})
	hit, hitLayer := build(Options{CacheDir: cache})
	if _, ok := missLayer.(*cachedLayer); ok {
		t.Fatal("the first build through an empty cache used a cached layer")
	}
	if _, ok := hitLayer.(*cachedLayer); !ok {
		t.Fatalf("the second build compressed again (%T); the cache holds %v", hitLayer, ls(t, filepath.Join(cache, "layers")))
	}
	for what, img := range map[string]v1.Image{"miss": miss, "hit": hit} {
		if raw(img) != raw(fresh) {
			t.Errorf("%s: manifest and config differ from an uncached build:\n%s\nvs\n%s", what, raw(img), raw(fresh))
		}
	}
	if !bytes.Equal(compressed(hitLayer), compressed(freshLayer)) {
		t.Error("the cached layer's compressed bytes differ from a fresh compression")
	}
	rc, err := hitLayer.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	tarBytes, _ := io.ReadAll(rc)
	if want, _ := tarLayer([]file{{path: BinaryPath, data: bin, mode: 0o555}, {path: "/app/VARIANT", data: []byte("v\n"), mode: 0o444}}); !bytes.Equal(tarBytes, want) {
		t.Error("the cached layer's uncompressed bytes are not the layer's tar")
	}

	// A damaged entry is not used.
	ents, _ := filepath.Glob(filepath.Join(cache, "layers", "*.sha256"))
	if len(ents) != 1 {
		t.Fatalf("layer cache entries %v", ents)
	}
	os.WriteFile(strings.TrimSuffix(ents[0], ".sha256"), []byte("\x1f\x8bdamaged"), 0o644)
	if _, l := build(Options{CacheDir: cache}); !bytes.Equal(compressed(l), compressed(freshLayer)) {
		t.Error("a damaged cache entry was served")
	}

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	ref := strings.TrimPrefix(reg.URL, "http://") + "/p/w:latest"
	if _, err := Push(context.Background(), hit, ref); err != nil {
		t.Fatal(err)
	}
	pr, _ := name.ParseReference(ref)
	pulled, err := remote.Image(pr)
	if err != nil {
		t.Fatal(err)
	}
	if raw(pulled) != raw(fresh) {
		t.Error("the registry holds another image than the one packed without the cache")
	}
	pl, _ := pulled.Layers()
	if !bytes.Equal(compressed(pl[0]), compressed(freshLayer)) {
		t.Error("the pushed layer's bytes differ")
	}
}

func ls(t *testing.T, dir string) []string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestCacheKeepsTheMostRecentlyUsed: after a put, only cacheKeep entries stay, the most recently
// used ones, each with its hash file; a hit counts as a use.
func TestCacheKeepsTheMostRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	key := func(i int) string { return fmt.Sprintf("%064x", i) }
	old := time.Now().Add(-time.Hour)
	for i := range cacheKeep {
		if err := cachePut(dir, key(i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		when := old.Add(time.Duration(i) * time.Minute)
		os.Chtimes(filepath.Join(dir, key(i)), when, when)
	}
	if _, ok := cacheGet(dir, key(0)); !ok { // the oldest, used now
		t.Fatal("entry 0 is gone before any trim")
	}
	for _, k := range []int{100, 101} {
		if err := cachePut(dir, key(k), []byte{byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	// Entries 1 and 2 were the least recently used when 100 and 101 came in.
	want := map[int]bool{0: true, 3: true, 4: true, 5: true, 100: true, 101: true}
	for _, i := range []int{0, 1, 2, 3, 4, 5, 100, 101} {
		_, ok := cacheGet(dir, key(i))
		if ok != want[i] {
			t.Errorf("entry %d kept=%v, want %v", i, ok, want[i])
		}
	}
	if n := len(ls(t, dir)); n != 2*cacheKeep {
		t.Errorf("%d files in the cache, want %d: %v", n, 2*cacheKeep, ls(t, dir))
	}
}
