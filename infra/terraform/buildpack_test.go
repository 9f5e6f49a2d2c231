package terraform_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The functions' source archive is built the way Cloud Functions' Go buildpack builds it: the
// files the function_support module selects (read from its .tf, not listed a second time here)
// are copied to an empty directory, a functions-framework main that blank-imports the module
// root package is generated inside the module (as the buildpack does, under functions.local/app),
// and then `go mod tidy` and `go build` run offline against the module cache. A package in the
// upload that imports something the upload leaves out fails `go mod tidy`, as on Google.

const functionSupportDir = "modules/function_support"

// repoRoot is the module root, which the roots' FUNCTION_SOURCE_DIR default points at.
var repoRoot = filepath.Join("..", "..")

// archivePatterns reads the include and exclude lists from the function_support module.
func archivePatterns(t *testing.T) (include, exclude []string) {
	t.Helper()
	r := loadRoot(t, functionSupportDir)
	list := func(name string) []string {
		a, ok := r.locals[name]
		if !ok {
			t.Fatalf("%s has no local.%s", functionSupportDir, name)
		}
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("local.%s must be a literal list of patterns: %v", name, diags)
		}
		var out []string
		for _, e := range v.AsValueSlice() {
			out = append(out, e.AsString())
		}
		return out
	}
	include, exclude = list("source_include"), list("source_exclude")

	// The archive must be built from exactly local.source_files, and that from the two lists.
	files := r.locals["source_files"]
	src := string(r.files[files.SrcRange.Filename][files.SrcRange.Start.Byte:files.SrcRange.End.Byte])
	for _, want := range []string{"setsubtract(", "local.source_include", "local.source_exclude", "fileset(var.source_dir, p)"} {
		if !strings.Contains(src, want) {
			t.Errorf("local.source_files does not use %q: the test would not build what Terraform uploads", want)
		}
	}
	arch := r.resource(t, "data", "archive_file", "source")
	if _, ok := arch.Body.Attributes["source_dir"]; ok {
		t.Error("archive_file.source zips a whole directory; it must hold only local.source_files")
	}
	var dyn *hclsyntax.Block
	for _, b := range arch.Body.Blocks {
		if b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == "source" {
			dyn = b
		}
	}
	if dyn == nil || traversal(t, dyn.Body.Attributes["for_each"].Expr) != "local.source_files" {
		t.Error(`archive_file.source must have a dynamic "source" block over local.source_files`)
	}
	return include, exclude
}

// matchGlob matches a slash-separated relative path against a fileset pattern: path.Match per
// segment, and "**" for zero or more whole segments (Terraform's fileset semantics).
func matchGlob(pattern, name string) bool {
	return matchSegments(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegments(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if matchSegments(pat[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	ok, err := path.Match(pat[0], name[0])
	return err == nil && ok && matchSegments(pat[1:], name[1:])
}

// selectFiles lists the regular files under dir that match an include pattern and no exclude
// pattern, as slash-separated paths relative to dir, sorted.
func selectFiles(t *testing.T, dir string, include, exclude []string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			// No pattern selects anything under these (and they are large).
			if rel == ".git" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in := slices.ContainsFunc(include, func(g string) bool { return matchGlob(g, rel) })
		out_ := slices.ContainsFunc(exclude, func(g string) bool { return matchGlob(g, rel) })
		if in && !out_ {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// generatedMain is what the buildpack's main for a declarative-registration function does:
// blank-import the function's package (registration happens in its init) and start the framework.
const generatedMain = `package main

import (
	"log"
	"os"

	_ "github.com/cspipe/cspipe"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.Start(port); err != nil {
		log.Fatalf("starting the function: %v", err)
	}
}
`

// buildLikeBuildpack copies files from repoRoot into a fresh directory, generates the main and
// runs `go mod tidy` then `go build` offline. It returns the failing step's output, or "".
func buildLikeBuildpack(t *testing.T, files []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		src, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	app := filepath.Join(dir, "functions.local", "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "main.go"), []byte(generatedMain), 0o644); err != nil {
		t.Fatal(err)
	}
	// CGO_ENABLED=0 -trimpath -buildvcs=false: the build configuration of scripts/test.sh's vet
	// and of the workload image, so that the dependencies (and, with -trimpath, the copied
	// packages themselves) come from the build cache. What this test catches, a file the upload
	// leaves out, fails `go mod tidy` and the build the same way under any build configuration.
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	for _, step := range [][]string{
		{"go", "mod", "tidy"},
		{"go", "build", "-trimpath", "-buildvcs=false", "-o", filepath.Join(dir, "fn"), "./functions.local/app"},
	} {
		cmd := exec.Command(step[0], step[1:]...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Sprintf("%s: %v\n%s", strings.Join(step, " "), err, out)
		}
	}
	return ""
}

func TestFunctionSourceBuildsLikeBuildpack(t *testing.T) {
	include, exclude := archivePatterns(t)
	files := selectFiles(t, repoRoot, include, exclude)
	for _, must := range []string{"go.mod", "go.sum", "functions.go"} {
		if !slices.Contains(files, must) {
			t.Fatalf("the archive lacks %s", must)
		}
	}
	// Exactly the packages the root package depends on: one missing fails the build below, one
	// too many is uploaded for nothing (and `go mod tidy` would load it and its imports too).
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const module = "github.com/cspipe/cspipe"
	var deps []string
	for _, p := range strings.Fields(string(out)) {
		if p == module {
			deps = append(deps, ".")
		} else if rest, ok := strings.CutPrefix(p, module+"/"); ok {
			deps = append(deps, rest)
		}
	}
	var dirs []string
	for _, f := range files {
		if strings.HasSuffix(f, ".go") && !slices.Contains(dirs, path.Dir(f)) {
			dirs = append(dirs, path.Dir(f))
		}
		if strings.HasSuffix(f, "_test.go") {
			t.Errorf("the archive holds the test %s (its imports would have to resolve too)", f)
		}
	}
	slices.Sort(deps)
	slices.Sort(dirs)
	for _, d := range deps {
		if !slices.Contains(dirs, d) {
			t.Errorf("the functions import ./%s, which local.source_include in %s leaves out", d, functionSupportDir)
		}
	}
	for _, d := range dirs {
		if !slices.Contains(deps, d) {
			t.Errorf("the archive holds ./%s, which the functions do not import", d)
		}
	}
	if msg := buildLikeBuildpack(t, files); msg != "" {
		t.Fatalf("the function source archive does not build the way the Go buildpack builds it:\n%s", msg)
	}

	// The check bites: the old archive kept cmd/cspipe, which imports the local stack that the
	// archive leaves out; `go mod tidy` must refuse it as the buildpack does.
	t.Run("old selection with cmd/ fails", func(t *testing.T) {
		withCmd := selectFiles(t, repoRoot, append(slices.Clone(include), "cmd/**/*.go"), exclude)
		msg := buildLikeBuildpack(t, withCmd)
		if msg == "" || !strings.Contains(msg, "go mod tidy") || !strings.Contains(msg, "github.com/cspipe/cspipe/infra/local") {
			t.Fatalf("an archive with cmd/ but without infra/local built, or failed for another reason:\n%s", msg)
		}
	})
}

// Where terraform is installed, its own fileset() decides the selection and must agree with the
// Go walker above (so the test builds what Terraform would upload).
func TestArchiveSelectionAgreesWithTerraform(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform not installed: scripts/test.sh says so loudly; the Go walker above still runs")
	}
	include, exclude := archivePatterns(t)
	r := loadRoot(t, functionSupportDir)
	var locals strings.Builder
	for _, name := range []string{"source_include", "source_exclude", "source_files"} {
		a := r.locals[name]
		fmt.Fprintf(&locals, "  %s = %s\n", name, r.files[a.SrcRange.Filename][a.Expr.Range().Start.Byte:a.Expr.Range().End.Byte])
	}
	dir := t.TempDir()
	main := "variable \"source_dir\" {\n  type = string\n}\n\nlocals {\n" + locals.String() + "}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tf, "console", "-var", "source_dir="+abs)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("jsonencode(local.source_files)\n")
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(dir, "none.rc"), "TF_DATA_DIR="+filepath.Join(dir, ".terraform"), "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("terraform console: %v\n%s", err, out)
	}
	var quoted string
	if err := json.Unmarshal(out, &quoted); err != nil {
		t.Fatalf("terraform console printed %q: %v", out, err)
	}
	var got []string
	if err := json.Unmarshal([]byte(quoted), &got); err != nil {
		t.Fatal(err)
	}
	want := selectFiles(t, repoRoot, include, exclude)
	if !slices.Equal(got, want) {
		t.Errorf("Terraform selects %d files, the Go walker %d:\nterraform: %v\ngo:        %v", len(got), len(want), got, want)
	}
}
