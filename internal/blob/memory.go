package blob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is an in-memory Store with GCS generation semantics. Buckets spring into being on
// first write. It is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	gen     int64
	objects map[string]map[string]memObject // bucket -> name -> object
	now     func() time.Time
}

type memObject struct {
	obj   Object
	attrs Attrs
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{objects: map[string]map[string]memObject{}, now: time.Now}
}

// NewReader implements Store.
func (m *Memory) NewReader(ctx context.Context, bucket, name string) (io.ReadCloser, Attrs, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[bucket][name]
	if !ok {
		return nil, Attrs{}, fmt.Errorf("gs://%s/%s: %w", bucket, name, ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(o.obj.Data)), o.attrs, nil
}

// Write implements Store.
func (m *Memory) Write(ctx context.Context, bucket, name string, obj Object, cond Cond) (Attrs, error) {
	if err := ctx.Err(); err != nil {
		return Attrs{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.objects[bucket]
	if b == nil {
		b = map[string]memObject{}
		m.objects[bucket] = b
	}
	cur, exists := b[name]
	if cond.DoesNotExist && exists {
		return Attrs{}, fmt.Errorf("gs://%s/%s exists: %w", bucket, name, ErrPrecondition)
	}
	if cond.GenerationMatch != 0 && (!exists || cur.attrs.Generation != cond.GenerationMatch) {
		return Attrs{}, fmt.Errorf("gs://%s/%s generation is not %d: %w", bucket, name, cond.GenerationMatch, ErrPrecondition)
	}
	m.gen++
	obj.Data = bytes.Clone(obj.Data)
	obj.Metadata = maps.Clone(obj.Metadata)
	a := Attrs{Bucket: bucket, Name: name, Generation: m.gen, Size: int64(len(obj.Data)),
		ContentType: obj.ContentType, Metadata: obj.Metadata, Updated: m.now()}
	b[name] = memObject{obj: obj, attrs: a}
	return a, nil
}

// Attrs implements Store.
func (m *Memory) Attrs(ctx context.Context, bucket, name string) (Attrs, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[bucket][name]
	if !ok {
		return Attrs{}, fmt.Errorf("gs://%s/%s: %w", bucket, name, ErrNotFound)
	}
	return o.attrs, nil
}

// List implements Store.
func (m *Memory) List(ctx context.Context, bucket, prefix string, fn func(Attrs) error) error {
	m.mu.Lock()
	var attrs []Attrs
	for _, name := range slices.Sorted(maps.Keys(m.objects[bucket])) {
		if strings.HasPrefix(name, prefix) {
			attrs = append(attrs, m.objects[bucket][name].attrs)
		}
	}
	m.mu.Unlock()
	for _, a := range attrs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}
