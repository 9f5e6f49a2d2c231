package launcher

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// maxImageBytes bounds the bytes written when extracting an image's filesystem.
const maxImageBytes = 4 << 30

// pulled is an image resolved by reference.
type pulled struct {
	img    v1.Image
	digest string // manifest digest
	id     string // config digest
	config *v1.ConfigFile
}

// pull resolves ref in the registry and reads its config.
func pull(ctx context.Context, ref string, opts []remote.Option) (*pulled, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	img, err := remote.Image(r, append([]remote.Option{remote.WithContext(ctx)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("pulling image %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("resolving digest of %s: %w", ref, err)
	}
	id, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("reading config digest of %s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config of %s: %w", ref, err)
	}
	return &pulled{img: img, digest: d.String(), id: id.String(), config: cf}, nil
}

// extractRoot writes the image's flattened filesystem (layers applied in order, whiteouts
// honoured by mutate.Extract) into the empty directory root, the way a container runtime unpacks
// a snapshot. Every write goes through an os.Root, so no entry can land outside root: not by
// "../" names, absolute names, or a symlink planted by an earlier entry. Hard links must point
// inside the image. Device nodes and FIFOs are skipped (a container gets its own /dev). Owners
// are applied when chown is true (the stack runs as root).
func extractRoot(img v1.Image, root string, chown bool) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	rc := mutate.Extract(cachingImage{img, unpacked})
	defer rc.Close()
	tr := tar.NewReader(rc)
	var written int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			// mutate.Extract writes the tar trailer before it reports a failure (an unsafe path,
			// a truncated layer): the failure only shows on reading past the trailer.
			if _, err := io.Copy(io.Discard, rc); err != nil {
				return fmt.Errorf("reading image layers: %w", err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading image layers: %w", err)
		}
		p, ok := entryPath(h.Name)
		if !ok {
			return fmt.Errorf("image layer entry %q points outside the image root", h.Name)
		}
		if p == "." || strings.HasPrefix(path.Base(p), ".wh.") {
			continue // the root itself; a whiteout marker left over
		}
		if dir := path.Dir(p); dir != "." {
			if err := r.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("extracting %s: %w", p, err)
			}
		}
		mode := fs.FileMode(h.Mode) & fs.ModePerm
		switch h.Typeflag {
		case tar.TypeDir:
			if err := r.Mkdir(p, mode); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("extracting %s: %w", p, err)
			}
			if err := r.Chmod(p, mode); err != nil {
				return fmt.Errorf("extracting %s: %w", p, err)
			}
		case tar.TypeReg:
			if written += h.Size; written > maxImageBytes {
				return fmt.Errorf("image filesystem is over the %d-byte limit", maxImageBytes)
			}
			_ = r.Remove(p)
			f, err := r.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
			if err != nil {
				return fmt.Errorf("extracting %s: %w", p, err)
			}
			_, err = io.Copy(f, io.LimitReader(tr, h.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = r.Chmod(p, mode) // the umask narrowed OpenFile's mode
			}
			if err != nil {
				return fmt.Errorf("extracting %s: %w", p, err)
			}
		case tar.TypeSymlink:
			_ = r.Remove(p)
			if err := r.Symlink(h.Linkname, p); err != nil {
				return fmt.Errorf("extracting symlink %s: %w", p, err)
			}
		case tar.TypeLink:
			target, ok := entryPath(h.Linkname)
			if !ok {
				return fmt.Errorf("image layer hard link %q -> %q points outside the image root", h.Name, h.Linkname)
			}
			_ = r.Remove(p)
			if err := r.Link(target, p); err != nil {
				return fmt.Errorf("extracting hard link %s: %w", p, err)
			}
		default:
			continue // devices, FIFOs: not part of what a workload may rely on here
		}
		if chown {
			if err := r.Lchown(p, h.Uid, h.Gid); err != nil {
				return fmt.Errorf("extracting %s: %w", p, err)
			}
		}
	}
}

// entryPath turns a layer entry name into a path relative to the root, refusing names that climb
// out of it.
func entryPath(n string) (string, bool) {
	p := path.Clean("/" + n)[1:]
	if p == "" {
		return ".", true
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", false
		}
	}
	return p, true
}
