// Package computevms adapts Compute Engine's instances REST API (v1) to batch.VMs: the sweeper
// reads a run's VMs by name and deletes the ones left behind. It speaks plain JSON over HTTP, so
// the same code reaches Google's endpoint and the local stack's Compute stand-in.
package computevms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/cspipe/cspipe/internal/batch"
)

// DefaultEndpoint is Compute Engine's v1 API base.
const DefaultEndpoint = "https://compute.googleapis.com/compute/v1"

// Client reads and deletes the instances of one zone.
type Client struct {
	http     *http.Client
	endpoint string
	project  string
	zone     string
}

var _ batch.VMs = (*Client)(nil)

// New returns a client for project's zone. hc carries the caller's credentials; endpoint is the
// API base (DefaultEndpoint when empty).
func New(hc *http.Client, endpoint, project, zone string) (*Client, error) {
	if hc == nil || project == "" || zone == "" {
		return nil, errors.New("computevms: an HTTP client, a project and a zone are required")
	}
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	return &Client{http: hc, endpoint: strings.TrimSuffix(endpoint, "/"), project: project, zone: zone}, nil
}

// NewDefault is New with Application Default Credentials (compute scope). The credentials are
// looked up at the first call, so a function instance starts (and sweeps storage) even where
// they are missing; each call then fails naming why.
func NewDefault(endpoint, project, zone string) (*Client, error) {
	return New(&http.Client{Transport: &adcTransport{}}, endpoint, project, zone)
}

// adcTransport authorizes requests with Application Default Credentials found on first use.
type adcTransport struct {
	once sync.Once
	rt   http.RoundTripper
	err  error
}

func (t *adcTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.once.Do(func() {
		ts, err := google.DefaultTokenSource(context.Background(), "https://www.googleapis.com/auth/compute")
		if err != nil {
			t.err = fmt.Errorf("computevms: credentials: %w", err)
			return
		}
		t.rt = &oauth2.Transport{Source: ts, Base: http.DefaultTransport}
	})
	if t.err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, t.err
	}
	return t.rt.RoundTrip(r)
}

func (c *Client) instanceURL(name string) string {
	return c.endpoint + "/projects/" + url.PathEscape(c.project) + "/zones/" + url.PathEscape(c.zone) +
		"/instances/" + url.PathEscape(name)
}

// instance is the part of Compute's Instance resource the sweeper reads.
type instance struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	Metadata struct {
		Items []struct {
			Key   string  `json:"key"`
			Value *string `json:"value"`
		} `json:"items"`
	} `json:"metadata"`
}

// Get implements batch.VMs.
func (c *Client) Get(ctx context.Context, name string) (batch.VM, error) {
	body, err := c.do(ctx, http.MethodGet, name)
	if err != nil {
		return batch.VM{}, err
	}
	var in instance
	if err := json.Unmarshal(body, &in); err != nil {
		return batch.VM{}, fmt.Errorf("instance %s: decoding: %w", name, err)
	}
	vm := batch.VM{Name: in.Name, Status: in.Status, Metadata: map[string]string{}}
	for _, it := range in.Metadata.Items {
		if it.Value != nil {
			vm.Metadata[it.Key] = *it.Value
		}
	}
	return vm, nil
}

// Delete implements batch.VMs. It starts the delete and does not wait for its operation: a VM
// still there at the next sweep is deleted again.
func (c *Client) Delete(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodDelete, name)
	return err
}

// maxBody bounds what is read of an answer (an Instance is a few KiB).
const maxBody = 4 << 20

func (c *Client) do(ctx context.Context, method, name string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.instanceURL(name), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s instance %s: %w", strings.ToLower(method), name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s instance %s: reading the answer: %w", strings.ToLower(method), name, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("instance %s: %w", name, batch.ErrVMNotFound)
	case resp.StatusCode/100 != 2:
		return nil, fmt.Errorf("%s instance %s: HTTP %d: %s", strings.ToLower(method), name, resp.StatusCode, googleMessage(body))
	}
	return body, nil
}

// googleMessage is error.message of Google's error body, or the body's start.
func googleMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
