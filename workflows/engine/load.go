package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cspipe/cspipe/workflows/expr"
)

// LoadError is a definition the engine refuses: invalid YAML or a construct outside the
// supported subset. It names the construct and its line.
type LoadError struct {
	Line      int
	Construct string
	Msg       string
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Construct, e.Msg)
}

func loadErr(n *yaml.Node, construct, format string, args ...any) *LoadError {
	return &LoadError{Line: n.Line, Construct: construct, Msg: fmt.Sprintf(format, args...)}
}

// Load parses and validates a workflow definition (the YAML that is deployed).
func Load(src []byte) (*Workflow, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, &LoadError{Line: 0, Construct: "yaml", Msg: err.Error()}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &LoadError{Line: 1, Construct: "document", Msg: "expected one YAML document"}
	}
	root := resolve(doc.Content[0])
	l := &loader{wf: &Workflow{subs: map[string]*subworkflow{}}}
	switch root.Kind {
	case yaml.SequenceNode: // the simple form: main's steps only
		steps, err := l.stepList(root, nil)
		if err != nil {
			return nil, err
		}
		l.wf.subs["main"] = &subworkflow{name: "main", line: root.Line, steps: steps}
	case yaml.MappingNode:
		for i := 0; i < len(root.Content); i += 2 {
			k, v := root.Content[i], resolve(root.Content[i+1])
			sub, err := l.subworkflow(k.Value, k, v)
			if err != nil {
				return nil, err
			}
			l.wf.subs[k.Value] = sub
		}
		if _, ok := l.wf.subs["main"]; !ok {
			return nil, loadErr(root, "main", "the workflow has no main")
		}
	default:
		return nil, loadErr(root, "document", "expected a list of steps or a map of subworkflows")
	}
	for _, c := range l.calls {
		if _, ok := l.wf.subs[c.name]; ok {
			continue
		}
		if _, ok := callables[c.name]; !ok {
			return nil, loadErr(c.node, "call "+c.name, "unsupported call target (not a subworkflow and not in the engine's library subset)")
		}
	}
	for _, f := range l.funcs {
		if _, ok := l.wf.subs[f.name]; ok {
			return nil, loadErr(f.node, "function "+f.name, "a subworkflow cannot be called inside an expression")
		}
		if !exprFunctions[f.name] {
			return nil, loadErr(f.node, "function "+f.name, "unsupported expression function")
		}
	}
	return l.wf, nil
}

type ref struct {
	name string
	node *yaml.Node
}

type loader struct {
	wf    *Workflow
	calls []ref
	funcs []ref
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func (l *loader) subworkflow(name string, k, v *yaml.Node) (*subworkflow, error) {
	if v.Kind != yaml.MappingNode {
		return nil, loadErr(v, "subworkflow "+name, "expected a map with params and steps")
	}
	sub := &subworkflow{name: name, line: k.Line}
	for i := 0; i < len(v.Content); i += 2 {
		fk, fv := v.Content[i], resolve(v.Content[i+1])
		switch fk.Value {
		case "params":
			if fv.Kind != yaml.SequenceNode {
				return nil, loadErr(fv, "params", "expected a list")
			}
			for _, p := range fv.Content {
				p = resolve(p)
				switch p.Kind {
				case yaml.ScalarNode:
					sub.params = append(sub.params, param{name: p.Value})
				case yaml.MappingNode:
					if len(p.Content) != 2 {
						return nil, loadErr(p, "params", "a parameter with a default is a one-entry map")
					}
					def, err := l.literal(p.Content[1])
					if err != nil {
						return nil, err
					}
					sub.params = append(sub.params, param{name: p.Content[0].Value, def: def, hasDefault: true})
				default:
					return nil, loadErr(p, "params", "expected a name or {name: default}")
				}
			}
		case "steps":
			steps, err := l.stepList(fv, nil)
			if err != nil {
				return nil, err
			}
			sub.steps = steps
		default:
			return nil, loadErr(fk, "subworkflow field "+fk.Value, "unsupported (expected params or steps)")
		}
	}
	if sub.steps == nil {
		return nil, loadErr(k, "subworkflow "+name, "has no steps")
	}
	return sub, nil
}

// literal converts a YAML value that must not contain expressions (parameter defaults).
func (l *loader) literal(n *yaml.Node) (any, error) {
	t, err := l.value(n)
	if err != nil {
		return nil, err
	}
	v, err := t.eval(context.Background(), &expr.Env{})
	if err != nil {
		return nil, loadErr(n, "default", "parameter defaults must be constants")
	}
	return v, nil
}

// scope is the chain of step lists a `next` may jump to (this list and its ancestors up to the
// nearest for body, parallel branch or subworkflow).
type scope struct {
	names  map[string]bool
	parent *scope
	inLoop bool
}

func (s *scope) has(name string) bool {
	for ; s != nil; s = s.parent {
		if s.names[name] {
			return true
		}
	}
	return false
}

func (s *scope) loop() bool {
	for ; s != nil; s = s.parent {
		if s.inLoop {
			return true
		}
	}
	return false
}

func (l *loader) stepList(n *yaml.Node, parent *scope) (*stepList, error) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return nil, loadErr(n, "steps", "expected a list of steps")
	}
	list := &stepList{index: map[string]int{}}
	sc := &scope{names: map[string]bool{}, parent: parent}
	type pending struct {
		s    *step
		body *yaml.Node
	}
	var todo []pending
	for _, item := range n.Content {
		item = resolve(item)
		if item.Kind != yaml.MappingNode || len(item.Content) != 2 {
			return nil, loadErr(item, "step", "each step is a map with exactly one key, the step's name")
		}
		name := item.Content[0].Value
		if _, dup := list.index[name]; dup {
			return nil, loadErr(item, "step "+name, "duplicate step name")
		}
		if slices.Contains([]string{"end", "break", "continue"}, name) {
			return nil, loadErr(item, "step "+name, "reserved step name")
		}
		s := &step{name: name, line: item.Line}
		list.index[name] = len(list.steps)
		list.steps = append(list.steps, s)
		sc.names[name] = true
		todo = append(todo, pending{s, resolve(item.Content[1])})
	}
	// Bodies are read after every name in the list is known, so `next` can jump forward.
	for _, p := range todo {
		if err := l.stepBody(p.s, p.body, sc); err != nil {
			return nil, err
		}
	}
	return list, nil
}

var stepKinds = []string{"assign", "call", "switch", "for", "parallel", "try", "raise", "return", "steps"}

func (l *loader) stepBody(s *step, body *yaml.Node, sc *scope) error {
	if body.Kind != yaml.MappingNode {
		return loadErr(body, "step "+s.name, "expected a map")
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i < len(body.Content); i += 2 {
		k := body.Content[i]
		if !slices.Contains(stepKinds, k.Value) && !slices.Contains([]string{"args", "result", "next", "retry", "except"}, k.Value) {
			return loadErr(k, "step field "+k.Value, "unsupported step field in step %q", s.name)
		}
		fields[k.Value] = resolve(body.Content[i+1])
	}
	var kinds []string
	for _, k := range stepKinds {
		if fields[k] != nil {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) > 1 {
		return loadErr(body, "step "+s.name, "combines %s", strings.Join(kinds, " and "))
	}
	kind := ""
	if len(kinds) == 1 {
		kind = kinds[0]
	} else if fields["next"] == nil {
		return loadErr(body, "step "+s.name, "does nothing (no assign, call, switch, for, parallel, try, raise, return, steps or next)")
	}
	allowed := map[string][]string{
		"call": {"args", "result", "next"}, "assign": {"next"}, "switch": {"next"}, "steps": {"next"},
		"try": {"retry", "except", "next"}, "for": {"next"}, "parallel": {"next"}, "": {"next"},
	}
	for k, v := range fields {
		if k == kind || slices.Contains(allowed[kind], k) {
			continue
		}
		return loadErr(v, "step field "+k, "not allowed with %q in step %q", kind, s.name)
	}
	if n := fields["next"]; n != nil {
		if err := l.checkNext(n, sc); err != nil {
			return err
		}
		s.next = n.Value
	}
	var err error
	switch kind {
	case "assign":
		s.assign, err = l.assignments(fields["assign"])
	case "call":
		err = l.callStep(s, fields)
	case "switch":
		err = l.switchStep(s, fields["switch"], sc)
	case "for":
		s.loop, err = l.forSpec(fields["for"], sc)
	case "parallel":
		s.parallel, err = l.parallelSpec(fields["parallel"], sc)
	case "try":
		err = l.tryStep(s, fields, sc)
	case "raise":
		s.raise, err = l.value(fields["raise"])
	case "return":
		s.ret, err = l.value(fields["return"])
		s.hasReturn = true
	case "steps":
		s.steps, err = l.stepList(fields["steps"], sc)
	}
	return err
}

func (l *loader) checkNext(n *yaml.Node, sc *scope) error {
	switch n.Value {
	case "end":
		return nil
	case "break", "continue":
		if !sc.loop() {
			return loadErr(n, "next: "+n.Value, "only allowed inside a for loop")
		}
		return nil
	}
	if !sc.has(n.Value) {
		return loadErr(n, "next: "+n.Value, "no such step in this list or an enclosing one (jumps into or out of for, parallel and subworkflows are not allowed)")
	}
	return nil
}

func (l *loader) assignments(n *yaml.Node) ([]assignment, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, loadErr(n, "assign", "expected a list of one-entry maps")
	}
	var out []assignment
	for _, a := range n.Content {
		a = resolve(a)
		if a.Kind != yaml.MappingNode || len(a.Content) != 2 {
			return nil, loadErr(a, "assign", "each assignment is a one-entry map")
		}
		t, err := expr.ParseTarget(a.Content[0].Value)
		if err != nil {
			return nil, loadErr(a, "assign", "bad target: %v", err)
		}
		for _, e := range t.Expressions() {
			l.noteFuncs(e, a)
		}
		v, err := l.value(a.Content[1])
		if err != nil {
			return nil, err
		}
		out = append(out, assignment{target: t, value: v, line: a.Line})
	}
	return out, nil
}

func (l *loader) callStep(s *step, f map[string]*yaml.Node) error {
	c := f["call"]
	if c.Kind != yaml.ScalarNode {
		return loadErr(c, "call", "expected a function or subworkflow name")
	}
	s.call = c.Value
	l.calls = append(l.calls, ref{c.Value, c})
	if a := f["args"]; a != nil {
		t, err := l.value(a)
		if err != nil {
			return err
		}
		m, ok := t.(*tMap)
		if !ok {
			return loadErr(a, "args", "expected a map")
		}
		s.args = m
	}
	if r := f["result"]; r != nil {
		if !isName(r.Value) {
			return loadErr(r, "result", "expected a variable name")
		}
		s.result = r.Value
	}
	return nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c != '_' && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') && !(i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (l *loader) switchStep(s *step, n *yaml.Node, sc *scope) error {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return loadErr(n, "switch", "expected a non-empty list of conditions")
	}
	for _, c := range n.Content {
		c = resolve(c)
		if c.Kind != yaml.MappingNode {
			return loadErr(c, "switch", "each case is a map")
		}
		sc2 := switchCase{line: c.Line}
		for i := 0; i < len(c.Content); i += 2 {
			k, v := c.Content[i], resolve(c.Content[i+1])
			var err error
			switch k.Value {
			case "condition":
				sc2.condition, err = l.value(v)
			case "next":
				if err = l.checkNext(v, sc); err == nil {
					sc2.next = v.Value
				}
			case "steps":
				sc2.steps, err = l.stepList(v, sc)
			case "assign":
				sc2.assign, err = l.assignments(v)
			case "raise":
				sc2.raise, err = l.value(v)
			case "return":
				sc2.ret, err = l.value(v)
				sc2.hasReturn = true
			default:
				err = loadErr(k, "switch field "+k.Value, "unsupported in a switch case")
			}
			if err != nil {
				return err
			}
		}
		if sc2.condition == nil {
			return loadErr(c, "switch", "case without condition")
		}
		s.switchCases = append(s.switchCases, sc2)
	}
	return nil
}

func (l *loader) forSpec(n *yaml.Node, sc *scope) (*forSpec, error) {
	if n.Kind != yaml.MappingNode {
		return nil, loadErr(n, "for", "expected a map")
	}
	f := &forSpec{}
	var stepsNode *yaml.Node
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		var err error
		switch k.Value {
		case "value":
			f.value = v.Value
		case "index":
			f.index = v.Value
		case "in":
			f.in, err = l.value(v)
		case "range":
			f.rng, err = l.value(v)
		case "steps":
			stepsNode = v
		default:
			err = loadErr(k, "for field "+k.Value, "unsupported")
		}
		if err != nil {
			return nil, err
		}
	}
	if f.value == "" || !isName(f.value) {
		return nil, loadErr(n, "for", "needs value: <variable name>")
	}
	if (f.in == nil) == (f.rng == nil) {
		return nil, loadErr(n, "for", "needs exactly one of in and range")
	}
	if stepsNode == nil {
		return nil, loadErr(n, "for", "has no steps")
	}
	var err error
	f.steps, err = l.stepList(stepsNode, &scope{inLoop: true, names: map[string]bool{}})
	_ = sc // a loop body cannot jump out of the loop
	return f, err
}

func (l *loader) parallelSpec(n *yaml.Node, sc *scope) (*parallelSpec, error) {
	if n.Kind != yaml.MappingNode {
		return nil, loadErr(n, "parallel", "expected a map")
	}
	p := &parallelSpec{}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		var err error
		switch k.Value {
		case "shared":
			if v.Kind != yaml.SequenceNode {
				return nil, loadErr(v, "shared", "expected a list of variable names")
			}
			for _, s := range v.Content {
				p.shared = append(p.shared, s.Value)
			}
		case "concurrency_limit":
			p.limit, err = l.value(v)
		case "exception_policy":
			// Google's parallel-steps reference: continueAll is the default and the only policy
			// currently supported.
			if v.Value != "continueAll" {
				err = loadErr(v, "exception_policy: "+v.Value, "Cloud Workflows supports only continueAll (the default)")
			}
		case "branches":
			if v.Kind != yaml.SequenceNode {
				return nil, loadErr(v, "branches", "expected a list")
			}
			for _, b := range v.Content {
				b = resolve(b)
				if b.Kind != yaml.MappingNode || len(b.Content) != 2 {
					return nil, loadErr(b, "branches", "each branch is a one-entry map {name: {steps: …}}")
				}
				body := resolve(b.Content[1])
				if body.Kind != yaml.MappingNode || len(body.Content) != 2 || body.Content[0].Value != "steps" {
					return nil, loadErr(b, "branch "+b.Content[0].Value, "a branch holds only steps")
				}
				steps, err := l.stepList(body.Content[1], nil)
				if err != nil {
					return nil, err
				}
				p.branches = append(p.branches, &branch{name: b.Content[0].Value, steps: steps})
			}
		case "for":
			p.loop, err = l.forSpec(v, sc)
		default:
			err = loadErr(k, "parallel field "+k.Value, "unsupported")
		}
		if err != nil {
			return nil, err
		}
	}
	if (p.loop == nil) == (len(p.branches) == 0) {
		return nil, loadErr(n, "parallel", "needs exactly one of branches and for")
	}
	return p, nil
}

func (l *loader) tryStep(s *step, f map[string]*yaml.Node, sc *scope) error {
	body := f["try"]
	if body.Kind != yaml.MappingNode {
		return loadErr(body, "try", "expected a step body (a call or steps)")
	}
	inner := &step{name: s.name + ".try", line: body.Line}
	if err := l.stepBody(inner, body, sc); err != nil {
		return err
	}
	s.try = inner
	if r := f["retry"]; r != nil {
		t, err := l.value(r)
		if err != nil {
			return err
		}
		if m, ok := t.(*tMap); ok {
			for _, k := range m.keys {
				if !slices.Contains([]string{"predicate", "max_retries", "backoff"}, k) {
					return loadErr(r, "retry field "+k, "unsupported")
				}
			}
		}
		s.retry = t
	}
	if e := f["except"]; e != nil {
		if e.Kind != yaml.MappingNode {
			return loadErr(e, "except", "expected {as: name, steps: […]}")
		}
		ex := &exceptSpec{}
		for i := 0; i < len(e.Content); i += 2 {
			k, v := e.Content[i], resolve(e.Content[i+1])
			switch k.Value {
			case "as":
				ex.as = v.Value
			case "steps":
				steps, err := l.stepList(v, sc)
				if err != nil {
					return err
				}
				ex.steps = steps
			default:
				return loadErr(k, "except field "+k.Value, "unsupported")
			}
		}
		if ex.steps == nil {
			return loadErr(e, "except", "has no steps")
		}
		s.except = ex
	}
	if s.retry == nil && s.except == nil {
		return loadErr(body, "try", "needs retry or except")
	}
	return nil
}

// value compiles a YAML value: `${…}` strings become expressions, the rest are literals.
func (l *loader) value(n *yaml.Node) (tmpl, error) {
	n = resolve(n)
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return tLit{nil}, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, loadErr(n, "value", "%v", err)
			}
			return tLit{b}, nil
		case "!!int":
			i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
			if err != nil {
				return nil, loadErr(n, "value", "integer %q: %v", n.Value, err)
			}
			return tLit{i}, nil
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, loadErr(n, "value", "%v", err)
			}
			return tLit{f}, nil
		case "!!str":
			if src, ok := expr.Template(n.Value); ok {
				e, err := expr.Parse(src)
				if err != nil {
					return nil, loadErr(n, "expression", "%v", err)
				}
				l.noteFuncs(e, n)
				return tExpr{e: e, line: n.Line}, nil
			}
			return tLit{n.Value}, nil
		}
		return nil, loadErr(n, "value "+n.Tag, "unsupported YAML type")
	case yaml.SequenceNode:
		out := make(tList, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := l.value(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		m := &tMap{}
		for i := 0; i < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return nil, loadErr(k, "map key", "must be a string")
			}
			if _, ok := expr.Template(k.Value); ok {
				return nil, loadErr(k, "map key "+k.Value, "expressions as map keys are not supported")
			}
			v, err := l.value(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m.keys, m.vals = append(m.keys, k.Value), append(m.vals, v)
		}
		return m, nil
	}
	return nil, loadErr(n, "value", "unsupported YAML node")
}

func (l *loader) noteFuncs(e *expr.Expr, n *yaml.Node) {
	for _, f := range e.Functions() {
		l.funcs = append(l.funcs, ref{f, n})
	}
}
