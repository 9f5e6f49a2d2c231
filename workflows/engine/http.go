package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cspipe/cspipe/workflows/expr"
)

// maxResponseBytes bounds a response body (Workflows' own limit is 2 MB of variables).
const maxResponseBytes = 32 << 20

// request is one outgoing HTTP call.
type request struct {
	method  string
	url     string
	query   url.Values
	headers map[string]string
	body    any
	hasBody bool
	oauth2  bool
	timeout time.Duration
}

func httpMethod(method string) callable {
	return func(ctx context.Context, x *execution, a map[string]any) (any, error) {
		r := request{method: strings.ToUpper(method), timeout: 300 * time.Second}
		for k := range a {
			switch k {
			case "url", "method", "headers", "query", "body", "auth", "timeout":
			default:
				return nil, expr.NewError(expr.TagTypeError, "http: unsupported argument %q", k)
			}
		}
		var err error
		if r.url, err = stringArg(a, "url", true); err != nil {
			return nil, err
		}
		if method == "" {
			m, err := stringArg(a, "method", true)
			if err != nil {
				return nil, err
			}
			r.method = strings.ToUpper(m)
		}
		if h, ok := a["headers"].(map[string]any); ok {
			r.headers = map[string]string{}
			for k, v := range h {
				r.headers[k] = scalarString(v)
			}
		}
		if q, ok := a["query"].(map[string]any); ok {
			r.query = url.Values{}
			for k, v := range q {
				if l, isList := v.([]any); isList {
					for _, e := range l {
						r.query.Add(k, scalarString(e))
					}
					continue
				}
				r.query.Set(k, scalarString(v))
			}
		}
		r.body, r.hasBody = a["body"]
		if auth, ok := a["auth"].(map[string]any); ok {
			switch auth["type"] {
			case "OAuth2":
				r.oauth2 = true
			default:
				return nil, expr.NewError(expr.TagValueError, "http: auth type %v is not supported (only OAuth2)", auth["type"])
			}
		}
		if t, ok := toFloat(a["timeout"]); ok {
			r.timeout = time.Duration(t * float64(time.Second))
		}
		for _, rw := range x.e.rewrites {
			if strings.HasPrefix(r.url, rw.From) {
				r.url = rw.To + strings.TrimPrefix(r.url, rw.From)
				break
			}
		}
		return x.do(ctx, r)
	}
}

func scalarString(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case int64:
		return strconv.FormatInt(s, 10)
	case float64:
		return expr.FormatDouble(s)
	case bool:
		return strconv.FormatBool(s)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// do sends r and returns the Workflows response map {code, headers, body}, or raises HttpError
// for a status of 400 or more, ConnectionError or TimeoutError for transport failures.
func (x *execution) do(ctx context.Context, r request) (any, error) {
	u, err := url.Parse(r.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, expr.NewError(expr.TagValueError, "http: invalid url %q", r.url)
	}
	if r.query != nil {
		q := u.Query()
		for k, vs := range r.query {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	var body io.Reader
	contentType := ""
	if r.hasBody && r.body != nil {
		switch b := r.body.(type) {
		case []byte:
			body = bytes.NewReader(b)
		case string:
			body, contentType = strings.NewReader(b), "text/plain; charset=utf-8"
		default:
			enc, err := expr.EncodeJSON(b)
			if err != nil {
				return nil, err
			}
			body, contentType = bytes.NewReader(enc), "application/json"
		}
	}
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, r.method, u.String(), body)
	if err != nil {
		return nil, expr.NewError(expr.TagValueError, "http: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	if r.oauth2 && x.e.tokens != nil {
		tok, err := x.e.tokens.Token()
		if err != nil {
			return nil, expr.NewError(expr.TagConnectionError, "http: getting an OAuth2 token: %v", err)
		}
		tok.SetAuthHeader(req)
	}
	resp, err := x.e.httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // cancellation is not a catchable workflow error
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return nil, expr.NewError(expr.TagTimeoutError, "http: %s %s: timed out", r.method, u.Redacted())
		}
		return nil, &expr.Error{Value: map[string]any{
			"tags":    []any{expr.TagConnectionError, "ConnectionFailedError"},
			"message": fmt.Sprintf("http: %s %s: %v", r.method, u.Redacted(), err),
		}}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, expr.NewError(expr.TagConnectionError, "http: reading the response: %v", err)
	}
	if len(raw) > maxResponseBytes {
		return nil, expr.NewError(expr.TagValueError, "http: response larger than %d bytes", maxResponseBytes)
	}
	headers := map[string]any{}
	for k, v := range resp.Header {
		headers[k] = strings.Join(v, ", ")
	}
	out := map[string]any{"code": int64(resp.StatusCode), "headers": headers, "body": decodeBody(resp.Header.Get("Content-Type"), raw)}
	if resp.StatusCode >= 400 {
		out["tags"] = []any{expr.TagHTTPError}
		out["message"] = fmt.Sprintf("HTTP server responded with error code %d", resp.StatusCode)
		return nil, &expr.Error{Value: out}
	}
	return out, nil
}

// decodeBody turns a response body into a value: JSON is parsed, text is a string, anything
// else stays bytes.
func decodeBody(contentType string, raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		if v, err := expr.DecodeJSON(raw); err == nil {
			return v
		}
		return string(raw)
	case strings.HasPrefix(mt, "text/"):
		return string(raw)
	}
	return raw
}
