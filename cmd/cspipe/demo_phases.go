package main

import (
	"context"
	"fmt"
	"time"

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

// compileWorkload is imagebuild.Compile; a test counts the calls.
var compileWorkload = imagebuild.Compile

// buildAndPush packs the workload into an image with internal/imagebuild (the same builder as
// `make image`; a variant has another digest) and pushes it to repo:latest. The binary is
// compiled once per demo: both images hold the same program, and only the variant label and file
// tell them apart.
func (d *demo) buildAndPush(ctx context.Context, root, repo, variant string) (string, error) {
	if d.bin == nil {
		bin, err := compileWorkload(ctx, imagebuild.Options{ModuleDir: root})
		if err != nil {
			return "", err
		}
		d.bin = bin
		d.phaseDone("workload compile")
	}
	img, err := imagebuild.Build(ctx, imagebuild.Options{Binary: d.bin, Variant: variant})
	if err != nil {
		return "", err
	}
	push := d.push
	if push == nil {
		push = d.s.Push
	}
	ref, err := push(ctx, img, repo, "latest")
	if err != nil {
		return "", err
	}
	d.phaseDone("image pack+push " + repo)
	return ref, nil
}
