package launcher

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSpec(t *testing.T) {
	got, err := ParseSpec(map[string]string{
		KeyImageReference: "h/p/r@sha256:00", "tee-env-A": "1", "tee-env-B": "x=y", KeyCmd: `["a","b"]`, "other": "v",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{ImageReference: "h/p/r@sha256:00", RestartPolicy: "Never", LogRedirect: "false",
		Env: map[string]string{"A": "1", "B": "x=y"}, Cmd: []string{"a", "b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, md := range []map[string]string{
		{KeyImageReference: "r", KeyLogRedirect: "yes"},
		{KeyImageReference: "r", KeyCmd: "sh"},
		{KeyImageReference: "r", "tee-env-": "x"},
	} {
		if _, err := ParseSpec(md); err == nil {
			t.Errorf("ParseSpec(%v) accepted", md)
		}
	}
}

func TestPolicyVerify(t *testing.T) {
	tests := []struct {
		name     string
		labels   map[string]string
		spec     Spec
		hardened bool
		want     string
	}{
		{"allowed", map[string]string{LabelAllowEnvOverride: "A,B", LabelLogRedirect: "always"},
			Spec{Env: map[string]string{"A": "1"}, LogRedirect: "true"}, true, ""},
		{"no redirect on hardened debugonly", map[string]string{}, Spec{LogRedirect: "false"}, true, ""},
		{"redirect never", map[string]string{LabelLogRedirect: "never"}, Spec{LogRedirect: "serial"}, false, "logging redirection not allowed by image"},
		{"debugonly on debug", map[string]string{}, Spec{LogRedirect: "true"}, false, ""},
		{"cmd allowed", map[string]string{LabelAllowCmdOverride: "true"}, Spec{Cmd: []string{}, LogRedirect: "false"}, true, ""},
		{"env not listed", map[string]string{LabelAllowEnvOverride: "A"}, Spec{Env: map[string]string{"Z": "1"}, LogRedirect: "false"}, true,
			"env var Z is not allowed to be overridden on this image; allowed envs to be overridden: [A]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy(tt.labels)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Verify(tt.spec, tt.hardened)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Verify = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := ParsePolicy(map[string]string{LabelLogRedirect: "sometimes"}); err == nil {
		t.Error("bad log_redirect label accepted")
	}
}
