package imagebuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The binary cache. `go build -o` links every time (the go command caches compiled packages, not
// the linked output), and linking the workload takes seconds; a warm `make run` would spend most of
// its time there. So the linked binary is kept in the user's cache directory under a key computed
// from everything that determines its bytes:
//
//   - every package the binary links, by the content hash of its compiled output: `go list -export
//     -deps` with the build's own flags and environment names each package's export file in the
//     go command's cache, and those files are named by the SHA-256 of their content. So a change
//     of any source file, embedded file, build tag, compiler flag or toolchain that changes a
//     compiled package changes the key; the go command decides, not a list of ours;
//   - each package's import path and module (path, version, sum, replacement): the module lines
//     of the binary's build info;
//   - the go command's whole environment as `go env -json` reports it under the build's
//     environment (GOVERSION, GOROOT, GOOS, GOARCH, GOAMD64, GOEXPERIMENT, GOFLAGS, …), minus
//     GOGCCFLAGS, which names a fresh temporary directory on every call (cgo is off anyway), and
//     GOCACHE, whose packages enter by their content;
//   - the SHA-256 of the linker binary itself;
//   - the build arguments (flags, -ldflags, -tags, the main package).
//
// A stale binary would need a change that alters the link's output while leaving all of these
// unchanged. Entries are written to a temporary file and renamed, with a second file holding the
// binary's SHA-256, which a hit checks; the cache keeps the most recently used cacheKeep entries.

// cacheKeep is how many entries (linked binaries; compressed layers, in their own directory) the
// cache keeps, each tens of MB: enough for the workload, its test builds and the CLI of a few
// checkouts.
const cacheKeep = 10

// cacheSchema changes when the key's derivation changes, so old entries are never read.
const cacheSchema = "cspipe-imagebuild-bincache-v1"

// DefaultCacheDir is where Compile keeps linked binaries unless Options.CacheDir says otherwise:
// <os.UserCacheDir()>/cspipe/workload-bin.
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "cspipe", "workload-bin"), nil
}

// Binary is a compiled workload binary and where it came from.
type Binary struct {
	Bytes []byte
	// Key is the cache key (hex SHA-256); empty when the cache was not used.
	Key string
	// Cached reports that the bytes came from the cache, without a link.
	Cached bool
}

// CompileBinary is Compile with the cache's verdict: it returns the cached binary when the key
// (see the comment above) matches an entry, and otherwise builds and stores it.
func CompileBinary(ctx context.Context, o Options) (*Binary, error) {
	if o.GOARCH == "" {
		o.GOARCH = "amd64"
	}
	if o.NoCache {
		bin, err := compile(ctx, o)
		if err != nil {
			return nil, err
		}
		return &Binary{Bytes: bin}, nil
	}
	dir := o.CacheDir
	if dir == "" {
		var err error
		if dir, err = DefaultCacheDir(); err != nil {
			// No cache directory (no $HOME): build without one.
			bin, err := compile(ctx, o)
			if err != nil {
				return nil, err
			}
			return &Binary{Bytes: bin}, nil
		}
	}
	key, err := cacheKey(ctx, o)
	if err != nil {
		return nil, err
	}
	if bin, ok := cacheGet(dir, key); ok {
		return &Binary{Bytes: bin, Key: key, Cached: true}, nil
	}
	bin, err := compile(ctx, o)
	if err != nil {
		return nil, err
	}
	// A cache that cannot be written costs the next run a link, nothing more.
	_ = cachePut(dir, key, bin)
	return &Binary{Bytes: bin, Key: key}, nil
}

// buildArgs are the arguments of `go <verb>` for o, before the package (and without -o).
func buildArgs(verb string, o Options) []string {
	args := append([]string{verb}, GoFlags...)
	args = append(args, ldflags)
	if len(o.Tags) > 0 {
		args = append(args, "-tags", strings.Join(o.Tags, ","))
	}
	return args
}

func mainPackage(o Options) string {
	if o.Package == "" {
		return "./workload"
	}
	return o.Package
}

// goEnv is the environment of every go command the builder runs.
func goEnv(o Options) []string {
	return append(os.Environ(), "CGO_ENABLED="+CGOEnabled, "GOOS=linux", "GOARCH="+o.GOARCH, "GOFLAGS=-mod=readonly")
}

func runGo(ctx context.Context, o Options, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = o.ModuleDir
	cmd.Env = goEnv(o)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// listFormat prints, per package the binary links, its import path, the content-named file of its
// compiled output in the go command's cache, and its module.
const listFormat = `{{.ImportPath}}|{{.Export}}|{{with .Module}}{{.Path}}@{{.Version}} {{.Sum}}` +
	`{{with .Replace}} => {{.Path}}@{{.Version}} {{.Sum}}{{end}}{{end}}`

// cacheKey computes the key of o's binary (see the comment at the top of the file). Listing with
// -export compiles whatever is not compiled yet, which the build that may follow reuses.
func cacheKey(ctx context.Context, o Options) (string, error) {
	listArgs := append(buildArgs("list", o), "-export", "-deps", "-f", listFormat, mainPackage(o))
	listed, err := runGo(ctx, o, listArgs...)
	if err != nil {
		return "", err
	}
	envJSON, err := runGo(ctx, o, "env", "-json")
	if err != nil {
		return "", err
	}
	var env map[string]string
	if err := json.Unmarshal(envJSON, &env); err != nil {
		return "", fmt.Errorf("reading go env -json: %w", err)
	}
	// GOGCCFLAGS names a fresh temporary directory on every call (and cgo is off). GOCACHE is only
	// where the compiled packages are, and they enter the key by their content.
	delete(env, "GOGCCFLAGS")
	delete(env, "GOCACHE")
	h := sha256.New()
	fmt.Fprintf(h, "%s\nargs %q\npackage %q\n", cacheSchema, buildArgs("build", o), mainPackage(o))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(h, "env %s=%q\n", k, env[k])
	}
	link := filepath.Join(env["GOTOOLDIR"], "link")
	if err := hashFile(h, link); err != nil {
		return "", fmt.Errorf("hashing the linker: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(listed)), "\n")
	for _, line := range lines {
		path, rest, ok := strings.Cut(line, "|")
		export, module, ok2 := strings.Cut(rest, "|")
		if !ok || !ok2 {
			return "", fmt.Errorf("go list printed %q", line)
		}
		content := ""
		if export != "" {
			// The go command names the file by its content's hash; check that it is one, so a
			// change in that naming cannot silently turn the key into a constant.
			base := filepath.Base(export)
			id, isOutput := strings.CutSuffix(base, "-d")
			if !isOutput || len(id) != 64 {
				return "", fmt.Errorf("go list -export named %s for %s, not a content-addressed cache file", export, path)
			}
			content = id
		} else if path != "unsafe" {
			return "", fmt.Errorf("go list -export gave no compiled output for %s", path)
		}
		fmt.Fprintf(h, "pkg %s %s %s\n", path, content, module)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(w io.Writer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// cacheGet returns the entry of key when it is complete and its bytes match its recorded hash,
// and marks it used.
func cacheGet(dir, key string) ([]byte, bool) {
	p := filepath.Join(dir, key)
	sum, err := os.ReadFile(p + ".sha256")
	if err != nil {
		return nil, false
	}
	bin, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	got := sha256.Sum256(bin)
	if hex.EncodeToString(got[:]) != strings.TrimSpace(string(sum)) {
		return nil, false
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now)
	return bin, true
}

// cachePut stores bin under key (the binary first, its hash last: an entry without the hash file
// is not one), then drops the least recently used entries beyond cacheKeep.
func cachePut(dir, key string, bin []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	p := filepath.Join(dir, key)
	sum := sha256.Sum256(bin)
	if err := writeAtomic(p, bin, 0o755); err != nil {
		return err
	}
	if err := writeAtomic(p+".sha256", []byte(hex.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
		return err
	}
	return cacheTrim(dir)
}

func writeAtomic(name string, data []byte, mode fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), mode); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// cacheTrim removes all but the cacheKeep most recently used entries, and temporary files older
// than an hour (left by a build that was killed).
func cacheTrim(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type entry struct {
		key  string
		used time.Time
	}
	var entries []entry
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			continue
		}
		n := e.Name()
		switch {
		case strings.HasPrefix(n, ".tmp-"):
			if time.Since(info.ModTime()) > time.Hour {
				os.Remove(filepath.Join(dir, n))
			}
		case len(n) == 64 && !strings.Contains(n, "."):
			entries = append(entries, entry{n, info.ModTime()})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return b.used.Compare(a.used) })
	for _, e := range entries[min(len(entries), cacheKeep):] {
		os.Remove(filepath.Join(dir, e.key+".sha256"))
		os.Remove(filepath.Join(dir, e.key))
	}
	return nil
}

// The layer cache. Packing gzips the whole binary; ggcr's gzip under the race detector (the
// tests) takes half a minute for the workload, and seconds without it. The compressed bytes are a
// function of the uncompressed layer, the compression level and the code that compresses: the Go
// release (compress/flate) and go-containerregistry's version. So they are cached under
// <CacheDir>/layers keyed by exactly these, and an image packed from a cached layer is the image
// packed from a fresh one, byte for byte (TestLayerCacheGivesTheSameImage).

// layerDir is the layer cache of o, or "" when o caches nothing.
func layerDir(o Options) string {
	if o.NoCache {
		return ""
	}
	dir := o.CacheDir
	if dir == "" {
		var err error
		if dir, err = DefaultCacheDir(); err != nil {
			return ""
		}
	}
	return filepath.Join(dir, "layers")
}

// compressorVersion names the code that compresses layers, or "" if it cannot be told: the Go
// release and go-containerregistry's version and sum from the build info, or, in a binary without
// module information (a test binary), the SHA-256 of the running executable, which holds that
// code.
var compressorVersion = sync.OnceValue(func() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path != "github.com/google/go-containerregistry" {
				continue
			}
			if m.Replace != nil {
				m = m.Replace
			}
			if m.Sum != "" { // else a local replacement, whose code no version pins
				return runtime.Version() + " " + m.Path + "@" + m.Version + " " + m.Sum
			}
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	h := sha256.New()
	if err := hashFile(h, exe); err != nil {
		return ""
	}
	return "executable " + hex.EncodeToString(h.Sum(nil))
})

// packLayer returns the OCI layer (gzip) of the uncompressed tar bytes, compressing only when
// the layer cache has no entry for them.
func packLayer(o Options, tarBytes []byte) (v1.Layer, error) {
	diffID := sha256.Sum256(tarBytes)
	dir, version := layerDir(o), compressorVersion()
	key := ""
	if dir != "" && version != "" {
		h := sha256.New()
		fmt.Fprintf(h, "cspipe-imagebuild-layer-v1\n%s\ndiff %x\nmedia %s\ndefault level\n", version, diffID, types.OCILayer)
		key = hex.EncodeToString(h.Sum(nil))
		if gz, ok := cacheGet(dir, key); ok {
			return &cachedLayer{tar: tarBytes, gz: gz, diffID: diffID, digest: sha256.Sum256(gz)}, nil
		}
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("building layer: %w", err)
	}
	if key != "" {
		rc, err := layer.Compressed()
		if err != nil {
			return nil, err
		}
		gz, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		_ = cachePut(dir, key, gz)
	}
	return layer, nil
}

// cachedLayer is a layer whose compressed bytes came from the layer cache.
type cachedLayer struct {
	tar, gz        []byte
	diffID, digest [sha256.Size]byte
}

func sha(b [sha256.Size]byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(b[:])}
}

func (l *cachedLayer) Digest() (v1.Hash, error) { return sha(l.digest), nil }
func (l *cachedLayer) DiffID() (v1.Hash, error) { return sha(l.diffID), nil }
func (l *cachedLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.gz)), nil
}
func (l *cachedLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.tar)), nil
}
func (l *cachedLayer) Size() (int64, error)                { return int64(len(l.gz)), nil }
func (l *cachedLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
