package launcher

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// maxEntrypointBytes bounds the binary extracted from an image.
const maxEntrypointBytes = 512 << 20

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

// extractFile copies the regular file at abs path p in the image's flattened filesystem to dst
// with mode 0755.
func extractFile(img v1.Image, p, dst string) error {
	want := strings.TrimPrefix(path.Clean(p), "/")
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("entrypoint %s not found in the image", p)
		}
		if err != nil {
			return fmt.Errorf("reading image layers: %w", err)
		}
		if strings.TrimPrefix(path.Clean(h.Name), "/") != want {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("entrypoint %s is not a regular file in the image", p)
		}
		if h.Size > maxEntrypointBytes {
			return fmt.Errorf("entrypoint %s is %d bytes, over the %d limit", p, h.Size, maxEntrypointBytes)
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
		if err != nil {
			return fmt.Errorf("writing entrypoint: %w", err)
		}
		if _, err := io.Copy(f, io.LimitReader(tr, maxEntrypointBytes)); err != nil {
			f.Close()
			return fmt.Errorf("writing entrypoint: %w", err)
		}
		return f.Close()
	}
}
