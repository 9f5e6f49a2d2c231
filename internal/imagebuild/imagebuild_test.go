package imagebuild_test

import (
	"archive/tar"
	"bytes"
	"debug/buildinfo"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cspipe/cspipe/internal/imagebuild"
)

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBuildWorkloadReproducible compiles the real workload twice and checks the digest, the
// size budget, the labels and the layer's layout.
func TestBuildWorkloadReproducible(t *testing.T) {
	// Two independent builds (concurrently, to keep the test short): same source, same digest.
	// NoCache: both are real builds (compiled and linked), not one build and a cache hit.
	opts := imagebuild.Options{ModuleDir: "../..", NoCache: true}
	var imgs [2]v1.Image
	var errs [2]error
	var wg sync.WaitGroup
	for i := range imgs {
		wg.Go(func() { imgs[i], errs[i] = imagebuild.Build(t.Context(), opts) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	a, b := imgs[0], imgs[1]
	if da, db := digest(t, a), digest(t, b); da != db {
		t.Fatalf("two builds differ: %s vs %s", da, db)
	}
	size := int64(0)
	layers, _ := a.Layers()
	for _, l := range layers {
		s, _ := l.Size()
		size += s
	}
	t.Logf("image %s: %d layer(s), %.1f MB compressed", digest(t, a), len(layers), float64(size)/1e6)
	if len(layers) != 1 || size >= 25<<20 {
		t.Errorf("%d layers, %d bytes; want 1 layer under 25 MB", len(layers), size)
	}
	cf, err := a.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"tee.launch_policy.allow_env_override": "CSPIPE_RUN_ID,CSPIPE_SHARD_INDEX,CSPIPE_SHARD_COUNT,CSPIPE_INPUT_BUCKET,CSPIPE_INPUT_PREFIX,CSPIPE_BATCH_PREFIX,CSPIPE_BATCH_BUCKET,CSPIPE_RESULTS_BUCKET,CSPIPE_MODEL,CSPIPE_MODEL_SHA256,CSPIPE_WIP_PROVIDER,CSPIPE_PRIMUS_SERVICE_ACCOUNT,CSPIPE_STS_ENDPOINT,CSPIPE_IAMCREDENTIALS_ENDPOINT,CSPIPE_STORAGE_ENDPOINT,CSPIPE_WORKERS,CSPIPE_TOP_K",
		"tee.launch_policy.log_redirect":       "always",
		"tee.launch_policy.allow_cmd_override": "false",
	}
	if diff := cmp.Diff(want, cf.Config.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/app/workload"}, cf.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	var bin []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v uid %d gid %d", h.Name, h.ModTime, h.Uid, h.Gid)
		}
		if h.Name == "app/workload" {
			if h.Mode != 0o555 {
				t.Errorf("binary mode %o", h.Mode)
			}
			if bin, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	if diff := cmp.Diff([]string{"app/", "app/workload"}, names); diff != "" {
		t.Errorf("layer entries (-want +got):\n%s", diff)
	}
	// The layer has no CA bundle and the launcher mounts none: the binary carries public roots.
	info, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("reading the binary's build info: %v", err)
	}
	if !slices.ContainsFunc(info.Deps, func(m *debug.Module) bool { return m.Path == "golang.org/x/crypto/x509roots/fallback" }) {
		t.Error("the image's binary does not link golang.org/x/crypto/x509roots/fallback: no TLS roots inside the VM")
	}
}

func TestVariantAndPush(t *testing.T) {
	bin := []byte("\x7fELF not really")
	plain, err := imagebuild.Build(t.Context(), imagebuild.Options{Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := imagebuild.Build(t.Context(), imagebuild.Options{Binary: bin})
	variant, err := imagebuild.Build(t.Context(), imagebuild.Options{Binary: bin, Variant: "unauthorized", ExtraLabels: map[string]string{"org.example": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, plain) != digest(t, again) {
		t.Error("same binary, different digests")
	}
	if digest(t, plain) == digest(t, variant) {
		t.Error("variant has the same digest")
	}
	cf, _ := variant.ConfigFile()
	if cf.Config.Labels[imagebuild.LabelVariant] != "unauthorized" || cf.Config.Labels["org.example"] != "x" {
		t.Errorf("variant labels = %v", cf.Config.Labels)
	}
	if _, err := imagebuild.Build(t.Context(), imagebuild.Options{Binary: bin, ExtraLabels: map[string]string{imagebuild.LabelAllowCmdOverride: "true"}}); err == nil {
		t.Error("an extra label overrode allow_cmd_override")
	}

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	ref := strings.TrimPrefix(reg.URL, "http://") + "/primus/workload:latest"
	got, err := imagebuild.Push(t.Context(), plain, ref)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(got.String(), "@"+digest(t, plain).String()) {
		t.Errorf("pushed reference %s", got)
	}
	r, _ := name.ParseReference(ref)
	desc, err := remote.Head(r)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != digest(t, plain) {
		t.Errorf("registry has %s, built %s", desc.Digest, digest(t, plain))
	}
}

// TestDockerfileLabelsMatch keeps workload/Dockerfile's LABEL lines in step with Labels().
func TestDockerfileLabelsMatch(t *testing.T) {
	b, err := os.ReadFile("../../workload/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "LABEL ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(rest, "=")
		got[strings.Trim(k, `"`)] = strings.Trim(v, `"`)
	}
	if diff := cmp.Diff(imagebuild.Labels(), got); diff != "" {
		t.Errorf("Dockerfile labels (-builder +Dockerfile):\n%s", diff)
	}
	if !strings.Contains(string(b), `ENTRYPOINT ["/app/workload"]`) {
		t.Error("Dockerfile entrypoint is not /app/workload")
	}
}
