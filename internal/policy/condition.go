package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/parser"
)

// Condition is an attribute condition parsed and type-checked once, ready to evaluate against
// many tokens. It is safe for concurrent use.
type Condition struct {
	text    string
	prg     cel.Program
	clauses []clause
}

type clause struct {
	expr string
	prg  cel.Program
}

// Verdict is the outcome of evaluating a condition against one token's claims.
type Verdict struct {
	// Allow is the result of the whole condition; an evaluation error is a deny.
	Allow bool `json:"allow"`
	// Err is the whole condition's evaluation error, if any (e.g. "no such key: submods").
	Err string `json:"error,omitempty"`
	// Clauses holds each top-level && operand and its own result.
	Clauses []ClauseResult `json:"clauses"`
}

// ClauseResult is one top-level clause of a condition and how it evaluated on its own.
type ClauseResult struct {
	Expr string `json:"expr"`
	Pass bool   `json:"pass"`
	Err  string `json:"error,omitempty"`
}

// FailedClause returns the first clause that did not pass, and false when every clause passed.
func (v Verdict) FailedClause() (ClauseResult, bool) {
	for _, c := range v.Clauses {
		if !c.Pass {
			return c, true
		}
	}
	return ClauseResult{}, false
}

// The WIP provider exposes the token's claims as `assertion` and the mapped attributes as
// `google` and `attribute` (empty unless EvaluateMapped is given them).
var env = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("assertion", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("google", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("attribute", cel.MapType(cel.StringType, cel.DynType)),
		cel.EnableMacroCallTracking(), // lets clauses with macros (exists, all) be printed back
	)
})

// Compile parses and type-checks condition (it must yield a bool) and splits its top-level
// conjunction into clauses using the CEL syntax tree.
func Compile(condition string) (*Condition, error) {
	e, err := env()
	if err != nil {
		return nil, fmt.Errorf("building CEL environment: %w", err)
	}
	if condition == "" {
		return nil, errors.New("compiling attribute condition: empty")
	}
	if len(condition) > MaxConditionLen {
		return nil, fmt.Errorf("compiling attribute condition: %d characters, over the limit of %d", len(condition), MaxConditionLen)
	}
	prg, err := program(e, condition, false)
	if err != nil {
		return nil, fmt.Errorf("compiling attribute condition: %w", err)
	}
	parsed, iss := e.Parse(condition)
	if iss.Err() != nil {
		return nil, fmt.Errorf("parsing attribute condition: %w", iss.Err())
	}
	native := parsed.NativeRep()
	var operands []celast.Expr
	var ops []int32
	flattenAnd(native.Expr(), native.SourceInfo(), &operands, &ops)
	slices.Sort(ops)
	c := &Condition{text: condition, prg: prg}
	src := []rune(condition) // CEL offsets count code points
	for i, op := range operands {
		canon, err := parser.Unparse(op, native.SourceInfo())
		if err != nil {
			return nil, fmt.Errorf("printing clause of attribute condition: %w", err)
		}
		text := canon
		if orig, ok := sourceText(src, ops, i); ok && sameClause(e, orig, canon) {
			text = orig // show the clause as the author wrote it
		}
		cp, err := program(e, text, true)
		if err != nil {
			return nil, fmt.Errorf("compiling clause %q: %w", text, err)
		}
		c.clauses = append(c.clauses, clause{expr: text, prg: cp})
	}
	return c, nil
}

// program compiles text; the whole condition must be a bool, a clause may also be dyn (an
// operand of && such as `assertion.flag` is checked as dyn but must evaluate to a bool).
func program(e *cel.Env, text string, clause bool) (cel.Program, error) {
	a, iss := e.Compile(text)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	out := a.OutputType()
	if !out.IsExactType(cel.BoolType) && !(clause && out.IsExactType(cel.DynType)) {
		return nil, fmt.Errorf("condition yields %s, want bool", a.OutputType())
	}
	// A runaway comprehension must not stall the STS: bound the evaluation cost.
	return e.Program(a, cel.CostLimit(maxEvalCost))
}

// maxEvalCost bounds one evaluation; real conditions cost a few dozen units.
const maxEvalCost = 100_000

// flattenAnd appends the operands of a (possibly nested) top-level && to out and the source
// offsets of the && operators it splits at to ops.
func flattenAnd(x celast.Expr, info *celast.SourceInfo, out *[]celast.Expr, ops *[]int32) {
	if x.Kind() == celast.CallKind {
		call := x.AsCall()
		if call.FunctionName() == operators.LogicalAnd && !call.IsMemberFunction() {
			if r, ok := info.GetOffsetRange(x.ID()); ok {
				*ops = append(*ops, r.Start)
			}
			for _, a := range call.Args() {
				flattenAnd(a, info, out, ops)
			}
			return
		}
	}
	*out = append(*out, x)
}

// sourceText returns the i-th operand's text as written: the source between the surrounding
// && operators.
func sourceText(src []rune, ops []int32, i int) (string, bool) {
	start, stop := int32(0), int32(len(src))
	if i > 0 {
		if i-1 >= len(ops) {
			return "", false
		}
		start = ops[i-1] + 2
	}
	if i < len(ops) {
		stop = ops[i]
	}
	if start < 0 || stop > int32(len(src)) || start > stop {
		return "", false
	}
	return strings.TrimSpace(string(src[start:stop])), true
}

// sameClause reports whether orig parses to the same expression as the canonical text.
func sameClause(e *cel.Env, orig, canon string) bool {
	a, iss := e.Parse(orig)
	if iss.Err() != nil {
		return false
	}
	n := a.NativeRep()
	u, err := parser.Unparse(n.Expr(), n.SourceInfo())
	return err == nil && u == canon
}

// String returns the condition's source text.
func (c *Condition) String() string { return c.text }

// Evaluate runs the condition on claims (a decoded JWT payload) and each clause on its own.
// Any evaluation error (a missing claim, a type mismatch) is a deny.
func (c *Condition) Evaluate(claims map[string]any) Verdict {
	return c.EvaluateMapped(claims, nil)
}

// EvaluateMapped is Evaluate with the provider's mapped attributes, which a condition reads as
// google.NAME (google.subject, google.groups) and attribute.NAME.
func (c *Condition) EvaluateMapped(claims map[string]any, mapped map[string]string) Verdict {
	if claims == nil {
		claims = map[string]any{}
	}
	google, attribute := map[string]any{}, map[string]any{}
	for k, v := range mapped {
		if name, ok := strings.CutPrefix(k, "google."); ok {
			google[name] = v
		} else if name, ok := strings.CutPrefix(k, "attribute."); ok {
			attribute[name] = v
		}
	}
	vars := map[string]any{"assertion": claims, "google": google, "attribute": attribute}
	var v Verdict
	v.Allow, v.Err = evalBool(c.prg, vars)
	for _, cl := range c.clauses {
		pass, msg := evalBool(cl.prg, vars)
		v.Clauses = append(v.Clauses, ClauseResult{Expr: cl.expr, Pass: pass, Err: msg})
	}
	return v
}

func evalBool(prg cel.Program, vars map[string]any) (bool, string) {
	out, _, err := prg.Eval(vars)
	if err != nil {
		return false, err.Error()
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Sprintf("result is %T, not bool", out.Value())
	}
	return b, ""
}

// Explain compiles condition and evaluates it on claims.
func Explain(condition string, claims map[string]any) (Verdict, error) {
	c, err := Compile(condition)
	if err != nil {
		return Verdict{}, err
	}
	return c.Evaluate(claims), nil
}
