package registry

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestDirKeepsImagesAcrossRestart pushes to a registry with a Dir, restarts it on the same
// address and pulls the image by digest and by tag, with no notification for the replay.
func TestDirKeepsImagesAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	var published atomic.Int32
	pub := func(context.Context, string, []byte) error { published.Add(1); return nil }
	s, err := Start(Options{Dir: dir, Publish: pub, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(s.Repository("p", "img") + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	addr := s.Host()
	s.Close()

	s2, err := Start(Options{Addr: addr, Dir: dir, Publish: pub, Logger: discard()})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer s2.Close()
	for _, ref := range []string{s2.Repository("p", "img") + "@" + d.String(), s2.Repository("p", "img") + ":v1"} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Image(r)
		if err != nil {
			t.Fatalf("pulling %s after the restart: %v", ref, err)
		}
		if gd, _ := got.Digest(); gd != d {
			t.Errorf("%s has digest %s, want %s", ref, gd, d)
		}
		if _, err := got.RawConfigFile(); err != nil {
			t.Errorf("%s: config blob lost: %v", ref, err)
		}
		ls, _ := got.Layers()
		for _, l := range ls {
			rc, err := l.Compressed()
			if err != nil {
				t.Fatalf("%s: layer lost: %v", ref, err)
			}
			rc.Close()
		}
	}
	if n := published.Load(); n != 1 {
		t.Errorf("%d notifications, want 1 (the push; a replay announces nothing)", n)
	}

	// Without a Dir nothing survives.
	s3, err := Start(Options{Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	r, _ := name.ParseReference(s3.Repository("p", "img") + ":v1")
	if _, err := remote.Image(r); err == nil {
		t.Error("an in-memory registry served an image it was never given")
	}
}
