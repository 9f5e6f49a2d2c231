package imagebuild_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/imagebuild"
)

// tinyModule writes a module whose main package links a library package with an embedded file,
// so a test can change a dependency's source or an embedded file without touching main.
func tinyModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":        "module example.com/tiny\n\ngo 1.26\n",
		"main.go":       "package main\n\nimport \"example.com/tiny/lib\"\n\nfunc main() { println(lib.Greeting(), len(lib.Data)) }\n",
		"lib/lib.go":    "package lib\n\nimport _ \"embed\"\n\n//go:embed data.txt\nvar Data string\n\n// Not inlined, so a change of its body leaves the export data, and main's compiled package, as they were.\n//\n//go:noinline\nfunc Greeting() string { return \"hello\" }\n",
		"lib/data.txt":  "one\n",
		"lib/tagged.go": "//go:build extra\n\npackage lib\n\nfunc init() { println(\"extra\") }\n",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), content)
	}
	return dir
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCompileCacheNeverServesAStaleBinary links a binary once, serves it from the cache while
// nothing changed, and links again (with the bytes of an uncached build) after each kind of
// change that alters the binary: a dependency's source, an embedded file, a build tag.
func TestCompileCacheNeverServesAStaleBinary(t *testing.T) {
	mod := tinyModule(t)
	cache := t.TempDir()
	opts := imagebuild.Options{ModuleDir: mod, Package: ".", CacheDir: cache}
	compile := func(what string, o imagebuild.Options) *imagebuild.Binary {
		t.Helper()
		b, err := imagebuild.CompileBinary(t.Context(), o)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return b
	}
	// fresh checks that a miss linked exactly what an uncached build of the same source gives.
	fresh := func(what string, o imagebuild.Options, got *imagebuild.Binary) {
		t.Helper()
		if got.Cached {
			t.Fatalf("%s: served from the cache", what)
		}
		o.NoCache = true
		if want := compile(what+" (uncached)", o); !bytes.Equal(got.Bytes, want.Bytes) {
			t.Fatalf("%s: the binary differs from an uncached build", what)
		}
	}

	first := compile("first build", opts)
	fresh("first build", opts, first)
	if first.Key == "" {
		t.Fatal("the first build has no cache key")
	}
	again := compile("second build", opts)
	if !again.Cached || again.Key != first.Key || !bytes.Equal(again.Bytes, first.Bytes) {
		t.Fatalf("nothing changed, yet cached=%v, key %s → %s", again.Cached, first.Key, again.Key)
	}

	keys := map[string]string{"unchanged": first.Key}
	step := func(what string, o imagebuild.Options, prev []byte) []byte {
		t.Helper()
		b := compile(what, o)
		fresh(what, o, b)
		if bytes.Equal(b.Bytes, prev) {
			t.Fatalf("%s: the change did not change the binary; the test proves nothing", what)
		}
		for k, key := range keys {
			if key == b.Key {
				t.Fatalf("%s has the key of %q", what, k)
			}
		}
		keys[what] = b.Key
		if hit := compile(what+", again", o); !hit.Cached || !bytes.Equal(hit.Bytes, b.Bytes) {
			t.Fatalf("%s, again: cached=%v", what, hit.Cached)
		}
		return b.Bytes
	}
	writeFile(t, filepath.Join(mod, "lib/lib.go"), strings.Replace(read(t, filepath.Join(mod, "lib/lib.go")), `"hello"`, `"hullo"`, 1))
	bin := step("a dependency's source", opts, first.Bytes)
	writeFile(t, filepath.Join(mod, "lib/data.txt"), "two, longer\n")
	bin = step("an embedded file", opts, bin)
	tagged := opts
	tagged.Tags = []string{"extra"}
	step("a build tag", tagged, bin)

	// A damaged entry is not served: the binary is linked again.
	ents, err := filepath.Glob(filepath.Join(cache, keys["an embedded file"]))
	if err != nil || len(ents) != 1 {
		t.Fatalf("the cache has no entry for the last untagged build: %v %v", ents, err)
	}
	writeFile(t, ents[0], "not the binary")
	if b := compile("after damage", opts); b.Cached || !bytes.Equal(b.Bytes, bin) {
		t.Fatalf("a damaged entry: cached=%v", b.Cached)
	}
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
