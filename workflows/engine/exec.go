package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cspipe/cspipe/workflows/expr"
)

// execution is one run of a workflow.
type execution struct {
	e     *Engine
	wf    *Workflow
	mu    sync.Mutex // guards every vars.m of this execution
	funcs map[string]expr.Func
	names map[string]any
	steps atomic.Int64 // steps run so far, against Engine.stepLimit
}

func newExecution(e *Engine, wf *Workflow) *execution {
	x := &execution{e: e, wf: wf, funcs: expr.Builtins(), names: map[string]any{}}
	for name, f := range engineFuncs(x) {
		x.funcs[name] = f
	}
	for name, v := range retryPolicies() {
		x.names[name] = v
	}
	for name := range wf.subs {
		x.names[name] = expr.FuncRef{Name: name}
	}
	return x
}

// vars is one variable scope: a subworkflow's, a loop iteration's or a parallel branch's.
type vars struct {
	x        *execution
	m        map[string]any
	parent   *vars
	boundary bool // a parallel branch: outer variables are writable only if shared
	shared   map[string]bool
}

func (v *vars) child(m map[string]any) *vars {
	if m == nil {
		m = map[string]any{}
	}
	return &vars{x: v.x, m: m, parent: v}
}

// Lookup implements expr.Scope.
func (v *vars) Lookup(name string) (any, bool) {
	v.x.mu.Lock()
	defer v.x.mu.Unlock()
	for s := v; s != nil; s = s.parent {
		if val, ok := s.m[name]; ok {
			return val, true
		}
	}
	return nil, false
}

// update replaces variable name with fn(old) atomically. A name not found is created here.
func (v *vars) update(name string, fn func(old any, exists bool) (any, error)) error {
	v.x.mu.Lock()
	defer v.x.mu.Unlock()
	owner, crossed := v, false
	var old any
	exists := false
	for s := v; s != nil; s = s.parent {
		if val, ok := s.m[name]; ok {
			owner, old, exists = s, val, true
			break
		}
		if s.boundary && !s.shared[name] {
			crossed = true
		}
	}
	if exists && crossed {
		return expr.NewError(expr.TagValueError, "variable %q is assigned in a parallel branch but not listed in shared", name)
	}
	nv, err := fn(old, exists)
	if err != nil {
		return err
	}
	owner.m[name] = nv
	return nil
}

func (v *vars) set(name string, val any) error {
	return v.update(name, func(any, bool) (any, error) { return val, nil })
}

func (v *vars) env() *expr.Env {
	return &expr.Env{Vars: v, Funcs: v.x.funcs, Names: v.x.names}
}

type flowKind int

const (
	fNone flowKind = iota
	fNext
	fBreak
	fContinue
	fEnd
	fReturn
)

type flow struct {
	kind   flowKind
	target string
	value  any
}

func nextFlow(target string) flow {
	switch target {
	case "end":
		return flow{kind: fEnd}
	case "break":
		return flow{kind: fBreak}
	case "continue":
		return flow{kind: fContinue}
	}
	return flow{kind: fNext, target: target}
}

func (x *execution) callSub(ctx context.Context, sub *subworkflow, args map[string]any, depth int) (any, error) {
	if depth > x.e.maxDepth {
		return nil, expr.NewError(expr.TagRecursionError, "maximum call depth %d exceeded calling %s", x.e.maxDepth, sub.name)
	}
	m := map[string]any{}
	for _, p := range sub.params {
		if val, ok := args[p.name]; ok {
			m[p.name] = val
		} else if p.hasDefault {
			m[p.name] = p.def
		} else {
			return nil, expr.NewError(expr.TagTypeError, "%s: missing argument %q", sub.name, p.name)
		}
	}
	for k := range args {
		if !slices.ContainsFunc(sub.params, func(p param) bool { return p.name == k }) {
			return nil, expr.NewError(expr.TagTypeError, "%s: unexpected argument %q", sub.name, k)
		}
	}
	f, err := x.runSteps(ctx, sub.steps, &vars{x: x, m: m}, depth)
	if err != nil {
		return nil, err
	}
	if f.kind == fReturn {
		return f.value, nil
	}
	return nil, nil
}

func (x *execution) runSteps(ctx context.Context, list *stepList, v *vars, depth int) (flow, error) {
	for i := 0; i < len(list.steps); {
		if err := ctx.Err(); err != nil {
			return flow{}, err
		}
		f, err := x.runStep(ctx, list.steps[i], v, depth)
		if err != nil {
			return flow{}, err
		}
		switch f.kind {
		case fNone:
			i++
		case fNext:
			j, ok := list.index[f.target]
			if !ok {
				return f, nil // an enclosing list has the target
			}
			i = j
		default:
			return f, nil
		}
	}
	return flow{}, nil
}

func (x *execution) runStep(ctx context.Context, s *step, v *vars, depth int) (flow, error) {
	// Every step counts, nested ones and each attempt of a retried one too: at least as many as
	// Google counts, so a run that fits here fits there.
	if n := x.steps.Add(1); n > x.e.stepLimit {
		return flow{}, fmt.Errorf("%w: %d steps (step %s, line %d)", ErrStepLimit, x.e.stepLimit, s.name, s.line)
	}
	var f flow
	var err error
	switch {
	case s.assign != nil:
		err = x.assign(ctx, s.assign, v)
	case s.call != "":
		err = x.callStep(ctx, s, v, depth)
	case s.switchCases != nil:
		f, err = x.switchStep(ctx, s, v, depth)
	case s.loop != nil:
		f, err = x.forStep(ctx, s.loop, v, depth)
	case s.parallel != nil:
		err = x.parallelStep(ctx, s.parallel, v, depth)
	case s.try != nil:
		f, err = x.tryStep(ctx, s, v, depth)
	case s.raise != nil:
		var val any
		if val, err = s.raise.eval(ctx, v.env()); err == nil {
			err = &expr.Error{Value: val}
		}
	case s.hasReturn:
		var val any
		if val, err = s.ret.eval(ctx, v.env()); err == nil {
			return flow{kind: fReturn, value: val}, nil
		}
	case s.steps != nil:
		f, err = x.runSteps(ctx, s.steps, v, depth)
	}
	if err != nil {
		var we *expr.Error
		if errors.As(err, &we) {
			x.e.log.Debug("step raised", "event", "workflow.step_error", "step", s.name, "line", s.line, "error", we.Error())
		}
		return flow{}, err
	}
	if f.kind != fNone {
		return f, nil
	}
	if s.next != "" {
		return nextFlow(s.next), nil
	}
	return flow{}, nil
}

func (x *execution) assign(ctx context.Context, as []assignment, v *vars) error {
	for _, a := range as {
		env := v.env()
		val, err := a.value.eval(ctx, env)
		if err != nil {
			return err
		}
		keys, err := a.target.Keys(ctx, env)
		if err != nil {
			return err
		}
		err = v.update(a.target.Root(), func(old any, exists bool) (any, error) {
			if len(keys) > 0 && !exists {
				return nil, expr.NewError(expr.TagKeyError, "variable %q is not defined", a.target.Root())
			}
			return expr.SetPath(old, keys, val)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *execution) callStep(ctx context.Context, s *step, v *vars, depth int) error {
	args := map[string]any{}
	if s.args != nil {
		a, err := s.args.eval(ctx, v.env())
		if err != nil {
			return err
		}
		args = a.(map[string]any)
	}
	var res any
	var err error
	if sub, ok := x.wf.subs[s.call]; ok {
		res, err = x.callSub(ctx, sub, args, depth+1)
	} else {
		res, err = callables[s.call](ctx, x, args)
	}
	if err != nil {
		return err
	}
	if s.result != "" {
		return v.set(s.result, res)
	}
	return nil
}

func (x *execution) switchStep(ctx context.Context, s *step, v *vars, depth int) (flow, error) {
	for _, c := range s.switchCases {
		cond, err := c.condition.eval(ctx, v.env())
		if err != nil {
			return flow{}, err
		}
		b, ok := cond.(bool)
		if !ok {
			return flow{}, expr.NewError(expr.TagTypeError, "switch condition at line %d is a %s, not a boolean", c.line, expr.TypeName(cond))
		}
		if !b {
			continue
		}
		if c.assign != nil {
			if err := x.assign(ctx, c.assign, v); err != nil {
				return flow{}, err
			}
		}
		switch {
		case c.raise != nil:
			val, err := c.raise.eval(ctx, v.env())
			if err != nil {
				return flow{}, err
			}
			return flow{}, &expr.Error{Value: val}
		case c.hasReturn:
			val, err := c.ret.eval(ctx, v.env())
			return flow{kind: fReturn, value: val}, err
		case c.steps != nil:
			f, err := x.runSteps(ctx, c.steps, v, depth)
			if err != nil || f.kind != fNone {
				return f, err
			}
		}
		if c.next != "" {
			return nextFlow(c.next), nil
		}
		return flow{}, nil // a matching case without next continues after the switch step
	}
	return flow{}, nil
}

// loopItems evaluates a for loop's `in` list or inclusive `range`.
func (x *execution) loopItems(ctx context.Context, f *forSpec, v *vars) ([]any, error) {
	if f.in != nil {
		val, err := f.in.eval(ctx, v.env())
		if err != nil {
			return nil, err
		}
		l, ok := val.([]any)
		if !ok {
			return nil, expr.NewError(expr.TagTypeError, "for: in must be a list, got %s", expr.TypeName(val))
		}
		return l, nil
	}
	val, err := f.rng.eval(ctx, v.env())
	if err != nil {
		return nil, err
	}
	r, ok := val.([]any)
	if !ok || len(r) != 2 {
		return nil, expr.NewError(expr.TagTypeError, "for: range must be a list of two numbers")
	}
	lo, lint := r[0].(int64)
	hi, hint := r[1].(int64)
	var out []any
	if lint && hint {
		for i := lo; i <= hi; i++ {
			out = append(out, i)
		}
		return out, nil
	}
	lf, ok1 := toFloat(r[0])
	hf, ok2 := toFloat(r[1])
	if !ok1 || !ok2 {
		return nil, expr.NewError(expr.TagTypeError, "for: range must be a list of two numbers")
	}
	for f := lf; f <= hf; f++ {
		out = append(out, f)
	}
	return out, nil
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func (f *forSpec) iterVars(i int, item any) map[string]any {
	m := map[string]any{f.value: item}
	if f.index != "" {
		m[f.index] = int64(i)
	}
	return m
}

func (x *execution) forStep(ctx context.Context, f *forSpec, v *vars, depth int) (flow, error) {
	items, err := x.loopItems(ctx, f, v)
	if err != nil {
		return flow{}, err
	}
	for i, item := range items {
		fl, err := x.runSteps(ctx, f.steps, v.child(f.iterVars(i, item)), depth)
		if err != nil {
			return flow{}, err
		}
		switch fl.kind {
		case fBreak:
			return flow{}, nil
		case fReturn, fEnd:
			return fl, nil
		}
	}
	return flow{}, nil
}

func (x *execution) parallelStep(ctx context.Context, p *parallelSpec, v *vars, depth int) error {
	shared := map[string]bool{}
	for _, s := range p.shared {
		if _, ok := v.Lookup(s); !ok {
			return expr.NewError(expr.TagKeyError, "shared variable %q must be defined before the parallel step", s)
		}
		shared[s] = true
	}
	type job struct {
		steps *stepList
		m     map[string]any
	}
	var jobs []job
	if p.loop != nil {
		items, err := x.loopItems(ctx, p.loop, v)
		if err != nil {
			return err
		}
		for i, item := range items {
			jobs = append(jobs, job{p.loop.steps, p.loop.iterVars(i, item)})
		}
	} else {
		for _, b := range p.branches {
			jobs = append(jobs, job{b.steps, nil})
		}
	}
	// Google runs at most MaxConcurrentBranches at once and queues the rest, whatever
	// concurrency_limit says.
	limit := min(len(jobs), MaxConcurrentBranches)
	if p.limit != nil {
		l, err := p.limit.eval(ctx, v.env())
		if err != nil {
			return err
		}
		n, ok := l.(int64)
		if !ok || n < 1 {
			return expr.NewError(expr.TagValueError, "concurrency_limit must be a positive integer")
		}
		limit = int(min(n, MaxConcurrentBranches))
	}
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, max(limit, 1))
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-bctx.Done():
				return
			}
			bv := v.child(j.m)
			bv.boundary, bv.shared = true, shared
			fl, err := x.runSteps(bctx, j.steps, bv, depth)
			if err == nil && (fl.kind == fReturn || fl.kind == fEnd) {
				err = expr.NewError(expr.TagValueError, "return and next: end are not allowed in a parallel branch")
			}
			if err != nil && bctx.Err() == nil || err != nil && ctx.Err() != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
				// continueAll, Google's only policy: a workflow error in one branch leaves the
				// others running; the first is raised once all have ended. Engine faults and the
				// step limit end the execution, so they stop every branch.
				if !errors.As(err, new(*expr.Error)) {
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return firstErr
}

type retryPolicy struct {
	predicate  expr.FuncRef
	maxRetries int64
	initial    float64
	maxDelay   float64
	multiplier float64
}

func parsePolicy(val any) (retryPolicy, error) {
	m, ok := val.(map[string]any)
	if !ok {
		return retryPolicy{}, expr.NewError(expr.TagTypeError, "retry must be a map, got %s", expr.TypeName(val))
	}
	p := retryPolicy{initial: 1, maxDelay: 60, multiplier: 1.25}
	if p.predicate, ok = m["predicate"].(expr.FuncRef); !ok {
		return p, expr.NewError(expr.TagTypeError, "retry predicate must be a function or subworkflow reference")
	}
	if p.maxRetries, ok = m["max_retries"].(int64); !ok {
		return p, expr.NewError(expr.TagTypeError, "retry max_retries must be an integer")
	}
	if b, ok := m["backoff"].(map[string]any); ok {
		for k, dst := range map[string]*float64{"initial_delay": &p.initial, "max_delay": &p.maxDelay, "multiplier": &p.multiplier} {
			if raw, present := b[k]; present {
				f, ok := toFloat(raw)
				if !ok {
					return p, expr.NewError(expr.TagTypeError, "retry backoff %s must be a number", k)
				}
				*dst = f
			}
		}
	}
	return p, nil
}

func (x *execution) tryStep(ctx context.Context, s *step, v *vars, depth int) (flow, error) {
	var policy *retryPolicy
	delay := 0.0
	for attempt := int64(0); ; attempt++ {
		f, err := x.runStep(ctx, s.try, v, depth)
		if err == nil {
			return f, nil
		}
		var we *expr.Error
		if !errors.As(err, &we) || ctx.Err() != nil {
			return flow{}, err // cancellation and engine faults are not catchable
		}
		if s.retry != nil {
			if policy == nil {
				val, perr := s.retry.eval(ctx, v.env())
				if perr != nil {
					return flow{}, perr
				}
				p, perr := parsePolicy(val)
				if perr != nil {
					return flow{}, perr
				}
				policy, delay = &p, p.initial
			}
			if attempt < policy.maxRetries {
				again, perr := x.callRef(ctx, policy.predicate, []any{we.Value}, depth+1)
				if perr != nil {
					return flow{}, perr
				}
				if b, _ := again.(bool); b {
					x.e.log.Debug("retrying", "event", "workflow.retry", "step", s.name, "attempt", attempt+1, "delay_s", delay)
					if err := x.e.clock.Sleep(ctx, time.Duration(delay*float64(time.Second))); err != nil {
						return flow{}, err
					}
					delay = math.Min(delay*policy.multiplier, policy.maxDelay)
					continue
				}
			}
		}
		if s.except == nil {
			return flow{}, err
		}
		if s.except.as != "" {
			if err := v.set(s.except.as, we.Value); err != nil {
				return flow{}, err
			}
		}
		return x.runSteps(ctx, s.except.steps, v, depth)
	}
}

// callRef calls a function value: a subworkflow (arguments bound to its parameters in order) or
// a library function.
func (x *execution) callRef(ctx context.Context, ref expr.FuncRef, args []any, depth int) (any, error) {
	if sub, ok := x.wf.subs[ref.Name]; ok {
		if len(args) > len(sub.params) {
			return nil, expr.NewError(expr.TagTypeError, "%s takes %d parameters", sub.name, len(sub.params))
		}
		named := map[string]any{}
		for i, a := range args {
			named[sub.params[i].name] = a
		}
		return x.callSub(ctx, sub, named, depth)
	}
	f, ok := x.funcs[ref.Name]
	if !ok {
		return nil, expr.NewError(expr.TagKeyError, "function %q is not defined", ref.Name)
	}
	return f(ctx, args)
}
