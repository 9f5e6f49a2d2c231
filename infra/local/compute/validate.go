package compute

import (
	"fmt"
	"regexp"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// instanceName is Compute's naming rule (RFC 1035 label, at most 63 characters).
var instanceName = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

const imageProject = "projects/confidential-space-images/global/images/"

// validate checks that body describes a Confidential Space VM and extracts what the launcher needs.
func validate(project, zone string, body *computepb.Instance) (VM, *apiError) {
	vm := VM{Project: project, Zone: zone, Name: body.GetName(), Metadata: map[string]string{}}
	if body.Name == nil {
		return vm, badRequest("Invalid value for field 'resource.name': ''. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'")
	}
	if !instanceName.MatchString(vm.Name) {
		return vm, badRequest(fmt.Sprintf("Invalid value for field 'resource.name': '%s'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'", vm.Name))
	}
	cc := body.GetConfidentialInstanceConfig()
	switch t := cc.GetConfidentialInstanceType(); {
	case t == "SEV" || t == "SEV_SNP" || t == "TDX":
		vm.ConfidentialType = t
	case t == "" && cc.GetEnableConfidentialCompute():
		vm.ConfidentialType = "SEV"
	default:
		return vm, badRequest("Invalid value for field 'resource.confidentialInstanceConfig': this local Compute Engine only runs Confidential Space VMs; set confidentialInstanceType to SEV, SEV_SNP or TDX")
	}
	if !body.GetShieldedInstanceConfig().GetEnableSecureBoot() {
		return vm, badRequest("Invalid value for field 'resource.shieldedInstanceConfig.enableSecureBoot': Confidential Space requires secure boot")
	}
	var boot *computepb.AttachedDisk
	for _, d := range body.GetDisks() {
		if d.GetBoot() {
			boot = d
		}
	}
	if boot == nil && len(body.GetDisks()) > 0 {
		boot = body.GetDisks()[0]
	}
	if boot == nil {
		return vm, badRequest("Invalid value for field 'resource.disks': the instance has no boot disk")
	}
	family, ok := imageFamily(boot.GetInitializeParams().GetSourceImage())
	if !ok {
		return vm, badRequest(fmt.Sprintf("Invalid value for field 'resource.disks[0].initializeParams.sourceImage': '%s'. Expected an image of family %s or %s in project confidential-space-images",
			boot.GetInitializeParams().GetSourceImage(), FamilyProduction, FamilyDebug))
	}
	vm.ImageFamily = family
	if family == FamilyProduction && cc.GetConfidentialInstanceType() == "SEV" {
		if p := body.GetScheduling().GetOnHostMaintenance(); p != "" && p != "TERMINATE" && p != "MIGRATE" {
			return vm, badRequest(fmt.Sprintf("Invalid value for field 'resource.scheduling.onHostMaintenance': '%s'", p))
		}
	}
	for i, it := range body.GetMetadata().GetItems() {
		k := it.GetKey()
		if k == "" {
			return vm, badRequest(fmt.Sprintf("Invalid value for field 'resource.metadata.items[%d].key': ''", i))
		}
		if _, dup := vm.Metadata[k]; dup {
			return vm, badRequest(fmt.Sprintf("Duplicate metadata key '%s'", k))
		}
		vm.Metadata[k] = it.GetValue()
	}
	if sas := body.GetServiceAccounts(); len(sas) > 0 {
		vm.ServiceAccount = sas[0].GetEmail()
	}
	return vm, nil
}

// imageFamily accepts projects/confidential-space-images/global/images/family/F and image names
// of either family (confidential-space-YYMMDD / confidential-space-debug-YYMMDD), with or without
// a URL prefix.
func imageFamily(src string) (string, bool) {
	i := strings.Index(src, imageProject)
	if i < 0 {
		return "", false
	}
	rest := src[i+len(imageProject):]
	if f, ok := strings.CutPrefix(rest, "family/"); ok {
		if f == FamilyProduction || f == FamilyDebug {
			return f, true
		}
		return "", false
	}
	switch {
	case strings.HasPrefix(rest, FamilyDebug+"-"):
		return FamilyDebug, true
	case strings.HasPrefix(rest, FamilyProduction+"-"):
		return FamilyProduction, true
	}
	return "", false
}
