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

// The process is built from the image config: user by number or by the image's own passwd and
// group files, the WorkingDir (created when missing), and without root the host path of the
// root instead of a chroot.
func TestContainerProcess(t *testing.T) {
	root := t.TempDir()
	for p, data := range map[string]string{
		"app/workload": "bin", "etc/passwd": "root:x:0:0::/root:/sbin/nologin\nnonroot:x:65532:65533::/home/nonroot:/sbin/nologin\n",
		"etc/group": "root:x:0:\nstaff:x:50:nonroot\n",
	} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"/app/workload", "--flag"}
	tests := []struct {
		user     string
		uid, gid uint32
		wantErr  string
	}{
		{"", 0, 0, ""},
		{"65532:65532", 65532, 65532, ""},
		{"nonroot", 65532, 65533, ""},
		{"nonroot:staff", 65532, 50, ""},
		{"1000:staff", 1000, 50, ""},
		{"ghost", 0, 0, "unable to find user ghost"},
		{"nonroot:ghosts", 0, 0, "unable to find group ghosts"},
	}
	for _, tc := range tests {
		cmd, err := containerProcess(root, v1.Config{User: tc.user, WorkingDir: "/srv/work"}, args, nil, true)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("user %q: %v, want %q", tc.user, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("user %q: %v", tc.user, err)
		}
		c := cmd.SysProcAttr.Credential
		if c.Uid != tc.uid || c.Gid != tc.gid || cmd.SysProcAttr.Chroot != root || cmd.Path != "/app/workload" || cmd.Dir != "/srv/work" {
			t.Errorf("user %q: uid %d gid %d chroot %q path %q dir %q", tc.user, c.Uid, c.Gid, cmd.SysProcAttr.Chroot, cmd.Path, cmd.Dir)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "srv/work")); err != nil || !fi.IsDir() {
		t.Errorf("working directory not created: %v", err)
	}
	// Without root: no chroot, host paths into the image root, the current user.
	cmd, err := containerProcess(root, v1.Config{User: "65532"}, args, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.SysProcAttr.Chroot != "" || cmd.SysProcAttr.Credential != nil || cmd.Path != filepath.Join(root, "app/workload") || cmd.Dir != root {
		t.Errorf("no-root process: chroot %q cred %v path %q dir %q", cmd.SysProcAttr.Chroot, cmd.SysProcAttr.Credential, cmd.Path, cmd.Dir)
	}
	// A relative WorkingDir is refused; a missing or non-executable entrypoint says so.
	if _, err := containerProcess(root, v1.Config{WorkingDir: "app"}, args, nil, true); err == nil {
		t.Error("a relative WorkingDir was accepted")
	}
	if _, err := containerProcess(root, v1.Config{}, []string{"/etc/passwd"}, nil, true); err != nil {
		t.Errorf("an executable file refused: %v", err)
	}
	if err := os.Chmod(filepath.Join(root, "etc/group"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := containerProcess(root, v1.Config{}, []string{"/etc/group"}, nil, true); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("a non-executable entrypoint: %v", err)
	}
	if _, err := containerProcess(root, v1.Config{}, []string{"sh"}, []string{"PATH=/bin:/app"}, true); err == nil || !strings.Contains(err.Error(), "not found in $PATH") {
		t.Errorf("a command missing from the image's PATH: %v", err)
	}
}

// What Google's launcher mounts replaces what the image has there, and a symlink in the image
// never redirects the launcher's writes outside the root.
func TestProvideMountsReplacesImagePaths(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	root := filepath.Join(base, "rootfs")
	for _, d := range []string{outside, filepath.Join(root, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(root, "run")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "hosts"), filepath.Join(root, "etc/hosts")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/resolv.conf"), []byte("nameserver 203.0.113.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err := provideMounts(root)
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(root, "run/container_launcher") {
		t.Errorf("launcher dir = %s", dir)
	}
	if fi, err := os.Lstat(filepath.Join(root, "run")); err != nil || !fi.IsDir() {
		t.Errorf("run is not a real directory: %v %v", fi, err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside the root: %v", entries)
	}
	for _, f := range hostFiles {
		fi, err := os.Lstat(filepath.Join(root, f))
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s in the root: %v %v", f, fi, err)
		}
		want, _ := os.ReadFile(f)
		if got, _ := os.ReadFile(filepath.Join(root, f)); string(got) != string(want) {
			t.Errorf("%s = %q, want the host's", f, got)
		}
	}
}
