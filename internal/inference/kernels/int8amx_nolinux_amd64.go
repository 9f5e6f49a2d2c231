//go:build amd64 && !linux

package kernels

// amxPermit: the tiles are used only where the kernel's permission request
// is known (Linux).
func amxPermit() bool { return false }
