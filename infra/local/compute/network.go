package compute

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// Network is a VPC network the local Compute Engine knows. Instances may only use networks and
// subnetworks that exist, as on Google Cloud.
type Network struct {
	// Project owning the network; "" means every project has it (like the default network a
	// new project gets).
	Project string
	Name    string
	// Auto is an auto-mode network: it has a subnetwork named like the network in every region,
	// with Private Google Access off (Google's default).
	Auto bool
	// Subnetworks of a custom-mode network (and any extra of an auto-mode one).
	Subnetworks []Subnetwork
}

// Subnetwork is a regional subnetwork.
type Subnetwork struct {
	Region, Name string
	// PrivateGoogleAccess lets VMs without an external IP reach Google's APIs (and Artifact
	// Registry, where the launcher pulls the workload image).
	PrivateGoogleAccess bool
}

// DefaultNetworks is what a project has unless the organisation policy
// compute.skipDefaultNetworkCreation removed it: the auto-mode "default" network.
func DefaultNetworks() []Network { return []Network{{Name: "default", Auto: true}} }

// Partial or full resource URLs: [https://…/compute/v1/][projects/P/]global/networks/N and
// [https://…/compute/v1/][projects/P/]regions/R/subnetworks/S.
var (
	networkURL    = regexp.MustCompile(`^(?:https?://[^/]+/compute/v1/)?(?:projects/([^/]+)/)?global/networks/([^/]+)$`)
	subnetworkURL = regexp.MustCompile(`^(?:https?://[^/]+/compute/v1/)?(?:projects/([^/]+)/)?regions/([^/]+)/subnetworks/([^/]+)$`)
)

// regionOf is the region of a zone (europe-west4-a → europe-west4).
func regionOf(zone string) string {
	if i := strings.LastIndex(zone, "-"); i > 0 {
		return zone[:i]
	}
	return zone
}

// checkNetwork resolves the instance's first network interface against the known networks,
// refusing what Compute refuses with its words, and records on vm whether the VM can reach
// Google's APIs.
func (s *Server) checkNetwork(project, zone string, body *computepb.Instance, vm *VM) *apiError {
	nics := body.GetNetworkInterfaces()
	if len(nics) == 0 {
		vm.Isolated = true // no network at all: the launcher cannot pull anything
		return nil
	}
	nic := nics[0]
	netProject, netName := project, "default"
	if n := nic.GetNetwork(); n != "" {
		m := networkURL.FindStringSubmatch(n)
		if m == nil {
			return badRequest(fmt.Sprintf("Invalid value for field 'resource.networkInterfaces[0].network': '%s'. The URL is malformed.", n))
		}
		if m[1] != "" {
			netProject = m[1]
		}
		netName = m[2]
	}
	var subProject, subRegion, subName string
	if sn := nic.GetSubnetwork(); sn != "" {
		m := subnetworkURL.FindStringSubmatch(sn)
		if m == nil {
			return badRequest(fmt.Sprintf("Invalid value for field 'resource.networkInterfaces[0].subnetwork': '%s'. The URL is malformed.", sn))
		}
		subProject, subRegion, subName = project, m[2], m[3]
		if m[1] != "" {
			subProject = m[1]
		}
		if nic.GetNetwork() == "" {
			netProject = subProject // the network is the subnetwork's
		}
	}
	network, ok := s.findNetwork(netProject, netName)
	if !ok {
		return notFound(fmt.Sprintf("The resource 'projects/%s/global/networks/%s' was not found", netProject, netName))
	}
	var sub Subnetwork
	switch {
	case subName == "" && !network.Auto:
		return badRequest("Invalid value for field 'resource.networkInterfaces[0]': ''. Subnetwork should be specified for custom subnetmode network")
	case subName == "":
		sub = Subnetwork{Region: regionOf(zone), Name: network.Name}
	default:
		if subRegion != regionOf(zone) {
			return badRequest(fmt.Sprintf("Invalid value for field 'resource.networkInterfaces[0].subnetwork': '%s'. Subnetwork must be in the same region as the instance (%s).", nic.GetSubnetwork(), regionOf(zone)))
		}
		found := false
		if nic.GetNetwork() == "" {
			// Only the subnetwork was named: find the network that holds it.
			for _, n := range s.networks() {
				if (n.Project == "" || n.Project == subProject) && hasSubnet(n, subRegion, subName) {
					network, found = n, true
				}
			}
		} else {
			found = subProject == netProject && hasSubnet(network, subRegion, subName)
		}
		if !found {
			return notFound(fmt.Sprintf("The resource 'projects/%s/regions/%s/subnetworks/%s' was not found", subProject, subRegion, subName))
		}
		sub = subnet(network, subRegion, subName)
	}
	vm.Network = fmt.Sprintf("projects/%s/global/networks/%s", netProject, network.Name)
	vm.Subnetwork = fmt.Sprintf("projects/%s/regions/%s/subnetworks/%s", netProject, sub.Region, sub.Name)
	vm.ExternalIP = len(nic.GetAccessConfigs()) > 0
	vm.Isolated = !vm.ExternalIP && !sub.PrivateGoogleAccess
	return nil
}

func (s *Server) networks() []Network {
	if s.opts.Networks == nil {
		return DefaultNetworks()
	}
	return s.opts.Networks
}

func (s *Server) findNetwork(project, name string) (Network, bool) {
	i := slices.IndexFunc(s.networks(), func(n Network) bool { return n.Name == name && (n.Project == "" || n.Project == project) })
	if i < 0 {
		return Network{}, false
	}
	return s.networks()[i], true
}

func hasSubnet(n Network, region, name string) bool {
	return (n.Auto && name == n.Name) || slices.ContainsFunc(n.Subnetworks, func(s Subnetwork) bool { return s.Region == region && s.Name == name })
}

func subnet(n Network, region, name string) Subnetwork {
	for _, s := range n.Subnetworks {
		if s.Region == region && s.Name == name {
			return s
		}
	}
	return Subnetwork{Region: region, Name: name} // an auto-mode subnetwork
}
