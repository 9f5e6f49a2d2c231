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

	"github.com/cspipe/cspipe/internal/receipt"
	"github.com/cspipe/cspipe/internal/receipt/receipttest"
	"github.com/cspipe/cspipe/internal/records"
)

// writeRun writes an attested run into a fresh directory and returns it.
func writeRun(t *testing.T, iss *receipttest.Issuer) string {
	t.Helper()
	dir := t.TempDir()
	results := []byte(`{"run_id":"r1","shard":0,"image":"a.png","status":"ok","predicted_class":3}` + "\n")
	summary, _ := json.Marshal(records.Summary{RunID: "r1", ShardCount: 1, Status: records.StatusOK, Images: 1, Succeeded: 1, ResultsSHA256: receipt.SHA256(results)})
	tok := iss.Mint(iss.Claims(receipt.Audience, cliDigest, receipt.Nonces(receipt.SHA256(results), receipt.SHA256(summary))))
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
