package engine

import "github.com/cspipe/cspipe/workflows/expr"

// Workflow is a loaded, validated workflow definition.
type Workflow struct {
	subs map[string]*subworkflow
}

// Subworkflows lists the names of the workflow's subworkflows (including main).
func (w *Workflow) Subworkflows() []string {
	names := make([]string, 0, len(w.subs))
	for n := range w.subs {
		names = append(names, n)
	}
	return names
}

type param struct {
	name       string
	def        any
	hasDefault bool
}

type subworkflow struct {
	name   string
	line   int
	params []param
	steps  *stepList
}

type stepList struct {
	steps []*step
	index map[string]int
}

type assignment struct {
	target *expr.Target
	value  tmpl
	line   int
}

type switchCase struct {
	line      int
	condition tmpl
	next      string
	steps     *stepList
	assign    []assignment
	raise     tmpl
	ret       tmpl
	hasReturn bool
}

type forSpec struct {
	value, index string
	in           tmpl
	rng          tmpl
	steps        *stepList
}

type parallelSpec struct {
	shared   []string
	limit    tmpl
	branches []*branch
	loop     *forSpec
}

type branch struct {
	name  string
	steps *stepList
}

type exceptSpec struct {
	as    string
	steps *stepList
}

type step struct {
	name string
	line int

	assign []assignment

	call   string
	args   *tMap
	result string

	switchCases []switchCase

	loop     *forSpec
	parallel *parallelSpec

	try    *step
	retry  tmpl
	except *exceptSpec

	raise     tmpl
	ret       tmpl
	hasReturn bool

	steps *stepList
	next  string
}
