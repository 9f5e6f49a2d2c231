package batch

import (
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/blob"
)

func TestParseImageRef(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		ref string
		ok  bool
	}{
		{"europe-docker.pkg.dev/p/r/img@sha256:" + hex, true},
		{"127.0.0.1:5000/workloads/infer@sha256:" + hex, true},
		{"europe-docker.pkg.dev/p/r/img:latest", false},
		{"europe-docker.pkg.dev/p/r/img", false},
		{"@sha256:" + hex, false},
		{"img@sha256:" + strings.ToUpper(hex), false},
		{"img@sha256:" + hex[:63], false},
		{"img@sha512:" + hex, false},
		{"img:tag@sha256:" + hex + "@x", false},
		{"img'||true@sha256:" + hex, false},
		{"", false},
	}
	for _, tc := range tests {
		r, err := ParseImageRef(tc.ref)
		if (err == nil) != tc.ok {
			t.Errorf("ParseImageRef(%q) error = %v, want ok=%v", tc.ref, err, tc.ok)
		}
		if tc.ok && r.Digest != "sha256:"+hex {
			t.Errorf("ParseImageRef(%q).Digest = %q", tc.ref, r.Digest)
		}
	}
}

func FuzzParseImageRef(f *testing.F) {
	f.Add("europe-docker.pkg.dev/p/r/img@sha256:" + strings.Repeat("0", 64))
	f.Add("img:latest")
	f.Add("a@b@sha256:")
	f.Fuzz(func(t *testing.T, ref string) {
		r, err := ParseImageRef(ref)
		if err != nil {
			return
		}
		if r.Reference != ref || !strings.HasSuffix(ref, "@"+r.Digest) || checkDigest(r.Digest) != nil {
			t.Fatalf("accepted %q as %+v", ref, r)
		}
	})
}

func TestPinPointer(t *testing.T) {
	hex := strings.Repeat("cd", 32)
	tests := []struct {
		name    string
		content string // "" means absent
		want    string
	}{
		{"pinned", `{"record":"x","digest":"sha256:` + hex + `","image_reference":"reg/w@sha256:` + hex + `"}`, "reg/w@sha256:" + hex},
		{"absent", "", ""},
		{"tag", `{"digest":"sha256:` + hex + `","image_reference":"reg/w:latest"}`, ""},
		{"digest mismatch", `{"digest":"sha256:` + strings.Repeat("00", 32) + `","image_reference":"reg/w@sha256:` + hex + `"}`, ""},
		{"not json", `nope`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := blob.NewMemory()
			if tc.content != "" {
				if _, err := m.Write(t.Context(), "audit", "pins/latest.json", blob.Object{Data: []byte(tc.content)}, blob.Cond{}); err != nil {
					t.Fatal(err)
				}
			}
			bucket, object, err := ParsePinURL("gs://audit/pins/latest.json")
			if err != nil {
				t.Fatal(err)
			}
			r, err := PinPointer{Store: m, Bucket: bucket, Object: object}.WorkloadImage(t.Context())
			if tc.want == "" {
				if err == nil {
					t.Fatalf("accepted: %+v", r)
				}
				return
			}
			if err != nil || r.Reference != tc.want {
				t.Errorf("got %+v, %v; want %s", r, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"audit/pins/latest.json", "gs://audit", "gs:///x", "gs://audit/"} {
		if _, _, err := ParsePinURL(bad); err == nil {
			t.Errorf("ParsePinURL(%q) accepted", bad)
		}
	}
}
