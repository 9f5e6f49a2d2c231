package blob

import (
	"context"
	"errors"
	"testing"
)

func TestMemoryPreconditions(t *testing.T) {
	ctx := t.Context()
	m := NewMemory()
	a, err := m.Write(ctx, "b", "x", Object{Data: []byte("1")}, Cond{DoesNotExist: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Write(ctx, "b", "x", Object{Data: []byte("2")}, Cond{DoesNotExist: true}); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("second create: got %v, want ErrPrecondition", err)
	}
	if _, err := m.Write(ctx, "b", "x", Object{Data: []byte("2")}, Cond{GenerationMatch: a.Generation + 1}); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("stale generation: got %v, want ErrPrecondition", err)
	}
	if _, err := m.Write(ctx, "b", "x", Object{Data: []byte("2")}, Cond{GenerationMatch: a.Generation}); err != nil {
		t.Fatalf("matching generation: %v", err)
	}
	got, _, err := ReadAll(ctx, m, "b", "x", 10)
	if err != nil || string(got) != "2" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	if _, _, err := ReadAll(ctx, m, "b", "x", 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadAll(ctx, m, "b", "missing", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: got %v", err)
	}
	m.Write(ctx, "b", "big", Object{Data: make([]byte, 11)}, Cond{})
	if _, _, err := ReadAll(ctx, m, "b", "big", 10); err == nil {
		t.Fatal("ReadAll over limit succeeded")
	}
	var names []string
	m.List(context.Background(), "b", "", func(a Attrs) error { names = append(names, a.Name); return nil })
	if len(names) != 2 || names[0] != "big" || names[1] != "x" {
		t.Fatalf("List = %v", names)
	}
}
