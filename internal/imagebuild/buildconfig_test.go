package imagebuild_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/imagebuild"
)

// The CLI that `make run` and `make image` start must be built with the workload's build
// configuration, or the workload build inside them recompiles the standard library and every
// dependency (compile actions are keyed by CGO_ENABLED, -trimpath, tags and the like).
func TestMakefileBuildsTheCLIWithTheWorkloadsConfiguration(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	mk := string(b)
	m := regexp.MustCompile(`(?m)^CLI := (.*)$`).FindStringSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile defines no CLI := … line")
	}
	fields := strings.Fields(m[1])
	if !slices.Contains(fields, "CGO_ENABLED="+imagebuild.CGOEnabled) {
		t.Errorf("CLI := %s: want CGO_ENABLED=%s", m[1], imagebuild.CGOEnabled)
	}
	run := slices.Index(fields, "run")
	if run < 0 || run+len(imagebuild.GoFlags)+1 >= len(fields) || fields[run+len(imagebuild.GoFlags)+1] != "./cmd/cspipe" {
		t.Fatalf("CLI := %s: want `go run %s ./cmd/cspipe`", m[1], strings.Join(imagebuild.GoFlags, " "))
	}
	got := fields[run+1 : run+1+len(imagebuild.GoFlags)]
	if !slices.Equal(got, imagebuild.GoFlags) {
		t.Errorf("CLI := %s: go run flags %q, the workload build uses %q", m[1], got, imagebuild.GoFlags)
	}
	for _, target := range []string{"run", "image"} {
		recipe := regexp.MustCompile(`(?m)^` + target + `:.*\n\t(.*)$`).FindStringSubmatch(mk)
		if recipe == nil || !strings.HasPrefix(recipe[1], "$(CLI) ") {
			t.Errorf("make %s does not start the CLI through $(CLI): %q", target, recipe)
		}
	}
}

// A label that would override a launch-policy label is refused before the workload is compiled
// (`cspipe image build --label …` fails at once rather than after a build).
func TestOverridingLabelRefusedBeforeCompiling(t *testing.T) {
	_, err := imagebuild.Build(t.Context(), imagebuild.Options{
		ModuleDir:   t.TempDir(), // no module: compiling would fail with a go build error
		ExtraLabels: map[string]string{imagebuild.LabelLogRedirect: "never"},
	})
	if err == nil || !strings.Contains(err.Error(), "would override a launch-policy label") {
		t.Fatalf("err = %v; want the label refused before any build", err)
	}
}

// Cloud Build's step builds the CLI the same way, so its workload build reuses the CLI's packages.
func TestCloudBuildBuildsTheCLIWithTheWorkloadsConfiguration(t *testing.T) {
	b, err := os.ReadFile("../../cloudbuild.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	for _, want := range []string{
		"- CGO_ENABLED=" + imagebuild.CGOEnabled + "\n",
		"go run " + strings.Join(imagebuild.GoFlags, " ") + " ./cmd/cspipe image build",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("cloudbuild.yaml lacks %q", want)
		}
	}
}
