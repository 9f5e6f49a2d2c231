//go:build !linux

package kernels

import "unsafe"

// Elsewhere there is no huge-page advice to give: MapHuge fails, so every
// buffer comes from make.
func MapHuge(n int) (unsafe.Pointer, uintptr) { return nil, 0 }

// UnmapHuge has nothing to unmap outside Linux.
func UnmapHuge(p unsafe.Pointer, size uintptr) {}

// AnonHugePagesKB has nothing to read outside Linux.
func AnonHugePagesKB() (int, bool) { return 0, false }
