package purity

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// scripts/test.sh runs every package under the race detector except those listed in
// scripts/norace-packages.txt (compute-heavy code that the detector slows several-fold). A
// package may be listed only if neither it, nor its tests, nor any package of this module it
// imports (transitively) starts a goroutine or shares memory across goroutines: then the race
// detector has nothing to find in its tests.

// concurrentImports are the imports that mean goroutines or shared memory.
var concurrentImports = []string{"sync", "sync/atomic", "net", "net/http", "net/http/httptest",
	"golang.org/x/sync/errgroup", "os/signal"}

const noRaceList = "../../scripts/norace-packages.txt"

func readNoRace(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(noRaceList)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		dirs = append(dirs, strings.TrimPrefix(line, "./"))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return dirs
}

func TestNoRacePackagesHaveNoConcurrency(t *testing.T) {
	script, err := os.ReadFile("../../scripts/test.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "norace-packages.txt") {
		t.Fatal("scripts/test.sh does not read scripts/norace-packages.txt; this test guards nothing")
	}
	checked := map[string]bool{}
	var check func(dir, via string, tests bool)
	check = func(dir, via string, tests bool) {
		key := dir + strconv.FormatBool(tests)
		if checked[key] {
			return
		}
		checked[key] = true
		files, err := filepath.Glob(filepath.Join("../..", dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Errorf("%s%s: no Go files (%v)", dir, via, err)
			return
		}
		fset := token.NewFileSet()
		for _, name := range files {
			if !tests && strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if slices.Contains(concurrentImports, p) {
					t.Errorf("%s%s: %s imports %s", dir, via, fset.Position(imp.Pos()), p)
				}
				if rest, ok := strings.CutPrefix(p, mod); ok {
					check(rest, " (imported by "+dir+")", false)
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.GoStmt:
					t.Errorf("%s%s: %s starts a goroutine", dir, via, fset.Position(n.Pos()))
				case *ast.ChanType:
					t.Errorf("%s%s: %s uses a channel", dir, via, fset.Position(n.Pos()))
				case *ast.SelectorExpr:
					if n.Sel.Name == "Parallel" {
						t.Errorf("%s%s: %s runs tests in parallel", dir, via, fset.Position(n.Pos()))
					}
				}
				return true
			})
		}
	}
	dirs := readNoRace(t)
	if len(dirs) == 0 {
		t.Fatal("scripts/norace-packages.txt lists no package")
	}
	for _, d := range dirs {
		check(d, "", true)
	}
}
