package gcsauth

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// cliServer is a front whose callers without credentials (gcloud with auth/disable_credentials,
// gsutil without a boto file) hold roles/storage.objectAdmin on the bucket "models".
func cliServer(t *testing.T) *Server {
	t.Helper()
	ids, err := iam.New(iam.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ids.Close)
	s, err := New(ids, Options{AnonymousPrincipal: owner})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.CreateBucket("models")
	if err := ids.SetBucketRoles("models", owner, "roles/storage.objectAdmin"); err != nil {
		t.Fatal(err)
	}
	return s
}

func seed(t *testing.T, s *Server, name string) int64 {
	t.Helper()
	s.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "models", Name: name}, Content: []byte("v1")})
	o, err := s.Fake().GetObject("models", name)
	if err != nil {
		t.Fatal(err)
	}
	return o.Generation
}

func exists(s *Server, name string) bool {
	_, err := s.Fake().GetObject("models", name)
	return err == nil
}

// cli runs a Cloud SDK tool and returns its combined output and error.
func cli(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// gcloud storage rm, plain and with --if-generation-match, as a user runs it against the stack.
// Cloud Storage answers a delete with 204 and no body; a 200 "null" made gcloud fail after the
// object was gone, and a stale --if-generation-match deleted it anyway.
func TestGcloudStorageRm(t *testing.T) {
	if _, err := exec.LookPath("gcloud"); err != nil {
		t.Skip("gcloud is not installed: this check needs the Google Cloud SDK's gcloud storage")
	}
	s := cliServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	env := []string{"CLOUDSDK_CONFIG=" + t.TempDir(), "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE=" + s.URL() + "/",
		"CLOUDSDK_AUTH_DISABLE_CREDENTIALS=true", "CLOUDSDK_CORE_PROJECT=local", "CLOUDSDK_CORE_DISABLE_PROMPTS=1"}
	gen := seed(t, s, "a.txt")
	if out, err := cli(ctx, env, "gcloud", "storage", "rm", "--if-generation-match="+strconv.FormatInt(gen-1, 10), "gs://models/a.txt"); err == nil {
		t.Errorf("gcloud storage rm with a stale --if-generation-match succeeded:\n%s", out)
	}
	if !exists(s, "a.txt") {
		t.Fatal("gcloud storage rm with a stale --if-generation-match deleted the object")
	}
	if out, err := cli(ctx, env, "gcloud", "storage", "rm", "--if-generation-match="+strconv.FormatInt(gen, 10), "gs://models/a.txt"); err != nil {
		t.Errorf("gcloud storage rm --if-generation-match=<current>: %v\n%s", err, out)
	}
	if exists(s, "a.txt") {
		t.Error("the object is still there")
	}
	seed(t, s, "b.txt")
	if out, err := cli(ctx, env, "gcloud", "storage", "rm", "gs://models/b.txt"); err != nil {
		t.Errorf("gcloud storage rm: %v\n%s", err, out)
	}
}

// gsutil rm through the XML API (the only one gsutil speaks over http), plain and with the
// x-goog-if-generation-match header.
func TestGsutilRm(t *testing.T) {
	if _, err := exec.LookPath("gsutil"); err != nil {
		t.Skip("gsutil is not installed: this check needs the Google Cloud SDK's gsutil")
	}
	s := cliServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	host, port, _ := net.SplitHostPort(s.Host())
	env := []string{"CLOUDSDK_CONFIG=" + t.TempDir(), "BOTO_CONFIG=" + os.DevNull}
	gsutil := func(args ...string) (string, error) {
		return cli(ctx, env, "gsutil", append([]string{"-o", "GSUtil:prefer_api=xml", "-o", "Credentials:gs_host=" + host,
			"-o", "Credentials:gs_port=" + port, "-o", "Boto:is_secure=False", "-o", "Boto:num_retries=0"}, args...)...)
	}
	gen := seed(t, s, "a.txt")
	if out, err := gsutil("-h", "x-goog-if-generation-match:"+strconv.FormatInt(gen-1, 10), "rm", "gs://models/a.txt"); err == nil {
		t.Errorf("gsutil rm with a stale x-goog-if-generation-match succeeded:\n%s", out)
	}
	if !exists(s, "a.txt") {
		t.Fatal("gsutil rm with a stale x-goog-if-generation-match deleted the object")
	}
	if out, err := gsutil("rm", "gs://models/a.txt"); err != nil {
		t.Errorf("gsutil rm: %v\n%s", err, out)
	}
	if exists(s, "a.txt") {
		t.Error("the object is still there")
	}
}

// gcloud storage cp uploads a file over its resumable threshold in chunks, starting the session on
// /resumable/upload/storage/v1/… (apitools' path), which Cloud Storage serves like /upload/….
// The front took "resumable" for an XML bucket and refused the upload with 400.
func TestGcloudStorageCpResumable(t *testing.T) {
	if _, err := exec.LookPath("gcloud"); err != nil {
		t.Skip("gcloud is not installed: this check needs the Google Cloud SDK's gcloud storage")
	}
	s := cliServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	env := []string{"CLOUDSDK_CONFIG=" + t.TempDir(), "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE=" + s.URL() + "/",
		"CLOUDSDK_AUTH_DISABLE_CREDENTIALS=true", "CLOUDSDK_CORE_PROJECT=local", "CLOUDSDK_CORE_DISABLE_PROMPTS=1",
		// Resumable from 1 MiB (default 8 MiB), in 256 KiB chunks, so the file below takes five.
		"CLOUDSDK_STORAGE_RESUMABLE_THRESHOLD=1048576", "CLOUDSDK_STORAGE_UPLOAD_CHUNK_SIZE=262144"}
	data := make([]byte, 1200000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	file := t.TempDir() + "/big.bin"
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := cli(ctx, env, "gcloud", "storage", "cp", file, "gs://models/big.bin"); err != nil {
		t.Fatalf("gcloud storage cp (resumable): %v\n%s", err, out)
	}
	o, err := s.Fake().GetObject("models", "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Content) != len(data) || string(o.Content) != string(data) {
		t.Errorf("stored %d bytes, want the %d uploaded", len(o.Content), len(data))
	}
}

// gsutil cp (XML API, the only one it speaks over http) uploads a file over its resumable
// threshold by starting an XML resumable session (POST with x-goog-resumable: start), which
// fake-gcs-server does not serve: the upload failed with 400.
func TestGsutilCpResumable(t *testing.T) {
	if _, err := exec.LookPath("gsutil"); err != nil {
		t.Skip("gsutil is not installed: this check needs the Google Cloud SDK's gsutil")
	}
	s := cliServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	host, port, _ := net.SplitHostPort(s.Host())
	env := []string{"CLOUDSDK_CONFIG=" + t.TempDir(), "BOTO_CONFIG=" + os.DevNull}
	data := make([]byte, 1200000)
	for i := range data {
		data[i] = byte(i * 13)
	}
	file := t.TempDir() + "/big.bin"
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := cli(ctx, env, "gsutil", "-o", "GSUtil:prefer_api=xml", "-o", "Credentials:gs_host="+host,
		"-o", "Credentials:gs_port="+port, "-o", "Boto:is_secure=False", "-o", "Boto:num_retries=0",
		"-o", "GSUtil:resumable_threshold=1048576", "-h", "x-goog-meta-origin:test",
		"cp", file, "gs://models/big.bin")
	if err != nil {
		t.Fatalf("gsutil cp (resumable): %v\n%s", err, out)
	}
	o, err := s.Fake().GetObject("models", "big.bin")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Content) != len(data) || string(o.Content) != string(data) {
		t.Errorf("stored %d bytes, want the %d uploaded", len(o.Content), len(data))
	}
	if o.Metadata["origin"] != "test" {
		t.Errorf("metadata %v, want origin=test from x-goog-meta-origin", o.Metadata)
	}
}

// gcloud storage objects update, as an operator labels an object: the generation stays, the
// metageneration counts up, and --if-metageneration-match compares with it.
func TestGcloudStorageObjectsUpdateKeepsGeneration(t *testing.T) {
	if _, err := exec.LookPath("gcloud"); err != nil {
		t.Skip("gcloud is not installed: this check needs the Google Cloud SDK's gcloud storage")
	}
	s := cliServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	env := []string{"CLOUDSDK_CONFIG=" + t.TempDir(), "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE=" + s.URL() + "/",
		"CLOUDSDK_AUTH_DISABLE_CREDENTIALS=true", "CLOUDSDK_CORE_PROJECT=local", "CLOUDSDK_CORE_DISABLE_PROMPTS=1"}
	gen := seed(t, s, "head.json")
	if out, err := cli(ctx, env, "gcloud", "storage", "objects", "update", "gs://models/head.json", "--custom-metadata=note=checked"); err != nil {
		t.Fatalf("gcloud storage objects update: %v\n%s", err, out)
	}
	out, err := cli(ctx, env, "gcloud", "storage", "objects", "describe", "gs://models/head.json", "--format=value(generation,metageneration)")
	if err != nil {
		t.Fatalf("gcloud storage objects describe: %v\n%s", err, out)
	}
	if want := strconv.FormatInt(gen, 10) + "\t2"; strings.TrimSpace(out) != want {
		t.Errorf("describe after update = %q, want %q (generation kept, metageneration 2)", strings.TrimSpace(out), want)
	}
	if out, err := cli(ctx, env, "gcloud", "storage", "objects", "update", "gs://models/head.json", "--custom-metadata=note=again", "--if-metageneration-match=1"); err == nil {
		t.Errorf("update with a stale --if-metageneration-match succeeded:\n%s", out)
	}
	if out, err := cli(ctx, env, "gcloud", "storage", "objects", "update", "gs://models/head.json", "--custom-metadata=note=again", "--if-generation-match="+strconv.FormatInt(gen, 10), "--if-metageneration-match=2"); err != nil {
		t.Errorf("update with the current generation and metageneration: %v\n%s", err, out)
	}
}
