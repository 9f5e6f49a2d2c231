// Package purity holds only a test: the dependency rules of the pure core packages (no cloud
// client, RPC stack, network fake or local-stack code), checked with one `go list` for all of
// them.
package purity
