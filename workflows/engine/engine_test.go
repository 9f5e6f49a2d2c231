package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/workflows/expr"
)

func run(t *testing.T, src string, arg any, opts ...Option) (any, error) {
	t.Helper()
	wf, err := Load([]byte(src))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	opts = append([]Option{WithClock(NewFakeClock(time.Unix(1_700_000_000, 0)))}, opts...)
	return New(opts...).Run(t.Context(), wf, arg)
}

func TestRunSyntax(t *testing.T) {
	tests := []struct {
		name string
		src  string
		arg  any
		want any
	}{
		{"simple form returns", `
- a:
    assign:
      - x: 1
      - y: ${x + 1}
- b:
    return: ${y}
`, nil, int64(2)},
		{"params and nested assign", `
main:
  params: [args]
  steps:
    - init:
        assign:
          - m: {}
          - m.a: ${args.v}
          - m["b"]: [1, 2]
          - m.b[1]: 9
          - k: "c"
          - m[k]: ${len(m)}
    - done:
        return: ${m}
`, map[string]any{"v": "x"}, map[string]any{"a": "x", "b": []any{int64(1), int64(9)}, "c": int64(2)}},
		{"switch next and fallthrough", `
main:
  params: [n]
  steps:
    - s:
        switch:
          - condition: ${n > 10}
            next: big
          - condition: ${n > 5}
            return: "medium"
        next: small
    - big:
        return: "big"
    - small:
        return: "small"
`, int64(7), "medium"},
		{"for in with break and continue, loop vars are local", `
main:
  steps:
    - init:
        assign:
          - total: 0
    - loop:
        for:
          value: v
          index: i
          in: [1, 2, 3, 4, 5]
          steps:
            - skip_even:
                switch:
                  - condition: ${v % 2 == 0}
                    next: continue
            - stop:
                switch:
                  - condition: ${v == 5}
                    next: break
            - add:
                assign:
                  - total: ${total + v * 10 + i}
                  - local: 1
    - done:
        try:
          return: ${[total, local]}
        except:
          as: e
          steps:
            - r:
                return: ${[total, e.tags[0]]}
`, nil, []any{int64(42), "KeyError"}},
		{"range is inclusive", `
main:
  steps:
    - init:
        assign:
          - l: []
    - loop:
        for:
          value: i
          range: [2, 4]
          steps:
            - add:
                assign:
                  - l: ${list.concat(l, i)}
    - done:
        return: ${l}
`, nil, []any{int64(2), int64(3), int64(4)}},
		{"next jumps back (a loop) and nested steps jump out", `
main:
  steps:
    - init:
        assign:
          - n: 0
    - again:
        assign:
          - n: ${n + 1}
    - check:
        steps:
          - inner:
              switch:
                - condition: ${n < 3}
                  next: again
    - done:
        return: ${n}
`, nil, int64(3)},
		{"subworkflow with default params", `
main:
  steps:
    - c:
        call: add
        args:
          a: 5
        result: r
    - done:
        return: ${r}
add:
  params: [a, b: 10]
  steps:
    - r:
        return: ${a + b}
`, nil, int64(15)},
		{"parallel branches share declared variables", `
main:
  steps:
    - init:
        assign:
          - out: {}
    - par:
        parallel:
          shared: [out]
          branches:
            - one:
                steps:
                  - a:
                      assign:
                        - out.one: 1
            - two:
                steps:
                  - b:
                      assign:
                        - out.two: 2
    - done:
        return: ${out}
`, nil, map[string]any{"one": int64(1), "two": int64(2)}},
		{"parallel for", `
main:
  steps:
    - init:
        assign:
          - out: {}
    - par:
        parallel:
          shared: [out]
          concurrency_limit: 2
          for:
            value: i
            range: [0, 9]
            steps:
              - a:
                  assign:
                    - out[string(i)]: ${i * i}
    - done:
        return: ${out["9"] + len(out)}
`, nil, int64(91)},
		{"except catches a KeyError with its tags", `
main:
  steps:
    - t:
        try:
          steps:
            - bad:
                assign:
                  - x: ${{}.missing}
        except:
          as: e
          steps:
            - r:
                return: ${e.tags}
`, nil, []any{"KeyError"}},
		{"retry with a subworkflow predicate, then except", `
main:
  steps:
    - init:
        assign:
          - attempts: 0
    - t:
        try:
          steps:
            - count:
                assign:
                  - attempts: ${attempts + 1}
            - fail:
                raise: {code: 503, message: "unavailable"}
        retry:
          predicate: ${transient}
          max_retries: 3
          backoff: {initial_delay: 1, max_delay: 5, multiplier: 2}
        except:
          as: e
          steps:
            - r:
                return: ${[attempts, e.code]}
transient:
  params: [e]
  steps:
    - check:
        return: ${e.code == 503}
`, nil, []any{int64(4), int64(503)}},
		{"retry stops when the predicate says no", `
main:
  steps:
    - init:
        assign:
          - attempts: 0
    - t:
        try:
          steps:
            - count:
                assign:
                  - attempts: ${attempts + 1}
            - fail:
                raise: {code: 404, tags: ["HttpError"]}
        retry: ${http.default_retry}
        except:
          as: e
          steps:
            - r:
                return: ${attempts}
`, nil, int64(1)},
		{"raise a string", `
main:
  steps:
    - t:
        try:
          raise: "plain"
        except:
          as: e
          steps:
            - r:
                return: ${e}
`, nil, "plain"},
		{"sys.sleep and sys.now use the clock", `
main:
  steps:
    - a:
        assign:
          - t0: ${sys.now()}
    - s:
        call: sys.sleep
        args:
          seconds: 3600
    - r:
        return: ${sys.now() - t0}
`, nil, 3600.0},
		{"next end returns null", `
main:
  steps:
    - a:
        next: end
    - b:
        return: 1
`, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, tt.src, tt.arg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name, src, tag string
	}{
		{"unhandled raise", "- a:\n    raise: {tags: [\"MyError\"], message: m}\n", "MyError"},
		{"index error", "- a:\n    return: ${[1][5]}\n", expr.TagIndexError},
		{"non-shared parallel write", `
main:
  steps:
    - init:
        assign:
          - x: 0
    - p:
        parallel:
          branches:
            - b:
                steps:
                  - w:
                      assign:
                        - x: 1
`, expr.TagValueError},
		{"recursion", "main:\n  steps:\n    - c:\n        call: main\n", expr.TagRecursionError},
		{"branch error propagates", `
main:
  steps:
    - p:
        parallel:
          branches:
            - b1:
                steps:
                  - r:
                      raise: {tags: ["Boom"]}
            - b2:
                steps:
                  - s:
                      call: sys.sleep
                      args: {seconds: 10}
`, "Boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(t, tt.src, nil)
			var we *expr.Error
			if !errors.As(err, &we) || !we.HasTag(tt.tag) {
				t.Fatalf("got %v, want a %s", err, tt.tag)
			}
		})
	}
}

func TestLoadRefusesUnsupported(t *testing.T) {
	tests := []struct {
		name, src, wantLine, wantConstruct string
	}{
		{"unknown call", "- a:\n    call: googleapis.run.v1.namespaces.jobs.run\n", "line 2", "googleapis.run.v1"},
		{"unknown step field", "- a:\n    assign:\n      - x: 1\n    timeout: 5\n", "line 4", "timeout"},
		{"unknown expression function", "- a:\n    return: ${uuid.generate()}\n", "line 2", "uuid.generate"},
		{"bad next", "- a:\n    next: nowhere\n", "line 2", "nowhere"},
		{"break outside loop", "- a:\n    next: break\n", "line 2", "break"},
		{"bad expression", "- a:\n    return: ${1 +}\n", "line 2", "expression"},
		{"no main", "other:\n  steps:\n    - a:\n        return: 1\n", "line 1", "main"},
		{"unhandled policy (Google supports only continueAll)", "- p:\n    parallel:\n      exception_policy: unhandled\n      branches:\n        - b:\n            steps:\n              - a:\n                  return: 1\n", "line 3", "continueAll"},
		{"two kinds", "- a:\n    assign:\n      - x: 1\n    return: 1\n", "line 2", "combines"},
		{"subworkflow in expression", "main:\n  steps:\n    - a:\n        return: ${helper()}\nhelper:\n  steps:\n    - r:\n        return: 1\n", "line 4", "helper"},
		{"retry field", "- t:\n    try:\n      return: 1\n    retry:\n      predicate: ${http.default_retry_predicate}\n      max_retries: 1\n      jitter: 2\n", "line 5", "jitter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(tt.src))
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load: got %v, want a LoadError", err)
			}
			if !strings.Contains(err.Error(), tt.wantLine) || !strings.Contains(err.Error(), tt.wantConstruct) {
				t.Errorf("error %q does not name %s and %s", err, tt.wantLine, tt.wantConstruct)
			}
		})
	}
}

func TestCancelRunsHandler(t *testing.T) {
	wf, err := Load([]byte(`
main:
  params: [args]
  steps:
    - wait:
        call: sys.sleep
        args: {seconds: 100}
on_cancel:
  params: [args]
  steps:
    - note:
        call: sys.log
        args:
          text: ${"cleanup " + args.id}
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	clock := NewFakeClock(time.Unix(0, 0))
	handled := make(chan struct{})
	clock.OnSleep = func(c context.Context, _ time.Duration) error {
		cancel()
		<-c.Done()
		return c.Err()
	}
	h := &recordHandler{done: handled}
	_, err = New(WithClock(clock), WithLogger(newSlog(h))).Run(ctx, wf, map[string]any{"id": "r1"})
	if !errors.Is(err, ErrCancelled) {
		t.Fatalf("Run: got %v, want ErrCancelled", err)
	}
	select {
	case <-handled:
	default:
		t.Fatal("on_cancel did not run")
	}
	if got := h.text(); got != "cleanup r1" {
		t.Errorf("on_cancel logged %q", got)
	}
}

func TestGetEnv(t *testing.T) {
	got, err := run(t, `
- a:
    call: sys.get_env
    args:
      name: GOOGLE_CLOUD_PROJECT_ID
    result: p
- b:
    return: ${[p, sys.get_env("UNSET", "fallback"), sys.get_env("UNSET")]}
`, nil, WithEnv(map[string]string{"GOOGLE_CLOUD_PROJECT_ID": "proj"}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"proj", "fallback", nil}, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}
