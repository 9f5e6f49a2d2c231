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
		{"empty cmd without the label", map[string]string{}, Spec{Cmd: []string{}, LogRedirect: "false"}, true, ""},
		{"cmd without the label", map[string]string{}, Spec{Cmd: []string{"sh"}, LogRedirect: "false"}, true,
			"CMD is not allowed to be overridden on this image"},
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

// TestPrivilegedRequestsRefused: what the operator's metadata can ask for beyond the image's
// defaults (monitoring, tmpfs mounts, capabilities, a cgroup namespace) is refused, in the real
// launcher's words (go-tpm-tools launcher/spec launch_policy.go Verify), unless the image's
// labels allow it. The local launcher implements none of them, but a launch Google's launcher
// refuses must not start here either.
func TestPrivilegedRequestsRefused(t *testing.T) {
	workloadLabels := map[string]string{LabelAllowEnvOverride: "A", LabelLogRedirect: "always", LabelAllowCmdOverride: "false"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range workloadLabels {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name     string
		labels   map[string]string
		md       map[string]string
		hardened bool
		want     string
	}{
		{"memory monitoring on the production image", workloadLabels, map[string]string{KeyMonitoringMemoryEnable: "true"}, true,
			"error verifying monitoring config: spec configured for memoryOnly but policy is none"},
		{"all monitoring on the production image", workloadLabels, map[string]string{KeyMonitoringEnable: "all"}, true,
			"error verifying monitoring config: spec configured for all but policy is none"},
		{"memory monitoring on the debug image", workloadLabels, map[string]string{KeyMonitoringEnable: "memoryonly"}, false, ""},
		{"all monitoring on the debug image", workloadLabels, map[string]string{KeyMonitoringEnable: "all"}, false,
			"error verifying monitoring config: spec configured for all monitoring, policy only allows memory"},
		{"monitoring off", workloadLabels, map[string]string{KeyMonitoringMemoryEnable: "false"}, true, ""},
		{"monitoring the image allows", with(map[string]string{LabelHardenedMonitoring: "memoryonly"}), map[string]string{KeyMonitoringMemoryEnable: "true"}, true, ""},
		{"deprecated label always", with(map[string]string{LabelMonitoringMemoryAllow: "always"}), map[string]string{KeyMonitoringEnable: "memoryonly"}, true, ""},
		{"tmpfs mount", workloadLabels, map[string]string{KeyMount: "type=tmpfs,source=tmpfs,destination=/run/container_launcher"}, true,
			`destination mount points are not allowed: destination mount point "/run/container_launcher" is invalid: policy only allows mounts in the following paths: []`},
		{"tmpfs mount the image allows", with(map[string]string{LabelAllowMountDestinations: "/scratch"}),
			map[string]string{KeyMount: "type=tmpfs,source=tmpfs,destination=/scratch/a,size=1024"}, true, ""},
		{"tmpfs mount outside the allowed path", with(map[string]string{LabelAllowMountDestinations: "/scratch"}),
			map[string]string{KeyMount: "type=tmpfs,source=tmpfs,destination=/scratch/../app"}, true,
			`destination mount points are not allowed: destination mount point "/app" is invalid: policy only allows mounts in the following paths: [/scratch]`},
		{"added capabilities", workloadLabels, map[string]string{KeyAddedCapabilities: `["CAP_SYS_PTRACE"]`}, true, "additional capabilities are not allowed"},
		{"cgroup namespace", workloadLabels, map[string]string{KeyCgroupNS: "true"}, true, "cgroups usage is not allowed"},
		{"capabilities and cgroups the image allows", with(map[string]string{LabelAllowCapabilities: "true", LabelAllowCgroups: "true"}),
			map[string]string{KeyAddedCapabilities: `["CAP_SYS_PTRACE"]`, KeyCgroupNS: "true"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := map[string]string{KeyImageReference: "h/p/r@sha256:00"}
			for k, v := range tt.md {
				md[k] = v
			}
			s, err := ParseSpec(md)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParsePolicy(tt.labels)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if err := p.Verify(s, tt.hardened); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Verify = %q, want %q", got, tt.want)
			}
		})
	}
	for _, md := range []map[string]string{
		{KeyImageReference: "r", KeyMonitoringEnable: "memoryonly", KeyMonitoringMemoryEnable: "true"},
		{KeyImageReference: "r", KeyMonitoringEnable: "some"},
		{KeyImageReference: "r", KeyMonitoringMemoryEnable: "yes please"},
		{KeyImageReference: "r", KeyMount: "type=bind,source=/,destination=/host"},
		{KeyImageReference: "r", KeyMount: "type=tmpfs,source=tmpfs,destination=/a,mode=777"},
		{KeyImageReference: "r", KeyAddedCapabilities: "CAP_SYS_ADMIN"},
		{KeyImageReference: "r", KeyCgroupNS: "maybe"},
	} {
		if _, err := ParseSpec(md); err == nil {
			t.Errorf("ParseSpec(%v) accepted", md)
		}
	}
	for _, labels := range []map[string]string{
		{LabelMonitoringMemoryAllow: "always", LabelHardenedMonitoring: "all"},
		{LabelHardenedMonitoring: "everything"},
		{LabelAllowCapabilities: "yes"},
	} {
		if _, err := ParsePolicy(labels); err == nil {
			t.Errorf("ParsePolicy(%v) accepted", labels)
		}
	}
}
