package policy

import (
	"fmt"
	"regexp"
)

// Digest is a parsed OCI manifest digest, always "sha256:" followed by 64 lowercase hex
// characters. The zero value is not a valid digest; obtain one from ParseDigest.
type Digest struct{ s string }

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ParseDigest parses s as a sha256 image digest. A tag, a short or upper-case value, or any
// value with quotes, spaces or other characters is refused.
func ParseDigest(s string) (Digest, error) {
	switch {
	case s == "":
		return Digest{}, fmt.Errorf("image digest: empty")
	case !digestRE.MatchString(s):
		return Digest{}, fmt.Errorf("image digest %q: want sha256: followed by 64 lowercase hex characters (tags are not accepted)", truncate(s))
	}
	return Digest{s: s}, nil
}

// String returns the digest as "sha256:<hex>".
func (d Digest) String() string { return d.s }

// IsZero reports whether d is the zero Digest.
func (d Digest) IsZero() bool { return d.s == "" }

// truncate shortens a value for error messages so that hostile input cannot flood logs.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
