package engine

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/cspipe/cspipe/workflows/expr"
)

// connectors are the googleapis.* call targets in the subset. Like the real connectors they
// authenticate with OAuth2 and the long-running ones wait for their operation by polling.
var connectors = map[string]callable{
	"googleapis.compute.v1.instances.insert": computeInstances("insert"),
	"googleapis.compute.v1.instances.get":    computeInstances("get"),
	"googleapis.compute.v1.instances.delete": computeInstances("delete"),
	"googleapis.storage.v1.objects.insert":   storageInsert,
	"googleapis.storage.v1.objects.get":      storageGet,
	"googleapis.storage.v1.objects.list":     storageList,
}

func computeInstances(method string) callable {
	return func(ctx context.Context, x *execution, a map[string]any) (any, error) {
		project, err := stringArg(a, "project", true)
		if err != nil {
			return nil, err
		}
		zone, err := stringArg(a, "zone", true)
		if err != nil {
			return nil, err
		}
		base := fmt.Sprintf("%s/projects/%s/zones/%s", strings.TrimSuffix(x.e.compute, "/"), url.PathEscape(project), url.PathEscape(zone))
		r := request{oauth2: true, timeout: 300 * time.Second, url: base + "/instances"}
		switch method {
		case "insert":
			body, ok := a["body"]
			if !ok {
				return nil, expr.NewError(expr.TagTypeError, "instances.insert: missing argument \"body\"")
			}
			r.method, r.body, r.hasBody = "POST", body, true
		default:
			inst, err := stringArg(a, "instance", true)
			if err != nil {
				return nil, err
			}
			r.url += "/" + url.PathEscape(inst)
			r.method = map[string]string{"get": "GET", "delete": "DELETE"}[method]
		}
		resp, err := x.do(ctx, r)
		if err != nil {
			return nil, err
		}
		body := resp.(map[string]any)["body"]
		if method == "get" {
			return body, nil
		}
		return x.pollOperation(ctx, base, body, connectorParams(a))
	}
}

type pollParams struct {
	skip                       bool
	timeout                    time.Duration
	initial, multiplier, limit float64
}

func connectorParams(a map[string]any) pollParams {
	p := pollParams{timeout: 1800 * time.Second, initial: 1, multiplier: 1.25, limit: 60}
	cp, _ := a["connector_params"].(map[string]any)
	if cp == nil {
		return p
	}
	p.skip, _ = cp["skip_polling"].(bool)
	if t, ok := toFloat(cp["timeout"]); ok {
		p.timeout = time.Duration(t * float64(time.Second))
	}
	if pp, ok := cp["polling_policy"].(map[string]any); ok {
		for k, dst := range map[string]*float64{"initial_delay": &p.initial, "multiplier": &p.multiplier, "max_delay": &p.limit} {
			if f, ok := toFloat(pp[k]); ok {
				*dst = f
			}
		}
	}
	return p
}

// pollOperation waits for a zonal operation to be DONE and raises OperationError if it failed.
func (x *execution) pollOperation(ctx context.Context, base string, op any, p pollParams) (any, error) {
	deadline := x.e.clock.Now().Add(p.timeout)
	delay := p.initial
	for {
		m, ok := op.(map[string]any)
		if !ok {
			return nil, expr.NewError(expr.TagTypeError, "compute: expected an operation, got %s", expr.TypeName(op))
		}
		if m["status"] == "DONE" || p.skip {
			if e, failed := m["error"]; failed && m["status"] == "DONE" {
				return nil, &expr.Error{Value: map[string]any{
					"tags":      []any{expr.TagOperationError},
					"message":   fmt.Sprintf("operation %v failed: %s", m["name"], firstOpError(e)),
					"operation": m,
				}}
			}
			return m, nil
		}
		if !x.e.clock.Now().Before(deadline) {
			return nil, expr.NewError(expr.TagTimeoutError, "operation %v not done after %s", m["name"], p.timeout)
		}
		if err := x.e.clock.Sleep(ctx, time.Duration(delay*float64(time.Second))); err != nil {
			return nil, err
		}
		delay = min(delay*p.multiplier, p.limit)
		name, _ := m["name"].(string)
		resp, err := x.do(ctx, request{method: "GET", url: base + "/operations/" + url.PathEscape(name), oauth2: true, timeout: 300 * time.Second})
		if err != nil {
			return nil, err
		}
		op = resp.(map[string]any)["body"]
	}
}

func firstOpError(e any) string {
	m, _ := e.(map[string]any)
	errs, _ := m["errors"].([]any)
	if len(errs) > 0 {
		if em, ok := errs[0].(map[string]any); ok {
			return fmt.Sprintf("%v: %v", em["code"], em["message"])
		}
	}
	return "unknown error"
}

// storageQuery copies the optional query parameters the storage connectors accept.
func storageQuery(a map[string]any, names ...string) url.Values {
	q := url.Values{}
	for _, n := range names {
		if v, ok := a[n]; ok && v != nil {
			q.Set(n, scalarString(v))
		}
	}
	return q
}

func storageInsert(ctx context.Context, x *execution, a map[string]any) (any, error) {
	bucket, err := stringArg(a, "bucket", true)
	if err != nil {
		return nil, err
	}
	if ut, _ := a["uploadType"].(string); ut != "media" {
		return nil, expr.NewError(expr.TagValueError, "objects.insert: only uploadType media is supported")
	}
	q := storageQuery(a, "name", "uploadType", "ifGenerationMatch", "ifGenerationNotMatch", "predefinedAcl")
	r := request{
		method: "POST", oauth2: true, timeout: 300 * time.Second, query: q,
		url:  fmt.Sprintf("%s/upload/storage/v1/b/%s/o", strings.TrimSuffix(x.e.storage, "/"), url.PathEscape(bucket)),
		body: a["body"], hasBody: true,
	}
	resp, err := x.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return resp.(map[string]any)["body"], nil
}

func storageGet(ctx context.Context, x *execution, a map[string]any) (any, error) {
	bucket, err := stringArg(a, "bucket", true)
	if err != nil {
		return nil, err
	}
	object, err := stringArg(a, "object", true)
	if err != nil {
		return nil, err
	}
	r := request{
		method: "GET", oauth2: true, timeout: 300 * time.Second, query: storageQuery(a, "alt", "generation"),
		url: fmt.Sprintf("%s/storage/v1/b/%s/o/%s", strings.TrimSuffix(x.e.storage, "/"), url.PathEscape(bucket), url.PathEscape(object)),
	}
	resp, err := x.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return resp.(map[string]any)["body"], nil
}

func storageList(ctx context.Context, x *execution, a map[string]any) (any, error) {
	bucket, err := stringArg(a, "bucket", true)
	if err != nil {
		return nil, err
	}
	r := request{
		method: "GET", oauth2: true, timeout: 300 * time.Second,
		query: storageQuery(a, "prefix", "delimiter", "pageToken", "maxResults"),
		url:   fmt.Sprintf("%s/storage/v1/b/%s/o", strings.TrimSuffix(x.e.storage, "/"), url.PathEscape(bucket)),
	}
	resp, err := x.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return resp.(map[string]any)["body"], nil
}
