package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The image holds only /app/workload and the Confidential Space launcher mounts no CA bundle, so
// the binary must carry public roots. This runs the test binary (which links this package's
// imports) again with the system's CA locations pointing at nothing, and checks that the system
// pool still verifies Google Trust Services' root, the root of *.googleapis.com.
func TestPublicRootsWithoutSystemCA(t *testing.T) {
	empty := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRootsProbe$", "-test.v")
	cmd.Env = append(os.Environ(), "CSPIPE_ROOTS_PROBE=1",
		"SSL_CERT_FILE="+empty+"/none.pem", "SSL_CERT_DIR="+empty)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "roots ok") {
		t.Fatalf("with no system CA bundle, the workload has no public roots: %v\n%s", err, out)
	}
}

// TestRootsProbe is the child of TestPublicRootsWithoutSystemCA; it does nothing otherwise.
func TestRootsProbe(t *testing.T) {
	if os.Getenv("CSPIPE_ROOTS_PROBE") != "1" {
		return
	}
	b, err := os.ReadFile("testdata/gts-root-r1.pem")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		t.Fatalf("SystemCertPool: %v", err)
	}
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: at}); err != nil {
		t.Fatalf("GTS Root R1 is not trusted: %v", err)
	}
	t.Log("roots ok")
}

// The binary that goes into the image links the roots package too (the same build as the image,
// plus the test hook).
func TestWorkloadBinaryLinksFallbackRoots(t *testing.T) {
	out, err := exec.Command("go", "version", "-m", workloadBin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "golang.org/x/crypto/x509roots/fallback") {
		t.Errorf("the workload binary does not link golang.org/x/crypto/x509roots/fallback:\n%s", out)
	}
}
