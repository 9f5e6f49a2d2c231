package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/policy"
	"github.com/cspipe/cspipe/internal/receipt"
	"github.com/cspipe/cspipe/internal/receipt/receipttest"
	"github.com/cspipe/cspipe/internal/records"
)

// writeRun writes an attested run into a fresh directory and returns it.
func writeRun(t *testing.T, iss *receipttest.Issuer) string {
	t.Helper()
	return writeRunOf(t, iss, cliDigest, cliDigest, false)
}

// writeRunOf writes a run whose summary names summaryDigest and whose receipt attests attested,
// from the debug image when debug is set.
func writeRunOf(t *testing.T, iss *receipttest.Issuer, summaryDigest, attested string, debug bool) string {
	t.Helper()
	dir := t.TempDir()
	results := []byte(`{"run_id":"r1","shard":0,"image":"a.png","status":"ok","predicted_class":3}` + "\n")
	summary, _ := json.Marshal(records.Summary{RunID: "r1", ShardCount: 1, Status: records.StatusOK, Images: 1, Succeeded: 1,
		ResultsSHA256: receipt.SHA256(results), ImageDigest: summaryDigest})
	claims := iss.Claims(receipt.Audience, attested, receipt.Nonces(receipt.SHA256(results), receipt.SHA256(summary)))
	if debug {
		claims["dbgstat"] = "enabled"
	}
	tok := iss.Mint(claims)
	for n, b := range map[string][]byte{records.ResultsFile: results, records.SummaryFile: summary, records.ReceiptFile: []byte(tok)} {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestVerifyReceiptCLI(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	iss := receipttest.New(srv.URL)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) { w.Write(iss.JWKS()) })
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	os.WriteFile(jwks, iss.JWKS(), 0o644)

	dir := writeRun(t, iss)
	for _, keyArgs := range [][]string{{"--issuer", srv.URL}, {"--jwks", jwks}} {
		code, out, errOut := runCLI(t, append([]string{"verify-receipt", "--results-dir", dir}, keyArgs...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", keyArgs, code, errOut)
		}
		for _, want := range []string{"receipt OK", "image digest:       " + cliDigest, "support attributes: LATEST,STABLE,USABLE",
			"dbgstat:            disabled-since-boot", "service accounts:   workload-sa@secundus.iam.gserviceaccount.com"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", keyArgs, want, out)
			}
		}
	}

	// Tamper with the results: change the predicted class.
	p := filepath.Join(dir, records.ResultsFile)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `"predicted_class":3`, `"predicted_class":4`, 1)), 0o644)
	code, _, errOut := runCLI(t, "verify-receipt", "--results-dir", dir, "--issuer", srv.URL)
	if code != exitReceiptRejected || !strings.Contains(errOut, "REJECTED: results.jsonl has sha256") {
		t.Errorf("tampered: exit %d, stderr %q", code, errOut)
	}

	// A receipt from another issuer's key.
	other := receipttest.New(srv.URL)
	code, _, errOut = runCLI(t, "verify-receipt", "--results-dir", writeRun(t, other), "--jwks", jwks)
	if code != exitReceiptRejected || !strings.Contains(errOut, "signature") {
		t.Errorf("foreign key: exit %d, stderr %q", code, errOut)
	}

	if code, _, _ := runCLI(t, "verify-receipt", "--results-dir", dir); code != 2 {
		t.Errorf("no key source: exit %d, want 2", code)
	}
}

func TestVerifyReceiptFromBucket(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	host := fmt.Sprintf("127.0.0.1:%d", port)
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: uint16(port), PublicHost: host, Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	t.Setenv("STORAGE_EMULATOR_HOST", host)

	iss := receipttest.New("https://issuer.test")
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	os.WriteFile(jwks, iss.JWKS(), 0o644)
	dir := writeRun(t, iss)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "results"})
	for _, n := range []string{records.ResultsFile, records.SummaryFile, records.ReceiptFile} {
		b, _ := os.ReadFile(filepath.Join(dir, n))
		srv.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "results", Name: "runs/r1/" + n}, Content: b})
	}
	code, out, errOut := runCLI(t, "verify-receipt", "--bucket", "results", "--run", "r1", "--jwks", jwks)
	if code != 0 || !strings.Contains(out, "receipt OK") {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	srv.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "results", Name: "runs/r1/" + records.SummaryFile}, Content: []byte(`{"status":"ok"}`)})
	if code, _, errOut := runCLI(t, "verify-receipt", "--bucket", "results", "--run", "r1", "--jwks", jwks); code != exitReceiptRejected {
		t.Errorf("replaced summary: exit %d: %s", code, errOut)
	}
}

// Issue 11: verify-receipt said "receipt OK" for results forged by Secundus's own image. It now
// checks the attested digest against the summary, the approved digest and the debug flag.
func TestVerifyReceiptChecksWhatItVouchesFor(t *testing.T) {
	iss := receipttest.New("https://issuer.test")
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	os.WriteFile(jwks, iss.JWKS(), 0o644)
	secundus := "sha256:" + strings.Repeat("5", 64)
	tests := []struct {
		name    string
		dir     string
		args    []string
		code    int
		wantOut string // in stdout (code 0) or stderr
	}{
		{"approved digest", writeRun(t, iss), []string{"--expect-digest", cliDigest}, 0, "approved digest:    " + cliDigest + ": matches"},
		{"no expectation says so", writeRun(t, iss), nil, 0, "not checked"},
		{"Secundus's image claiming the approved digest", writeRunOf(t, iss, cliDigest, secundus, false), nil, exitReceiptRejected,
			"REJECTED: summary.json names image digest"},
		{"Secundus's image, honest summary", writeRunOf(t, iss, secundus, secundus, false), []string{"--expect-digest", cliDigest},
			exitReceiptRejected, "REJECTED: the receipt attests image digest " + secundus + ", not the approved " + cliDigest},
		{"debug image", writeRunOf(t, iss, cliDigest, cliDigest, true), nil, exitReceiptRejected, "--allow-debug-unsafe"},
		{"debug image allowed", writeRunOf(t, iss, cliDigest, cliDigest, true), []string{"--allow-debug-unsafe"}, 0, "WARNING: --allow-debug-unsafe"},
		{"tag as expected digest", writeRun(t, iss), []string{"--expect-digest", "latest"}, 2, "--expect-digest"},
		{"both expectations", writeRun(t, iss), []string{"--expect-digest", cliDigest, "--expect-pinned", "--audit-bucket", "a"}, 2, "usage"},
		{"--expect-pinned without the bucket", writeRun(t, iss), []string{"--expect-pinned"}, 2, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"verify-receipt", "--results-dir", tt.dir, "--jwks", jwks}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s%s", code, tt.code, out, errOut)
			}
			if got := out + errOut; !strings.Contains(got, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, got)
			}
		})
	}
}

// --expect-pinned compares with the latest pin of Primus's audit log, and only after the log
// verifies: a head overwritten by hand vouches for nothing.
func TestVerifyReceiptExpectPinned(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	host := fmt.Sprintf("127.0.0.1:%d", port)
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: uint16(port), PublicHost: host, Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	t.Setenv("STORAGE_EMULATOR_HOST", host)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "audit"})
	store := blob.NewGCS(srv.Client())
	log := audit.New(store, "audit")
	pinDigest := func(d string) {
		t.Helper()
		p := &policy.Policy{ImageRepository: "registry.example/workload", ImageDigest: d, ServiceAccounts: []string{"workload-sa@secundus.iam.gserviceaccount.com"}}
		c, err := p.Render()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := log.Append(t.Context(), audit.Record{Digest: d, ImageReference: p.ImageRepository + "@" + d, Condition: c, Policy: p}, nil); err != nil {
			t.Fatal(err)
		}
	}
	iss := receipttest.New("https://issuer.test")
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	os.WriteFile(jwks, iss.JWKS(), 0o644)
	dir := writeRun(t, iss)
	verify := func() (int, string) {
		code, out, errOut := runCLI(t, "verify-receipt", "--results-dir", dir, "--jwks", jwks, "--expect-pinned", "--audit-bucket", "audit")
		return code, out + errOut
	}

	if code, out := verify(); code != exitReceiptRejected || !strings.Contains(out, "holds no pin") {
		t.Errorf("empty audit log: exit %d: %s", code, out)
	}
	pinDigest(cliDigest)
	if code, out := verify(); code != 0 || !strings.Contains(out, "chain verified): matches") {
		t.Errorf("pinned digest: exit %d: %s", code, out)
	}
	pinDigest("sha256:" + strings.Repeat("7", 64))
	if code, out := verify(); code != exitReceiptRejected || !strings.Contains(out, "not the approved") {
		t.Errorf("re-pinned since: exit %d: %s", code, out)
	}
	b, _, _ := blob.ReadAll(t.Context(), store, "audit", audit.LatestObject, 0)
	forged := strings.Replace(string(b), "sha256:"+strings.Repeat("7", 64), cliDigest, 1)
	srv.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "audit", Name: audit.LatestObject}, Content: []byte(forged)})
	if code, out := verify(); code != exitReceiptRejected || !strings.Contains(out, "does not verify") {
		t.Errorf("head rewritten to the run's digest: exit %d: %s", code, out)
	}
}
