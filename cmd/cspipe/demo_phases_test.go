package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/imagebuild"
)

// The demo's two images (the authorized one and Secundus's variant) hold one compiled binary:
// the workload is compiled once, and the images still have different digests.
func TestDemoCompilesTheWorkloadOnceForBothImages(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	calls := 0
	orig := compileWorkload
	t.Cleanup(func() { compileWorkload = orig })
	compileWorkload = func(_ context.Context, o imagebuild.Options) (*imagebuild.Binary, error) {
		calls++
		return &imagebuild.Binary{Bytes: []byte("workload binary of " + o.ModuleDir)}, nil
	}
	var out bytes.Buffer
	d := &demo{out: &out, start: time.Now(), ph: phases{on: true}, push: func(ctx context.Context, img v1.Image, repo, tag string) (string, error) {
		return stack.Push(ctx, img, repo, tag)
	}}
	// As in the demo: the authorized image packs in the background from the start, Secundus's
	// once the photos are uploaded; each is pushed when the demo gets to it.
	d.startPack(t.Context(), "root", "")
	d.startPack(t.Context(), "root", "secundus")
	a, err := d.buildAndPush(t.Context(), "root", host+"/primus/workload", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.buildAndPush(t.Context(), "root", host+"/secundus/workload", "secundus")
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("compiled the workload %d times for two images; want 1", calls)
	}
	da, db := a[strings.Index(a, "@")+1:], b[strings.Index(b, "@")+1:]
	if da == db {
		t.Errorf("the variant image has the authorized image's digest %s", da)
	}
	for _, ref := range []string{a, b} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(r)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.Entrypoint[0] != imagebuild.BinaryPath {
			t.Errorf("%s: entrypoint %v", ref, cf.Config.Entrypoint)
		}
	}
	// With -v every phase prints its duration, and the summary lists them.
	for _, want := range []string{"phase workload compile:", "phase image pack+push " + host + "/secundus/workload:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	d.phaseSummary()
	if !strings.Contains(out.String(), "phases:\n  workload compile") {
		t.Errorf("no phase summary:\n%s", out.String())
	}
}
