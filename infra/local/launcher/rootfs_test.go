package launcher

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/cspipe/cspipe/infra/local/compute"
)

func layerOf(t *testing.T, files []layerFile) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: f.typ, Mode: f.mode, Size: int64(len(f.data)), Linkname: f.linkname}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	_ = tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func imageOf(t *testing.T, layers ...[]layerFile) v1.Image {
	t.Helper()
	img := empty.Image
	for _, files := range layers {
		var err error
		if img, err = mutate.AppendLayers(img, layerOf(t, files)); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// An image's layers are unpacked like a container runtime does (later layers win, whiteouts
// delete), and nothing in a layer can write outside the root.
func TestExtractRoot(t *testing.T) {
	reg := func(name, data string) layerFile {
		return layerFile{name: name, typ: tar.TypeReg, data: []byte(data), mode: 0o644}
	}
	t.Run("layers and whiteouts", func(t *testing.T) {
		img := imageOf(t,
			[]layerFile{{name: "etc/", typ: tar.TypeDir, mode: 0o755}, reg("etc/a", "one"), reg("etc/gone", "x"), reg("/abs/file", "abs")},
			[]layerFile{reg("etc/a", "two"), reg("etc/.wh.gone", ""), {name: "etc/link", typ: tar.TypeSymlink, linkname: "a"},
				{name: "etc/hard", typ: tar.TypeLink, linkname: "etc/a"}})
		root := t.TempDir()
		if err := extractRoot(img, root, false); err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]string{"etc/a": "two", "etc/link": "two", "etc/hard": "two", "abs/file": "abs"} {
			if b, err := os.ReadFile(filepath.Join(root, p)); err != nil || string(b) != want {
				t.Errorf("%s = %q, %v; want %q", p, b, err, want)
			}
		}
		if _, err := os.Lstat(filepath.Join(root, "etc/gone")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("whited-out file present: %v", err)
		}
	})
	// Some of these go-containerregistry's flattening already drops (a link climbing out, an
	// entry under a non-directory of the same layer); the rest the launcher refuses. Either way
	// nothing lands outside the root, and a refused image does not launch.
	escapes := []struct {
		name    string
		layers  [][]layerFile
		refused bool
	}{
		{"dot-dot name", [][]layerFile{{reg("../escaped", "x")}}, true},
		{"dot-dot inside a name", [][]layerFile{{reg("a/../../escaped", "x")}}, true},
		{"write through an absolute symlink", [][]layerFile{{{name: "d", typ: tar.TypeSymlink, linkname: "OUTSIDE"}, reg("d/escaped", "x")}}, false},
		{"write through a climbing symlink", [][]layerFile{{{name: "d", typ: tar.TypeSymlink, linkname: "../.."}, reg("d/escaped", "x")}}, false},
		{"symlink planted by an earlier layer", [][]layerFile{{{name: "d", typ: tar.TypeSymlink, linkname: "OUTSIDE"}}, {reg("d/escaped", "x")}}, true},
		{"hard link to a file outside", [][]layerFile{{{name: "h", typ: tar.TypeLink, linkname: "../secret"}}}, false},
	}
	for _, tc := range escapes {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(base, "secret"), []byte("s"), 0o600); err != nil {
				t.Fatal(err)
			}
			root := filepath.Join(base, "root", "rootfs")
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			var layers [][]layerFile
			for _, l := range tc.layers {
				var fixed []layerFile
				for _, f := range l {
					f.linkname = strings.ReplaceAll(f.linkname, "OUTSIDE", outside)
					fixed = append(fixed, f)
				}
				layers = append(layers, fixed)
			}
			err := extractRoot(imageOf(t, layers...), root, false)
			if tc.refused && err == nil {
				t.Error("extraction succeeded")
			}
			for _, p := range []string{filepath.Join(outside, "escaped"), filepath.Join(base, "escaped"), filepath.Join(base, "root", "escaped")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written outside the root", p)
				}
			}
			if _, err := os.Lstat(filepath.Join(root, "h")); err == nil {
				t.Error("a hard link to a file outside the root was made")
			}
		})
	}
}

// A file the image lacks is missing locally too: an image without its entrypoint fails to
// launch, and a workload needing a host file that is not in its image fails.
func TestWorkloadRunsFromItsImageOnly(t *testing.T) {
	f := newFixture(t)
	noEntry := pushFiles(t, f.reg, allowLabels, v1.Config{Entrypoint: []string{"/app/workload"}},
		[]layerFile{{name: "app/", typ: tar.TypeDir, mode: 0o755}, {name: "app/README", typ: tar.TypeReg, data: []byte("no binary"), mode: 0o644}})
	_, err := f.l.Launch(t.Context(), vmFor(noEntry, "no-entry", nil))
	var le *LaunchError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("launching an image without its entrypoint: %v, want a LaunchError saying no such file", err)
	}
	byPath := pushFiles(t, f.reg, allowLabels, v1.Config{Entrypoint: []string{"workload"}, Env: []string{"PATH=/usr/bin:/app"}}, probeFiles())
	rootCA := "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(rootCA); err != nil {
		rootCA = "/etc/passwd" // any host file the image does not carry
	}
	ref := pushImage(t, f.reg, allowLabels)
	for _, tc := range []struct{ name, ref, need string }{
		{"entrypoint found through the image's PATH", byPath, ""},
		{"needs a host file the image lacks", ref, rootCA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := f.l.Launch(t.Context(), vmFor(tc.ref, strings.ReplaceAll(tc.name, " ", "-"), map[string]string{"tee-env-NEED": tc.need}))
			if err != nil {
				t.Fatalf("launch: %v", err)
			}
			err = w.Wait()
			switch {
			case tc.need == "" && err != nil:
				t.Errorf("wait = %v", err)
			case tc.need != "" && os.Geteuid() == 0 && err == nil:
				t.Errorf("a workload needing %s (on the host, not in the image) succeeded: it is not confined to its image", tc.need)
			case tc.need != "" && os.Geteuid() != 0 && !strings.Contains(f.logs.String(), "WITHOUT chroot"):
				t.Error("not root, and the launcher did not say the workload runs without chroot")
			}
		})
	}
}

// On the debug image the launcher holds the VM after the workload exits: Wait returns only when
// the VM is stopped, so Compute keeps reporting it RUNNING.
func TestDebugVMIsHeldAfterExit(t *testing.T) {
	f := newFixture(t)
	ref := pushImage(t, f.reg, map[string]string{LabelAllowEnvOverride: "OUT"})
	for _, family := range []string{compute.FamilyDebug, compute.FamilyProduction} {
		t.Run(family, func(t *testing.T) {
			vm := vmFor(ref, family, nil)
			vm.ImageFamily = family
			vm.Metadata[KeyLogRedirect] = "false"
			ctx, stop := context.WithCancel(t.Context())
			defer stop()
			w, err := f.l.Launch(ctx, vm)
			if err != nil {
				t.Fatal(err)
			}
			f.rep.wait(t, family)
			done := make(chan error, 1)
			go func() { done <- w.Wait() }()
			select {
			case err := <-done:
				if family == compute.FamilyDebug {
					t.Fatalf("Wait returned (%v) while the debug VM should be held", err)
				}
				return
			case <-time.After(2 * time.Second):
				if family != compute.FamilyDebug {
					t.Fatal("a production VM did not power off after its workload exited")
				}
			}
			stop()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("held debug VM: Wait = %v after a clean exit", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the held debug VM did not stop when deleted")
			}
		})
	}
}
