package main

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/cspipe/cspipe/internal/imagebuild"
)

// phases times the demo's steps: with -v, each finished phase prints its own duration, so a slow
// step (a build, a wait) stands out from the running clock of the progress lines.
type phases struct {
	on    bool
	last  time.Time
	times []phaseTime
}

type phaseTime struct {
	name string
	took time.Duration
}

// done closes the phase that began when the previous one ended (or the demo started).
func (d *demo) phaseDone(name string) {
	now := time.Now()
	if d.ph.last.IsZero() {
		d.ph.last = d.start
	}
	took := now.Sub(d.ph.last)
	d.ph.last = now
	d.ph.times = append(d.ph.times, phaseTime{name, took})
	if d.ph.on {
		d.progress("phase %s: %.2fs", name, took.Seconds())
	}
}

// phaseSummary prints every phase's duration, with -v.
func (d *demo) phaseSummary() {
	if !d.ph.on {
		return
	}
	fmt.Fprintln(d.out, "\nphases:")
	for _, p := range d.ph.times {
		fmt.Fprintf(d.out, "  %-28s %6.2fs\n", p.name, p.took.Seconds())
	}
}

// compileWorkload is imagebuild.CompileBinary; a test counts the calls.
var compileWorkload = imagebuild.CompileBinary

// packed is an image packed (tar, gzip, digest) in the background, ready to push.
type packed struct {
	done chan struct{}
	img  v1.Image
	err  error
}

// startCompile starts compiling the workload (once per demo; a warm binary cache makes it a
// lookup) while the demo does other things: the stack starts meanwhile.
func (d *demo) startCompile(ctx context.Context, root string) {
	d.compileOnce.Do(func() {
		d.compiled = make(chan struct{})
		go func() {
			defer close(d.compiled)
			t := time.Now()
			b, err := compileWorkload(ctx, imagebuild.Options{ModuleDir: root})
			if err != nil {
				d.binErr = err
				return
			}
			d.bin, d.binCached, d.binTook = b.Bytes, b.Cached, time.Since(t)
		}()
	})
}

// startPack packs the image of variant from the compiled binary in the background (once per
// variant) and returns its handle. Packing gzips the whole binary, so the demo starts it before
// it needs the image: the authorized one while the stack starts, Secundus's while the run goes.
func (d *demo) startPack(ctx context.Context, root, variant string) *packed {
	d.startCompile(ctx, root)
	d.packMu.Lock()
	defer d.packMu.Unlock()
	if p, ok := d.packs[variant]; ok {
		return p
	}
	if d.packs == nil {
		d.packs = map[string]*packed{}
	}
	p := &packed{done: make(chan struct{})}
	d.packs[variant] = p
	go func() {
		defer close(p.done)
		<-d.compiled
		if d.binErr != nil {
			p.err = d.binErr
			return
		}
		img, err := imagebuild.Build(ctx, imagebuild.Options{Binary: d.bin, Variant: variant})
		if err == nil {
			// The digest needs the compressed layer: computing it here does the gzip now, and
			// the image keeps the compressed bytes for the push.
			_, err = img.Digest()
		}
		p.img, p.err = img, err
	}()
	return p
}

func wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// buildAndPush packs the workload into an image with internal/imagebuild (the same builder as
// `make image`; a variant has another digest) and pushes it to repo:latest. The binary is
// compiled once per demo: both images hold the same program, and only the variant label and file
// tell them apart.
func (d *demo) buildAndPush(ctx context.Context, root, repo, variant string) (string, error) {
	p := d.startPack(ctx, root, variant)
	if !d.compileShown {
		if err := wait(ctx, d.compiled); err != nil {
			return "", err
		}
		if d.binErr != nil {
			return "", d.binErr
		}
		d.compileShown = true
		how := "compiled and linked"
		if d.binCached {
			how = "unchanged since a previous build: taken from the binary cache"
		}
		d.progress("workload binary ready in %.1fs (%s)", d.binTook.Seconds(), how)
		d.phaseDone("workload compile")
	}
	if err := wait(ctx, p.done); err != nil {
		return "", err
	}
	if p.err != nil {
		return "", p.err
	}
	push := d.push
	if push == nil {
		push = d.s.Push
	}
	ref, err := push(ctx, p.img, repo, "latest")
	if err != nil {
		return "", err
	}
	d.phaseDone("image pack+push " + repo)
	return ref, nil
}
