//go:build !linux

package kernels

import "unsafe"

// Elsewhere there is no huge-page advice to give: every buffer comes from
// make.
func mapHuge(n int) (unsafe.Pointer, uintptr) { return nil, 0 }

func unmapHuge(p unsafe.Pointer, size uintptr) {}

// AnonHugePagesKB has nothing to read outside Linux.
func AnonHugePagesKB() (int, bool) { return 0, false }
