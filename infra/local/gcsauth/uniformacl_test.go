package gcsauth

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Every bucket of the deployment has uniform bucket-level access, which refuses ACL requests
// with 400. fake-gcs-server knew no XML ?acl: a bucket's ACL read answered with the object
// listing and an object's with the object's data.
func TestXMLACLRequestsRefused(t *testing.T) {
	s, ids := setup(t)
	c := client(t, s, ids, owner)
	if _, err := write(t.Context(), c.Bucket("models").Object("a.txt"), []byte("v1"), 0); err != nil {
		t.Fatal(err)
	}
	tok := ids.MintAccessToken(owner)
	for _, tc := range []struct {
		name, method, path, body string
		as                       string
		want                     int
		msg                      string
	}{
		{"bucket acl get", http.MethodGet, "/models?acl", "", admin, http.StatusBadRequest, "for a bucket that has uniform bucket-level access"},
		{"object acl get", http.MethodGet, "/models/a.txt?acl", "", owner, http.StatusBadRequest, "for an object when uniform bucket-level access is enabled"},
		{"object acl put", http.MethodPut, "/models/a.txt?acl", "<AccessControlList/>", owner, http.StatusBadRequest, "uniform bucket-level access"},
		{"object acl get, invalid token", http.MethodGet, "/models/a.txt?acl", "", "invalid token", http.StatusUnauthorized, ""},
		{"bucket acl get, missing bucket", http.MethodGet, "/nope?acl", "", owner, http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, s.URL()+tc.path, strings.NewReader(tc.body))
			switch tc.as {
			case owner:
				req.Header.Set("Authorization", "Bearer "+tok)
			case admin:
				req.Header.Set("Authorization", "Bearer "+ids.MintAccessToken(admin))
			default:
				req.Header.Set("Authorization", "Bearer invalid")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want || !strings.Contains(string(b), tc.msg) {
				t.Errorf("%s %s: %d %s; want %d with %q", tc.method, tc.path, resp.StatusCode, b, tc.want, tc.msg)
			}
		})
	}
	if got, err := read(t.Context(), c.Bucket("models").Object("a.txt")); err != nil || string(got) != "v1" {
		t.Errorf("object after the refused ACL put = %q, %v; want v1", got, err)
	}
}

// gsutil acl get in its XML mode (the only one that reaches the stack): an object's ACL read
// fails with the uniform-access refusal. (For a bucket gsutil's XML mode fails by itself with
// "'BotoTranslation' object has no attribute 'ListBucketAccessControls'" and sends no request.)
func TestGsutilACLGetRefused(t *testing.T) {
	if _, err := exec.LookPath("gsutil"); err != nil {
		t.Skip("gsutil is not installed: this check needs the Google Cloud SDK's gsutil")
	}
	s := cliServer(t)
	seed(t, s, "a.txt")
	host, port, _ := net.SplitHostPort(s.Host())
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := cli(ctx, []string{"BOTO_CONFIG=" + os.DevNull}, "gsutil", "-o", "GSUtil:prefer_api=xml", "-o", "Credentials:gs_host="+host,
		"-o", "Credentials:gs_port="+port, "-o", "Boto:is_secure=False", "acl", "get", "gs://models/a.txt")
	if err == nil || !strings.Contains(out, "uniform bucket-level access") {
		t.Errorf("gsutil acl get gs://models/a.txt: %v\n%s\nwant a failure naming uniform bucket-level access", err, out)
	}
}
