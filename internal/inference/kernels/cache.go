package kernels

import (
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// Cache sizes the blocked GEMM sizes its blocks from: the first-level data
// cache and the second-level cache of one core, read once at start-up from
// Linux's sysfs (which reports what CPUID says), with common sizes when
// that is unavailable.
var cacheL1, cacheL2 = cacheSizes(os.DirFS("/sys/devices/system/cpu/cpu0/cache"))

const (
	defaultL1 = 32 << 10
	defaultL2 = 1 << 20
)

// cacheSizes reads index*/{level,type,size} under dir (the layout of
// /sys/devices/system/cpu/cpuN/cache) and returns the L1 data and L2
// sizes in bytes, each within sane bounds, falling back to defaults.
func cacheSizes(dir fs.FS) (l1, l2 int) {
	l1, l2 = defaultL1, defaultL2
	entries, err := readDir(dir)
	if err != nil {
		return l1, l2
	}
	for _, e := range entries {
		if !strings.HasPrefix(e, "index") {
			continue
		}
		level := readTrim(dir, path.Join(e, "level"))
		typ := readTrim(dir, path.Join(e, "type"))
		size, ok := parseCacheSize(readTrim(dir, path.Join(e, "size")))
		if !ok {
			continue
		}
		switch {
		case level == "1" && (typ == "Data" || typ == "Unified"):
			l1 = clampInt(size, 16<<10, 1<<20)
		case level == "2" && (typ == "Unified" || typ == "Data"):
			l2 = clampInt(size, 128<<10, 64<<20)
		}
	}
	return l1, l2
}

// parseCacheSize reads sysfs's "48K", "2048K", "1M" or a plain byte count.
func parseCacheSize(s string) (int, bool) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 1<<30/mult {
		return 0, false
	}
	return n * mult, true
}

func clampInt(v, lo, hi int) int { return max(lo, min(v, hi)) }

func readDir(dir fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(dir, ".")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

func readTrim(dir fs.FS, name string) string {
	b, err := fs.ReadFile(dir, name)
	if err != nil || len(b) > 64 {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// CacheL1 and CacheL2 are the per-core data cache sizes, in bytes, the
// kernels size their blocks from.
func CacheL1() int { return cacheL1 }

func CacheL2() int { return cacheL2 }
