package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/cspipe/cspipe/internal/batch/runwait"
	"github.com/cspipe/cspipe/internal/records"
)

// TestWaitReportsEveryRun: two uploads went into two runs; wait reports both (JSON) and exits 3
// because one of them failed. A prefix whose uploads have no run yet times out with exit 1.
func TestWaitReportsEveryRun(t *testing.T) {
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
	for _, b := range []string{"in", "state", "res"} {
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	put := func(bucket, name string, v any) int64 {
		b, _ := json.Marshal(v)
		srv.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: name, ContentType: "application/json"}, Content: b})
		o, err := srv.GetObject(bucket, name)
		if err != nil {
			t.Fatal(err)
		}
		return o.Generation
	}
	ga := put("in", "p/a.jpg", "jpeg")
	gb := put("in", "p/b.jpg", "jpeg")
	put("in", "p/notes.txt", "not an image")
	put("in", "q/c.jpg", "another prefix, no claim")
	put("state", fmt.Sprintf("claims/p%%2Fa.jpg#%d", ga), map[string]string{"batch_id": "20261129-080000-1"})
	put("state", fmt.Sprintf("claims/p%%2Fb.jpg#%d", gb), map[string]string{"batch_id": "20261129-080100-2"})
	put("state", "batches/20261129-080000-1/plan.json", map[string]int{"items": 1, "shard_count": 1})
	put("res", "runs/batch-20261129-080000-1/summary.json", records.Summary{RunID: "batch-20261129-080000-1", Status: "ok", Images: 1, Succeeded: 1})
	put("res", "runs/batch-20261129-080100-2/summary.json", records.Summary{RunID: "batch-20261129-080100-2", Status: "failed", Error: "the run's execution ended FAILED"})

	code, out, errOut := runCLI(t, "wait", "--prefix", "p/", "--bucket", "in", "--state-bucket", "state", "--results-bucket", "res", "--json")
	if code != exitRunFailed {
		t.Fatalf("exit %d, want %d: %s", code, exitRunFailed, errOut)
	}
	var runs []runwait.Run
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(runs) != 2 || runs[0].Status != "ok" || runs[1].Status != "failed" || runs[1].Uploads != 1 ||
		!strings.Contains(strings.Join(runs[1].Errors, ""), "ended FAILED") {
		t.Errorf("runs = %+v", runs)
	}
	code, out, _ = runCLI(t, "wait", "--prefix", "p/a", "--bucket", "in", "--state-bucket", "state", "--results-bucket", "res")
	if code != 0 || !strings.Contains(out, "run batch-20261129-080000-1: ok, 1 of your uploads") {
		t.Errorf("text report: exit %d:\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, "wait", "--prefix", "q/", "--bucket", "in", "--state-bucket", "state", "--results-bucket", "res", "--timeout", "300ms"); code != 1 || !strings.Contains(errOut, "0 of 1 uploads placed") {
		t.Errorf("no claim: exit %d: %s", code, errOut)
	}
	if code, _, _ := runCLI(t, "wait"); code != 2 {
		t.Errorf("no prefix: exit %d, want 2", code)
	}
}
