package engine

import (
	"context"
	"encoding/json"
	"maps"
	"time"

	"github.com/cspipe/cspipe/workflows/expr"
)

// callable is a library function invoked by a `call:` step with named arguments.
type callable func(ctx context.Context, x *execution, args map[string]any) (any, error)

// callables is the `call:` subset: http.*, sys.*, and the googleapis connectors.
var callables = map[string]callable{}

func init() {
	for _, m := range []string{"get", "post", "put", "patch", "delete"} {
		callables["http."+m] = httpMethod(m)
	}
	callables["http.request"] = httpMethod("")
	callables["sys.sleep"] = sysSleep
	callables["sys.log"] = sysLog
	callables["sys.now"] = func(_ context.Context, x *execution, _ map[string]any) (any, error) {
		return unixSeconds(x.e.clock.Now()), nil
	}
	callables["sys.get_env"] = func(_ context.Context, x *execution, a map[string]any) (any, error) {
		name, err := stringArg(a, "name", true)
		if err != nil {
			return nil, err
		}
		return x.getEnv(name, a["default"]), nil
	}
	maps.Copy(callables, connectors)
	exprFunctions = map[string]bool{}
	for name := range expr.Builtins() {
		exprFunctions[name] = true
	}
	for name := range engineFuncs(nil) {
		exprFunctions[name] = true
	}
}

// exprFunctions are the functions an expression may call.
var exprFunctions map[string]bool

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func (x *execution) getEnv(name string, def any) any {
	if v, ok := x.e.env[name]; ok {
		return v
	}
	return def
}

// engineFuncs are the expression functions that need the engine: the clock, the environment,
// and the retry predicates.
func engineFuncs(x *execution) map[string]expr.Func {
	return map[string]expr.Func{
		"sys.now": func(context.Context, []any) (any, error) { return unixSeconds(x.e.clock.Now()), nil },
		"sys.get_env": func(_ context.Context, a []any) (any, error) {
			if len(a) < 1 || len(a) > 2 {
				return nil, expr.NewError(expr.TagTypeError, "sys.get_env takes a name and an optional default")
			}
			name, ok := a[0].(string)
			if !ok {
				return nil, expr.NewError(expr.TagTypeError, "sys.get_env: name must be a string")
			}
			var def any
			if len(a) == 2 {
				def = a[1]
			}
			return x.getEnv(name, def), nil
		},
		"http.default_retry_predicate":                predicate(429, 502, 503, 504),
		"http.default_retry_predicate_non_idempotent": predicate(429, 503),
	}
}

// predicate returns a retry predicate: true for an HTTP error with one of codes, or a
// connection or timeout error.
func predicate(codes ...int64) expr.Func {
	return func(_ context.Context, a []any) (any, error) {
		if len(a) != 1 {
			return nil, expr.NewError(expr.TagTypeError, "a retry predicate takes one argument")
		}
		e := &expr.Error{Value: a[0]}
		if e.HasTag(expr.TagConnectionError) || e.HasTag("ConnectionFailedError") || e.HasTag(expr.TagTimeoutError) {
			return true, nil
		}
		m, ok := a[0].(map[string]any)
		if !ok {
			return false, nil
		}
		code, _ := m["code"].(int64)
		for _, c := range codes {
			if code == c {
				return true, nil
			}
		}
		return false, nil
	}
}

// retryPolicies are the named policies usable as `retry: ${…}`.
func retryPolicies() map[string]any {
	policy := func(pred string) map[string]any {
		return map[string]any{
			"predicate":   expr.FuncRef{Name: pred},
			"max_retries": int64(5),
			"backoff":     map[string]any{"initial_delay": int64(1), "max_delay": int64(60), "multiplier": 1.25},
		}
	}
	return map[string]any{
		"http.default_retry":                policy("http.default_retry_predicate"),
		"http.default_retry_non_idempotent": policy("http.default_retry_predicate_non_idempotent"),
	}
}

func stringArg(a map[string]any, name string, required bool) (string, error) {
	v, ok := a[name]
	if !ok || v == nil {
		if required {
			return "", expr.NewError(expr.TagTypeError, "missing argument %q", name)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", expr.NewError(expr.TagTypeError, "argument %q must be a string, got %s", name, expr.TypeName(v))
	}
	return s, nil
}

func sysSleep(ctx context.Context, x *execution, a map[string]any) (any, error) {
	s, ok := toFloat(a["seconds"])
	if !ok || s < 0 {
		return nil, expr.NewError(expr.TagTypeError, "sys.sleep: seconds must be a non-negative number")
	}
	return nil, x.e.clock.Sleep(ctx, time.Duration(s*float64(time.Second)))
}

func sysLog(_ context.Context, x *execution, a map[string]any) (any, error) {
	sev, _ := a["severity"].(string)
	if sev == "" {
		sev = "DEFAULT"
	}
	attrs := []any{"event", "workflow.sys_log", "severity", sev}
	for _, k := range []string{"text", "json", "data"} {
		if v, ok := a[k]; ok {
			if s, isStr := v.(string); isStr {
				attrs = append(attrs, k, s)
				continue
			}
			b, err := json.Marshal(expr.ToJSONable(v))
			if err != nil {
				return nil, expr.NewError(expr.TagValueError, "sys.log: %v", err)
			}
			attrs = append(attrs, k, json.RawMessage(b))
		}
	}
	x.e.log.Info("sys.log", attrs...)
	return nil, nil
}
