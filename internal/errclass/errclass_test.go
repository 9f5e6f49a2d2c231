package errclass

import (
	"errors"
	"fmt"
	"testing"
)

func TestPermanent(t *testing.T) {
	base := errors.New("bad tag")
	p := fmt.Errorf("pinning: %w", Permanent(base))
	if !IsPermanent(p) || !errors.Is(p, base) {
		t.Fatalf("wrapped permanent lost its class or cause: %v", p)
	}
	if IsPermanent(base) || IsPermanent(nil) || Permanent(nil) != nil {
		t.Fatal("unmarked error reported permanent")
	}
}
