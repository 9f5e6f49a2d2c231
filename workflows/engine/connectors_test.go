package engine

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/workflows/expr"
	"github.com/cspipe/cspipe/workflows/internal/fakecloud"
)

func fakeAPIs(t *testing.T) (*fakecloud.Compute, *blob.Memory, *httptest.Server) {
	t.Helper()
	c, store := fakecloud.NewCompute(), blob.NewMemory()
	mux := http.NewServeMux()
	mux.Handle("/compute/v1/", c)
	mux.Handle("/", &fakecloud.Storage{Store: store})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return c, store, srv
}

// The connector forms of the calls launch.yaml makes with http.*: insert waits for its
// operation, get returns the instance, delete waits too; storage insert/get/list.
func TestConnectors(t *testing.T) {
	compute, _, srv := fakeAPIs(t)
	got, err := run(t, `
main:
  steps:
    - create:
        call: googleapis.compute.v1.instances.insert
        args:
          project: p
          zone: z
          body:
            name: vm-1
        result: op
    - get:
        call: googleapis.compute.v1.instances.get
        args:
          project: p
          zone: z
          instance: vm-1
        result: vm
    - delete:
        call: googleapis.compute.v1.instances.delete
        args:
          project: p
          zone: z
          instance: vm-1
        result: del
    - put:
        call: googleapis.storage.v1.objects.insert
        args:
          bucket: b
          name: runs/r/summary.json
          uploadType: media
          body:
            status: failed
        result: obj
    - read:
        call: googleapis.storage.v1.objects.get
        args:
          bucket: b
          object: runs/r/summary.json
          alt: media
        result: content
    - list:
        call: googleapis.storage.v1.objects.list
        args:
          bucket: b
          prefix: runs/
        result: listing
    - done:
        return:
          insert: ${op.status}
          vm: ${vm.status}
          delete: ${del.operationType + " " + del.status}
          name: ${obj.name}
          content: ${content}
          listed: ${listing.items[0].name}
`, nil, WithComputeEndpoint(srv.URL+"/compute/v1"), WithStorageEndpoint(srv.URL), WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := map[string]any{
		"insert": "DONE", "vm": "RUNNING", "delete": "delete DONE", "name": "runs/r/summary.json",
		"content": map[string]any{"status": "failed"}, "listed": "runs/r/summary.json",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]string{"vm-1"}, compute.Deleted()); diff != "" {
		t.Errorf("deleted (-want +got)\n%s", diff)
	}
}

func TestConnectorHTTPError(t *testing.T) {
	_, _, srv := fakeAPIs(t)
	_, err := run(t, `
- get:
    call: googleapis.compute.v1.instances.get
    args: {project: p, zone: z, instance: missing}
`, nil, WithComputeEndpoint(srv.URL+"/compute/v1"), WithHTTPClient(srv.Client()))
	var we *expr.Error
	if !errors.As(err, &we) || !we.HasTag(expr.TagHTTPError) || we.Value.(map[string]any)["code"] != int64(404) {
		t.Fatalf("got %v, want an HttpError with code 404", err)
	}
}

type staticToken string

func (s staticToken) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: string(s)}, nil
}

func TestHTTP(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch r.URL.Path {
		case "/flaky":
			if n <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("fine"))
		case "/echo":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Seen-Auth", r.Header.Get("Authorization"))
			b := new(strings.Builder)
			_, _ = b.WriteString(`{"q":"` + r.URL.Query().Get("a") + `","ct":"` + r.Header.Get("Content-Type") + `"}`)
			_, _ = w.Write([]byte(b.String()))
		case "/bin":
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write([]byte{0, 1, 2})
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":{"message":"denied"}}`))
		}
	}))
	defer srv.Close()
	got, err := run(t, `
main:
  params: [base]
  steps:
    - flaky:
        try:
          call: http.get
          args:
            url: ${base + "/flaky"}
          result: r1
        retry: ${http.default_retry}
    - echo:
        call: http.post
        args:
          url: ${base + "/echo"}
          query:
            a: "x y"
          body: {k: 1}
          auth:
            type: OAuth2
        result: r2
    - bin:
        call: http.request
        args:
          method: GET
          url: ${base + "/bin"}
        result: r3
    - denied:
        try:
          call: http.delete
          args:
            url: ${base + "/nope"}
        except:
          as: e
          steps:
            - out:
                return:
                  flaky: ${r1.body}
                  echo: ${r2.body}
                  auth: ${r2.headers["X-Seen-Auth"]}
                  bin: ${get_type(r3.body) + " " + string(len(r3.body))}
                  error: ${[e.code, e.body.error.message, e.tags[0]]}
`, srv.URL, WithTokenSource(staticToken("tok")), WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := map[string]any{
		"flaky": "fine",
		"echo":  map[string]any{"q": "x y", "ct": "application/json"},
		"auth":  "Bearer tok",
		"bin":   "bytes 3",
		"error": []any{int64(403), "denied", "HttpError"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestHTTPConnectionError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := run(t, "main:\n  params: [u]\n  steps:\n    - g:\n        call: http.get\n        args:\n          url: ${u}\n", url)
	var we *expr.Error
	if !errors.As(err, &we) || !we.HasTag(expr.TagConnectionError) {
		t.Fatalf("got %v, want a ConnectionError", err)
	}
}

func TestRetryBackoffUsesClock(t *testing.T) {
	clock := NewFakeClock(time.Unix(0, 0))
	var delays []time.Duration
	clock.OnSleep = func(_ context.Context, d time.Duration) error { delays = append(delays, d); return nil }
	wf, err := Load([]byte(`
- t:
    try:
      raise: {code: 503}
    retry:
      predicate: ${http.default_retry_predicate}
      max_retries: 4
      backoff: {initial_delay: 2, max_delay: 10, multiplier: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(WithClock(clock)).Run(t.Context(), wf, nil)
	var we *expr.Error
	if !errors.As(err, &we) {
		t.Fatalf("got %v, want the raised error after retries", err)
	}
	want := []time.Duration{2 * time.Second, 6 * time.Second, 10 * time.Second, 10 * time.Second}
	if diff := cmp.Diff(want, delays); diff != "" {
		t.Errorf("backoff delays (-want +got)\n%s", diff)
	}
}
