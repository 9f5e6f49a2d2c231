package launcher

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// The operator's metadata keys that ask for more than the image's defaults, and the labels by
// which an image allows them (the real launcher's names, launcher/spec). The local launcher
// implements none of these features, but refuses them exactly where the real launcher does, so
// a launch that fails on Google Cloud fails here too.
const (
	KeyMonitoringEnable       = "tee-monitoring-enable"
	KeyMonitoringMemoryEnable = "tee-monitoring-memory-enable"
	KeyMount                  = "tee-mount"
	KeyAddedCapabilities      = "tee-added-capabilities"
	KeyCgroupNS               = "tee-cgroup-ns"

	LabelMonitoringMemoryAllow  = "tee.launch_policy.monitoring_memory_allow"
	LabelHardenedMonitoring     = "tee.launch_policy.hardened_monitoring"
	LabelDebugMonitoring        = "tee.launch_policy.debug_monitoring"
	LabelAllowMountDestinations = "tee.launch_policy.allow_mount_destinations"
	LabelAllowCapabilities      = "tee.launch_policy.allow_capabilities"
	LabelAllowCgroups           = "tee.launch_policy.allow_cgroups"
)

// Monitoring is a health-monitoring preset: what the operator asks for, or what an image allows.
type Monitoring int

// Monitoring presets.
const (
	MonitoringNone Monitoring = iota
	MonitoringMemoryOnly
	MonitoringAll
)

func (m Monitoring) String() string {
	switch m {
	case MonitoringMemoryOnly:
		return "memoryOnly"
	case MonitoringAll:
		return "all"
	}
	return "none"
}

func parseMonitoring(s string) (Monitoring, error) {
	switch strings.ToLower(s) {
	case "none":
		return MonitoringNone, nil
	case "memoryonly":
		return MonitoringMemoryOnly, nil
	case "all":
		return MonitoringAll, nil
	}
	return MonitoringNone, fmt.Errorf("invalid monitoring type %v", s)
}

// parsePrivileges fills the monitoring, mount, capability and cgroup requests of s from md.
func (s *Spec) parsePrivileges(md map[string]string) error {
	mem, memOK := md[KeyMonitoringMemoryEnable]
	mon, monOK := md[KeyMonitoringEnable]
	switch {
	case memOK && monOK:
		return fmt.Errorf("both %v and %v are specified, only one is permitted", KeyMonitoringMemoryEnable, KeyMonitoringEnable)
	case memOK && mem != "":
		on, err := strconv.ParseBool(mem)
		if err != nil {
			return fmt.Errorf("invalid value for %v (not a boolean): %v", KeyMonitoringMemoryEnable, err)
		}
		if on {
			s.Monitoring = MonitoringMemoryOnly
		}
	case monOK && mon != "":
		m, err := parseMonitoring(mon)
		if err != nil {
			return err
		}
		s.Monitoring = m
	}
	if v := md[KeyMount]; v != "" {
		for _, m := range strings.Split(v, ";") {
			dst, err := mountDestination(m)
			if err != nil {
				return err
			}
			s.MountDestinations = append(s.MountDestinations, dst)
		}
	}
	if v := md[KeyAddedCapabilities]; v != "" {
		if err := json.Unmarshal([]byte(v), &s.AddedCapabilities); err != nil {
			return fmt.Errorf("parsing %s as a JSON string array: %w", KeyAddedCapabilities, err)
		}
	}
	if v, ok := md[KeyCgroupNS]; ok {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("invalid value for %v (not a boolean): %v", KeyCgroupNS, err)
		}
		s.CgroupNamespace = on
	}
	return nil
}

// mountDestination parses one tee-mount entry (type=tmpfs,source=tmpfs,destination=/p[,size=N])
// and returns its destination.
func mountDestination(m string) (string, error) {
	opts := map[string]string{}
	for _, o := range strings.Split(m, ",") {
		k, v, ok := strings.Cut(o, "=")
		if !ok || k == "" {
			return "", fmt.Errorf("failed to parse mount option: %q is not KEY=VALUE", o)
		}
		switch k {
		case "type", "source", "destination", "size":
			opts[k] = v
		default:
			return "", fmt.Errorf("found unknown mount option: %v, expect keys of [type source destination size]", o)
		}
	}
	if opts["type"] != "tmpfs" {
		return "", fmt.Errorf("found unknown or unspecified mount type: %v, expect one of types [tmpfs]", strings.Split(m, ","))
	}
	if opts["destination"] == "" {
		return "", fmt.Errorf("mount %q has no destination", m)
	}
	return opts["destination"], nil
}

// parsePrivilegeLabels fills the monitoring, mount, capability and cgroup allowances of p.
func (p *Policy) parsePrivilegeLabels(labels map[string]string) error {
	mem, memOK := labels[LabelMonitoringMemoryAllow]
	hardened, hardenedOK := labels[LabelHardenedMonitoring]
	debug, debugOK := labels[LabelDebugMonitoring]
	p.HardenedMonitoring, p.DebugMonitoring = MonitoringNone, MonitoringMemoryOnly
	switch {
	case memOK && (hardenedOK || debugOK):
		return fmt.Errorf("use either %s or %s/%s in image labels,- not both", LabelMonitoringMemoryAllow, LabelHardenedMonitoring, LabelDebugMonitoring)
	case memOK:
		switch strings.TrimSpace(strings.ToLower(mem)) {
		case "always":
			p.HardenedMonitoring = MonitoringMemoryOnly
		case "never":
			p.DebugMonitoring = MonitoringNone
		case "debugonly":
		default:
			return fmt.Errorf("invalid image LABEL '%s'", LabelMonitoringMemoryAllow)
		}
	default:
		var err error
		if hardenedOK {
			if p.HardenedMonitoring, err = parseMonitoring(hardened); err != nil {
				return fmt.Errorf("invalid monitoring type for hardened image: %v", err)
			}
		}
		if debugOK {
			if p.DebugMonitoring, err = parseMonitoring(debug); err != nil {
				return fmt.Errorf("invalid monitoring type for debug image: %v", err)
			}
		}
	}
	for _, d := range filepath.SplitList(labels[LabelAllowMountDestinations]) {
		if d != "" {
			p.AllowedMountDestinations = append(p.AllowedMountDestinations, filepath.Clean(d))
		}
	}
	for label, dst := range map[string]*bool{LabelAllowCapabilities: &p.AllowCapabilities, LabelAllowCgroups: &p.AllowCgroups} {
		if v, ok := labels[label]; ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("invalid image LABEL '%s' (not a boolean)", label)
			}
			*dst = b
		}
	}
	return nil
}

// verifyPrivileges checks s's monitoring, mount, capability and cgroup requests against p, in
// the real launcher's order and words.
func (p Policy) verifyPrivileges(s Spec, hardened bool) error {
	allowed := p.DebugMonitoring
	if hardened {
		allowed = p.HardenedMonitoring
	}
	switch {
	case allowed == MonitoringMemoryOnly && s.Monitoring == MonitoringAll:
		return errors.New("error verifying monitoring config: spec configured for all monitoring, policy only allows memory")
	case allowed == MonitoringNone && s.Monitoring != MonitoringNone:
		return fmt.Errorf("error verifying monitoring config: spec configured for %v but policy is none", s.Monitoring)
	}
	var errs []error
	for _, dst := range s.MountDestinations {
		errs = append(errs, p.verifyMountDestination(dst))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("destination mount points are not allowed: %v", err)
	}
	if len(s.AddedCapabilities) != 0 && !p.AllowCapabilities {
		return errors.New("additional capabilities are not allowed")
	}
	if s.CgroupNamespace && !p.AllowCgroups {
		return errors.New("cgroups usage is not allowed")
	}
	return nil
}

// verifyMountDestination admits dst when it is one of the allowed destinations or below one.
func (p Policy) verifyMountDestination(dst string) error {
	if !filepath.IsAbs(dst) {
		return fmt.Errorf("received a non-absolute destination path: %v", dst)
	}
	dst = filepath.Clean(dst)
	for _, allowed := range p.AllowedMountDestinations {
		if !filepath.IsAbs(allowed) {
			return fmt.Errorf("received a non-absolute allowed destination path: %v", allowed)
		}
		rel, err := filepath.Rel(allowed, dst)
		if err != nil {
			return err
		}
		if rel != ".." && !strings.HasPrefix(rel, "../") {
			return nil
		}
	}
	return fmt.Errorf("destination mount point %q is invalid: policy only allows mounts in the following paths: %v", dst, p.AllowedMountDestinations)
}
