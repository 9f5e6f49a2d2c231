package terraform_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/policy"
)

// The provider's initial condition in Terraform must be exactly what `cspipe policy render`
// prints for the same inputs, so the gate is the same before and after the first re-pin.
func TestInitialConditionMatchesPolicyRender(t *testing.T) {
	r := loadRoot(t, "primus")
	for _, attr := range []string{"STABLE", "LATEST"} {
		vars := map[string]string{"SUPPORT_ATTRIBUTE": attr}
		for k, v := range sampleVars {
			vars[k] = v
		}
		ctx := r.evalCtx(t, vars)
		want, err := policy.Policy{
			ImageRepository:  "us-docker.pkg.dev/primus-proj/primus-artifact-repo/workload-container",
			ImageDigest:      sampleVars["INITIAL_IMAGE_DIGEST"],
			ServiceAccounts:  []string{"workload-sa@secundus-proj.iam.gserviceaccount.com"},
			SupportAttribute: attr,
			PinnedEndpoints: map[string]string{"CSPIPE_STS_ENDPOINT": "", "CSPIPE_IAMCREDENTIALS_ENDPOINT": "",
				"CSPIPE_STORAGE_ENDPOINT": ""},
		}.Render()
		if err != nil {
			t.Fatal(err)
		}
		if got := local(t, ctx, "initial_condition"); got != want {
			t.Errorf("support %s: Terraform's initial condition\n  %s\ndiffers from policy render\n  %s", attr, got, want)
		}
		if got := local(t, ctx, "image_repository"); got != "us-docker.pkg.dev/primus-proj/primus-artifact-repo/workload-container" {
			t.Errorf("image_repository = %q", got)
		}
	}
}
