package terraform_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The permissions each Compute call the launch workflow makes needs: instances.insert with what
// the body sets (boot disk, metadata, service account, network or subnetwork, external IP).
var computeCallPermissions = []struct {
	method string
	url    *regexp.Regexp // matched against the url expression's text
	perms  []string
}{
	{"post", regexp.MustCompile(`"/instances"\}$`), []string{
		"compute.instances.create", "compute.disks.create", "compute.instances.setMetadata",
		"compute.instances.setServiceAccount", "compute.networks.use", "compute.networks.useExternalIp",
		"compute.subnetworks.use", "compute.subnetworks.useExternalIp"}},
	{"get", regexp.MustCompile(`"/instances/" \+ name\}$`), []string{"compute.instances.get"}},
	{"delete", regexp.MustCompile(`"/instances/" \+ name\}$`), []string{"compute.instances.delete", "compute.disks.delete"}},
	{"get", regexp.MustCompile(`"/operations/" \+ op\.name\}$`), []string{"compute.zoneOperations.get"}},
}

// httpCalls finds every `call: http.<method>` step in a workflow with its args.url text.
func httpCalls(n *yaml.Node, out *[][2]string) {
	if n.Kind == yaml.MappingNode {
		var call, url string
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			if k == "call" && strings.HasPrefix(v.Value, "http.") {
				call = strings.TrimPrefix(v.Value, "http.")
			}
			if k == "args" && v.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(v.Content); j += 2 {
					if v.Content[j].Value == "url" {
						url = v.Content[j+1].Value
					}
				}
			}
		}
		if call != "" {
			*out = append(*out, [2]string{call, url})
		}
	}
	for _, c := range n.Content {
		httpCalls(c, out)
	}
}

// The workflow's custom Compute role grants exactly what launch.yaml's Compute calls need.
func TestVMLauncherRoleCoversWorkflow(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "workflows", "launch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	var calls [][2]string
	httpCalls(&doc, &calls)
	need := map[string]bool{}
	computeCalls := 0
	for _, c := range calls {
		if !strings.Contains(c[1], "cfg.compute") {
			continue
		}
		computeCalls++
		i := slices.IndexFunc(computeCallPermissions, func(p struct {
			method string
			url    *regexp.Regexp
			perms  []string
		}) bool {
			return p.method == c[0] && p.url.MatchString(c[1])
		})
		if i < 0 {
			t.Errorf("launch.yaml calls Compute with http.%s %s, which this test (and the cspipeVmLauncher role) does not know", c[0], c[1])
			continue
		}
		for _, p := range computeCallPermissions[i].perms {
			need[p] = true
		}
	}
	if computeCalls == 0 {
		t.Fatal("found no Compute calls in launch.yaml")
	}
	r := loadRoot(t, "secundus")
	roleGrantsExactly(t, r, "vm_launcher", "cspipeVmLauncher", "launch.yaml's Compute calls", need, "workflow_manages_vms")
}

// roleGrantsExactly checks that root r's custom role label (roleID) holds exactly the
// permissions in need (what the calls of who need), and that the project grant holds that role.
func roleGrantsExactly(t *testing.T, r *root, label, roleID, who string, need map[string]bool, grant string) {
	t.Helper()
	perms, diags := r.resource(t, "resource", "google_project_iam_custom_role", label).Body.Attributes["permissions"].Expr.Value(r.evalCtx(t, sampleVars))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	have := map[string]bool{}
	for _, p := range perms.AsValueSlice() {
		have[p.AsString()] = true
	}
	for p := range need {
		if !have[p] {
			t.Errorf("%s lacks %s, which %s need", roleID, p, who)
		}
	}
	for p := range have {
		if !need[p] {
			t.Errorf("%s grants %s, which none of %s needs", roleID, p, who)
		}
	}
	g := r.resource(t, "resource", "google_project_iam_member", grant)
	if got, want := traversal(t, g.Body.Attributes["role"].Expr), "google_project_iam_custom_role."+label+".id"; got != want {
		t.Errorf("google_project_iam_member.%s holds %s, want the %s role", grant, got, roleID)
	}
}

// The sweeper's custom Compute role grants exactly what package computevms calls need (get and
// delete of an instance by name; no list), to ScheduleRun's account (SweepRuns runs as it), on
// cspipe-… instances only, with the same condition as the workflow's role.
func TestVMReaperRoleCoversSweeper(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "internal", "batch", "computevms", "computevms.go"))
	if err != nil {
		t.Fatal(err)
	}
	need := map[string]bool{}
	for _, m := range regexp.MustCompile(`http\.Method(Get|Delete|Post|Put|Patch)`).FindAllStringSubmatch(string(src), -1) {
		i := slices.IndexFunc(computeCallPermissions, func(p struct {
			method string
			url    *regexp.Regexp
			perms  []string
		}) bool {
			return p.method == strings.ToLower(m[1]) && strings.Contains(p.url.String(), "/instances/")
		})
		if i < 0 {
			t.Fatalf("computevms calls %s, which this test does not know", m[1])
		}
		for _, p := range computeCallPermissions[i].perms {
			need[p] = true
		}
	}
	r := loadRoot(t, "secundus")
	roleGrantsExactly(t, r, "vm_reaper", "cspipeVmReaper", "the sweeper's Compute calls", need, "schedule_reaps_vms")
	grant := r.resource(t, "resource", "google_project_iam_member", "schedule_reaps_vms")
	rng := grant.Body.Attributes["member"].Expr.Range()
	if got := string(r.files[rng.Filename][rng.Start.Byte:rng.End.Byte]); !strings.Contains(got, "google_service_account.schedule.email") {
		t.Errorf("cspipeVmReaper goes to %s, want ScheduleRun's account (SweepRuns runs as it)", got)
	}
	reap, _ := conditionSource(r, grant)
	launch, _ := conditionSource(r, r.resource(t, "resource", "google_project_iam_member", "workflow_manages_vms"))
	if reap == "" || reap != launch {
		t.Errorf("the sweeper's condition %s differs from the workflow's %s (cspipe-… instances only)", reap, launch)
	}
}
