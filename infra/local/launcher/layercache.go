package launcher

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The unpacked-layer cache. A container runtime keeps the layers it unpacked, by digest, and
// unpacks a layer once however many containers use it; the local stack boots every "VM" in one
// process, so the launcher does the same: the uncompressed bytes of the most recently extracted
// layers are kept in memory by their digest and diff ID. The image is still pulled for every
// launch, as the VM's service account (manifest and config: the registry's access check and the
// digest the attestation reports); only the download and gunzip of a layer whose bytes were read
// before and matched its diff ID are skipped. Under the race detector the gunzip of the
// workload's layer costs about ten seconds per launch, which the e2e tests paid at every VM.
var unpacked = &layerCache{max: 3, maxBytes: 256 << 20}

// layerKey is a layer's compressed digest and its diff ID (the SHA-256 of its bytes).
type layerKey struct{ digest, diffID v1.Hash }

type layerCache struct {
	mu       sync.Mutex
	max      int   // entries kept
	maxBytes int64 // a larger layer is not kept
	order    []layerKey
	data     map[layerKey][]byte
}

func (c *layerCache) get(d layerKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.data[d]
	return b, ok
}

func (c *layerCache) put(d layerKey, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int64(len(b)) > c.maxBytes {
		return
	}
	if c.data == nil {
		c.data = map[layerKey][]byte{}
	}
	if _, ok := c.data[d]; ok {
		return
	}
	c.data[d] = b
	c.order = append(c.order, d)
	for len(c.order) > c.max {
		delete(c.data, c.order[0])
		c.order = c.order[1:]
	}
}

// cachingImage serves its layers' uncompressed bytes through the cache.
type cachingImage struct {
	v1.Image
	cache *layerCache
}

func (i cachingImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for k, l := range ls {
		out[k] = cachingLayer{l, i.cache}
	}
	return out, nil
}

type cachingLayer struct {
	v1.Layer
	cache *layerCache
}

// Uncompressed returns the cached bytes of a layer with this digest and diff ID, or reads the
// layer and keeps its bytes when their SHA-256 is the diff ID the image's config names (so an entry
// holds exactly the content that digest-verified config promises).
func (l cachingLayer) Uncompressed() (io.ReadCloser, error) {
	digest, err := l.Digest()
	if err != nil {
		return nil, err
	}
	diffID, err := l.DiffID()
	if err != nil {
		return nil, err
	}
	key := layerKey{digest, diffID}
	if b, ok := l.cache.get(key); ok {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	rc, err := l.Layer.Uncompressed()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(rc, l.cache.maxBytes+1))
	if err != nil {
		rc.Close()
		return nil, err
	}
	if int64(len(b)) > l.cache.maxBytes {
		// Too large to keep: what was read, then the rest of the stream.
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), rc), rc}, nil
	}
	if err := rc.Close(); err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(b); diffID.Algorithm == "sha256" && hex.EncodeToString(sum[:]) == diffID.Hex {
		l.cache.put(key, b)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}
