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

// MapHuge maps n bytes (rounded up to whole base pages) of zeroed, private
// anonymous memory starting on a huge-page boundary and advises the kernel
// to back it with transparent huge pages (MADV_HUGEPAGE, what the
// "madvise" setting of /sys/kernel/mm/transparent_hugepage/enabled waits
// for). Only whole aligned 2 MB ranges can sit on a huge page; the end
// past the last one stays on base pages, so a mapping costs no more
// memory than make would. It returns the start and the mapped length, or
// nil when the mapping fails.
func MapHuge(n int) (unsafe.Pointer, uintptr) {
	if n <= 0 {
		return nil, 0
	}
	page := uintptr(os.Getpagesize())
	size := (uintptr(n) + page - 1) &^ (page - 1)
	// Over-map by one huge page and cut the ends off, so the part kept
	// starts on a 2 MB boundary.
	p, err := unix.MmapPtr(-1, 0, nil, size+HugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, 0
	}
	lead := (HugePage - uintptr(p)%HugePage) % HugePage
	if lead > 0 {
		_ = unix.MunmapPtr(p, lead)
	}
	start := unsafe.Add(p, lead)
	if tail := HugePage - lead; tail > 0 {
		_ = unix.MunmapPtr(unsafe.Add(start, size), tail)
	}
	// Advice is best effort: without it the memory is still good 4 KB
	// pages.
	_ = unix.Madvise(unsafe.Slice((*byte)(start), size), unix.MADV_HUGEPAGE)
	return start, size
}

// UnmapHuge releases a mapping MapHuge returned.
func UnmapHuge(p unsafe.Pointer, size uintptr) {
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
