// Package imagebuild builds the workload's OCI image without a container engine: a static,
// reproducible Go binary (CGO_ENABLED=0, -trimpath, no build id) packed as a single layer with
// fixed timestamps, owner and mode, and the Confidential Space launch-policy labels. The same
// source and toolchain give the same digest. Push writes the image to a registry.
//
// The layer holds nothing but the binary: no CA bundle, no /etc, no shell. The workload carries
// its own public roots (it imports golang.org/x/crypto/x509roots/fallback), and the config's
// Entrypoint, WorkingDir (/app), User (65532:65532, numeric: there is no /etc/passwd) and Env are
// what the launcher runs it with — the local launcher honours them too, chrooted in the image.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/cspipe/cspipe/internal/workload"
)

// Launch-policy label names (Confidential Space launcher).
const (
	LabelAllowEnvOverride = "tee.launch_policy.allow_env_override"
	LabelLogRedirect      = "tee.launch_policy.log_redirect"
	LabelAllowCmdOverride = "tee.launch_policy.allow_cmd_override"
	// LabelVariant marks a deliberately different build (e.g. the demo's unauthorized image).
	LabelVariant = "dev.cspipe.variant"
)

// BinaryPath is where the workload lives in the image; it is also the entrypoint.
const BinaryPath = "/app/workload"

// epoch is the fixed timestamp of every file and of the image config.
var epoch = time.Unix(0, 0).UTC()

// Options say what to build.
type Options struct {
	// ModuleDir is the module root (where go.mod is); default ".".
	ModuleDir string
	// Package is the main package to build; default "./workload".
	Package string
	// GOARCH of the image; default "amd64" (Confidential Space VMs).
	GOARCH string
	// Variant, when set, is written as the dev.cspipe.variant label and as a file in the layer,
	// so the image has a different digest (the demo's "unauthorized" image).
	Variant string
	// ExtraLabels are added to the launch-policy labels; they may not override them.
	ExtraLabels map[string]string
	// Tags are passed to go build -tags (tests only; the production image uses none).
	Tags []string
	// Binary, when non-nil, is used instead of building (tests).
	Binary []byte
	// CacheDir keeps linked binaries between builds, keyed by everything that determines their
	// bytes (see bincache.go); default DefaultCacheDir().
	CacheDir string
	// NoCache builds without reading or writing the cache (the reproducibility test: two real
	// builds, compared).
	NoCache bool
}

// Labels returns the launch-policy labels of the workload image.
func Labels() map[string]string {
	return map[string]string{
		LabelAllowEnvOverride: strings.Join(workload.OperatorEnv(), ","),
		LabelLogRedirect:      "always",
		LabelAllowCmdOverride: "false",
	}
}

// Build compiles the workload and packs it into an image.
func Build(ctx context.Context, o Options) (v1.Image, error) {
	if o.GOARCH == "" {
		o.GOARCH = "amd64"
	}
	labels := Labels()
	for k, v := range o.ExtraLabels {
		if _, fixed := labels[k]; fixed {
			return nil, fmt.Errorf("extra label %q would override a launch-policy label", k)
		}
		labels[k] = v
	}
	bin := o.Binary
	if bin == nil {
		var err error
		b, err := CompileBinary(ctx, o)
		if err != nil {
			return nil, err
		}
		bin = b.Bytes
	}
	files := []file{{path: BinaryPath, data: bin, mode: 0o555}}
	if o.Variant != "" {
		files = append(files, file{path: "/app/VARIANT", data: []byte(o.Variant + "\n"), mode: 0o444})
	}
	layerBytes, err := tarLayer(files)
	if err != nil {
		return nil, err
	}
	layer, err := packLayer(o, layerBytes)
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: epoch}, CreatedBy: "cspipe image build", Comment: "static workload binary",
	}})
	if err != nil {
		return nil, fmt.Errorf("appending layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", o.GOARCH
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.Cmd = nil
	cf.Config.WorkingDir = "/app"
	cf.Config.User = "65532:65532"
	cf.Config.Env = []string{"PATH=/app"}
	if o.Variant != "" {
		labels[LabelVariant] = o.Variant
	}
	cf.Config.Labels = labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: epoch})
}

// CGOEnabled and GoFlags are the build configuration of the workload binary. Every other build
// that should share compiled packages with it uses the same: the Makefile's `make run` and
// `make image` (`CGO_ENABLED=0 go run -trimpath -buildvcs=false ./cmd/cspipe …`), so the
// workload build after them compiles only its main package and links (the CLI's dependencies
// include all of the workload's). Link-only flags (-ldflags, -o) do not change compile actions and
// are not part of it. A test holds the Makefile to these values.
const CGOEnabled = "0"

// GoFlags are the build flags that decide compile actions; see CGOEnabled.
var GoFlags = []string{"-trimpath", "-buildvcs=false"}

// ldflags strip the symbol table and the build id, so the bytes depend on the source only.
const ldflags = "-ldflags=-s -w -buildid="

// Compile builds the static workload binary (or o.Package) and returns its bytes: the step of
// Build before packing, for callers that build once and pack several images from it. A binary
// linked before from the same inputs comes from the cache (CompileBinary).
func Compile(ctx context.Context, o Options) ([]byte, error) {
	b, err := CompileBinary(ctx, o)
	if err != nil {
		return nil, err
	}
	return b.Bytes, nil
}

// compile builds the static binary into a temporary directory and returns its bytes.
func compile(ctx context.Context, o Options) ([]byte, error) {
	dir, err := os.MkdirTemp("", "cspipe-imagebuild")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "workload")
	args := append(buildArgs("build", o), "-o", out, mainPackage(o))
	if _, err := runGo(ctx, o, args...); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

type file struct {
	path string
	data []byte
	mode int64
}

// tarLayer writes the files, with their parent directories, sorted, owned by 0:0, at epoch.
func tarLayer(files []file) ([]byte, error) {
	entries := map[string]*tar.Header{}
	contents := map[string][]byte{}
	for _, f := range files {
		rel := strings.TrimPrefix(f.path, "/")
		for d := filepath.Dir(rel); d != "." && d != "/"; d = filepath.Dir(d) {
			entries[d+"/"] = &tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}
		}
		entries[rel] = &tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: f.mode, Size: int64(len(f.data))}
		contents[rel] = f.data
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range slices.Sorted(maps.Keys(entries)) {
		h := entries[n]
		h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname = epoch, 0, 0, "", ""
		h.Format = tar.FormatUSTAR
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing layer: %w", err)
		}
		if _, err := tw.Write(contents[n]); err != nil {
			return nil, fmt.Errorf("writing layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Push writes img to ref (a tag or digest reference) and returns the digest reference. Loopback
// registries are reached over plain http. Credentials come from opts (the CLI passes the
// default keychain, i.e. docker config and its helpers such as gcloud's).
func Push(ctx context.Context, img v1.Image, ref string, opts ...remote.Option) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", ref, err)
	}
	if err := remote.Write(r, img, append([]remote.Option{remote.WithContext(ctx)}, opts...)...); err != nil {
		return nil, fmt.Errorf("pushing %s: %w", r, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	return r.Context().Digest(d.String()), nil
}
