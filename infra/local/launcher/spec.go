package launcher

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Metadata keys the launcher reads (the real launcher's names).
const (
	KeyImageReference = "tee-image-reference"
	KeyRestartPolicy  = "tee-restart-policy"
	KeyLogRedirect    = "tee-container-log-redirect"
	KeyCmd            = "tee-cmd"
	KeyEnvPrefix      = "tee-env-"
)

// Image label names of the launch policy.
const (
	LabelAllowEnvOverride = "tee.launch_policy.allow_env_override"
	LabelLogRedirect      = "tee.launch_policy.log_redirect"
	LabelAllowCmdOverride = "tee.launch_policy.allow_cmd_override"
)

// Spec is the operator's launch request, parsed once from instance metadata.
type Spec struct {
	ImageReference string
	RestartPolicy  string // Never (default), Always, OnFailure
	// LogRedirect is true, cloud_logging, serial or false (default).
	LogRedirect string
	Env         map[string]string // from tee-env-*
	Cmd         []string          // from tee-cmd; nil if not set

	// Requests the local launcher does not implement but checks against the image's labels
	// (privileges.go): tee-monitoring-enable / tee-monitoring-memory-enable, tee-mount,
	// tee-added-capabilities, tee-cgroup-ns.
	Monitoring        Monitoring
	MountDestinations []string
	AddedCapabilities []string
	CgroupNamespace   bool
}

// Redirects reports whether container logs leave the VM.
func (s Spec) Redirects() bool { return s.LogRedirect != "false" }

// ParseSpec reads the launch spec from metadata, with the real launcher's error texts where known.
func ParseSpec(md map[string]string) (Spec, error) {
	s := Spec{ImageReference: md[KeyImageReference], Env: map[string]string{}}
	if s.ImageReference == "" {
		return s, errors.New("tee-image-reference is not specified in the custom metadata")
	}
	switch p := md[KeyRestartPolicy]; p {
	case "":
		s.RestartPolicy = "Never"
	case "Always", "OnFailure", "Never":
		s.RestartPolicy = p
	default:
		return s, fmt.Errorf("invalid restart policy %q: must be Always, OnFailure or Never", p)
	}
	switch r := md[KeyLogRedirect]; r {
	case "":
		s.LogRedirect = "false"
	case "true", "cloud_logging", "serial", "false":
		s.LogRedirect = r
	default:
		return s, fmt.Errorf("invalid %s value %q: must be true, cloud_logging, serial or false", KeyLogRedirect, r)
	}
	if c, ok := md[KeyCmd]; ok && c != "" { // an empty tee-cmd is ignored, as by the real launcher
		if err := json.Unmarshal([]byte(c), &s.Cmd); err != nil {
			return s, fmt.Errorf("parsing %s as a JSON string array: %w", KeyCmd, err)
		}
		if s.Cmd == nil {
			s.Cmd = []string{}
		}
	}
	if err := s.parsePrivileges(md); err != nil {
		return s, err
	}
	for k, v := range md {
		if name, ok := strings.CutPrefix(k, KeyEnvPrefix); ok {
			if name == "" {
				return s, fmt.Errorf("metadata key %q names no env var", k)
			}
			s.Env[name] = v
		}
	}
	return s, nil
}

// Policy is the image's launch policy, from its labels.
type Policy struct {
	AllowedEnvOverride []string
	AllowCmdOverride   bool
	// LogRedirect is always, never or debugonly (default).
	LogRedirect string

	// HardenedMonitoring and DebugMonitoring are the monitoring presets allowed on the
	// production and debug image families (defaults none and memoryOnly).
	HardenedMonitoring, DebugMonitoring Monitoring
	AllowedMountDestinations            []string
	AllowCapabilities, AllowCgroups     bool
}

// ParsePolicy reads the launch policy labels.
func ParsePolicy(labels map[string]string) (Policy, error) {
	p := Policy{LogRedirect: "debugonly"}
	if v := labels[LabelAllowEnvOverride]; v != "" {
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				p.AllowedEnvOverride = append(p.AllowedEnvOverride, n)
			}
		}
	}
	switch v := labels[LabelAllowCmdOverride]; v {
	case "", "false":
	case "true":
		p.AllowCmdOverride = true
	default:
		return p, fmt.Errorf("invalid image LABEL %s=%q: must be true or false", LabelAllowCmdOverride, v)
	}
	switch v := labels[LabelLogRedirect]; v {
	case "":
	case "always", "never", "debugonly":
		p.LogRedirect = v
	default:
		return p, fmt.Errorf("invalid image LABEL %s=%q: must be always, never or debugonly", LabelLogRedirect, v)
	}
	if err := p.parsePrivilegeLabels(labels); err != nil {
		return p, err
	}
	return p, nil
}

// Verify checks the operator's spec against the image's policy, as the launcher does before it
// starts a container. hardened is true for the production image family.
func (p Policy) Verify(s Spec, hardened bool) error {
	names := make([]string, 0, len(s.Env))
	for n := range s.Env {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !slices.Contains(p.AllowedEnvOverride, n) {
			return fmt.Errorf("env var %s is not allowed to be overridden on this image; allowed envs to be overridden: %v", n, p.AllowedEnvOverride)
		}
	}
	if len(s.Cmd) > 0 && !p.AllowCmdOverride {
		return errors.New("CMD is not allowed to be overridden on this image")
	}
	if s.Redirects() {
		switch {
		case p.LogRedirect == "never":
			return errors.New("logging redirection not allowed by image")
		case p.LogRedirect == "debugonly" && hardened:
			return errors.New("logging redirection only allowed on debug environment by image")
		}
	}
	return p.verifyPrivileges(s, hardened)
}
