//go:build linux

package kernels

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// vmaFlags returns the VmFlags of the mapping starting at p in
// /proc/self/smaps ("" when no mapping starts there).
func vmaFlags(t *testing.T, p unsafe.Pointer) (string, bool) {
	t.Helper()
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	head := fmt.Sprintf("%x-", uintptr(p))
	in := false
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			in = strings.HasPrefix(f[0], head)
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmFlags:")), true
		}
	}
	return "", false
}

// TestMapHuge maps blocks of a few sizes and requires each to start on a
// 2 MB boundary, be rounded up to whole base pages only, read as zeros,
// take writes, carry the kernel's huge-page advice (VmFlags "hg"), and be
// gone once unmapped.
func TestMapHuge(t *testing.T) {
	page := os.Getpagesize()
	for _, n := range []int{1, HugePage - 1, HugePage, 3*HugePage + 12345} {
		p, size := MapHuge(n)
		if p == nil {
			t.Fatalf("%d bytes: mapping failed", n)
		}
		if uintptr(p)%HugePage != 0 {
			t.Fatalf("%d bytes: mapping at %p, not on a 2 MB boundary", n, p)
		}
		if want := uintptr((n + page - 1) / page * page); size != want {
			t.Fatalf("%d bytes: mapped %d, want %d", n, size, want)
		}
		b := unsafe.Slice((*byte)(p), size)
		for i, v := range b {
			if v != 0 {
				t.Fatalf("%d bytes: byte %d is %d, want 0", n, i, v)
			}
		}
		for i := range b {
			b[i] = byte(i)
		}
		flags, ok := vmaFlags(t, p)
		if !ok || !strings.Contains(" "+flags+" ", " hg ") {
			t.Fatalf("%d bytes: mapping flags %q (found %v), want the huge-page advice hg", n, flags, ok)
		}
		UnmapHuge(p, size)
		if flags, ok := vmaFlags(t, p); ok {
			t.Fatalf("%d bytes: a mapping (%s) still starts at %p after UnmapHuge", n, flags, p)
		}
	}
	if p, _ := MapHuge(0); p != nil {
		t.Fatal("MapHuge(0) mapped something")
	}
}
