//go:build linux

package kernels

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size and alignment of a transparent huge page on the
// platforms Go runs Linux on with 4 KB base pages (x86-64; arm64 with 4 KB
// pages).
const hugePage = 2 << 20

// mapHuge maps n bytes (rounded up to whole huge pages) of zeroed,
// private anonymous memory starting on a huge-page boundary and advises
// the kernel to back it with transparent huge pages (MADV_HUGEPAGE, which
// is what the "madvise" setting of
// /sys/kernel/mm/transparent_hugepage/enabled waits for). It returns the
// start and the mapped length, or nil when the mapping fails.
func mapHuge(n int) (unsafe.Pointer, uintptr) {
	if n <= 0 {
		return nil, 0
	}
	size := (uintptr(n) + hugePage - 1) &^ (hugePage - 1)
	// Over-map by one huge page and cut the ends off, so the part kept
	// starts on a 2 MB boundary.
	p, err := unix.MmapPtr(-1, 0, nil, size+hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, 0
	}
	lead := (hugePage - uintptr(p)%hugePage) % hugePage
	if lead > 0 {
		_ = unix.MunmapPtr(p, lead)
	}
	start := unsafe.Add(p, lead)
	if tail := hugePage - lead; tail > 0 {
		_ = unix.MunmapPtr(unsafe.Add(start, size), tail)
	}
	// Advice is best effort: without it the memory is still good 4 KB
	// pages.
	_ = unix.Madvise(unsafe.Slice((*byte)(start), size), unix.MADV_HUGEPAGE)
	return start, size
}

// unmapHuge releases a mapping mapHuge returned.
func unmapHuge(p unsafe.Pointer, size uintptr) {
	if p != nil {
		_ = unix.MunmapPtr(p, size)
	}
}

// AnonHugePagesKB reads how many KB of the process's anonymous memory
// /proc/self/smaps_rollup reports on transparent huge pages (false when
// the file cannot be read).
func AnonHugePagesKB() (int, bool) {
	data, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return 0, false
	}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		f := bytes.Fields(s.Bytes())
		if len(f) >= 2 && string(f[0]) == "AnonHugePages:" {
			kb, err := strconv.Atoi(string(f[1]))
			return kb, err == nil
		}
	}
	return 0, false
}
