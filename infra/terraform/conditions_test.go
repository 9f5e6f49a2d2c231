package terraform_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/publish"
	"github.com/cspipe/cspipe/internal/records"
)

// Each Cloud Storage IAM condition, evaluated with CEL as Cloud Storage evaluates it on an object's
// resource.name (projects/_/buckets/B/objects/O), must admit the objects the function replaces
// or deletes (named from the code's own constants) and nothing the function must not touch.
func TestStorageConditionsMatchWhatTheCodeWrites(t *testing.T) {
	cases := []struct {
		root, resource string
		bucketLocal    string
		allow, deny    []string // object names
	}{
		{"primus", "pin_replaces_latest", "audit_bucket",
			[]string{audit.LatestObject},
			[]string{audit.RecordsPrefix + "0001.json", "pins/latest.json.bak", "x/" + audit.LatestObject}},
		{"primus", "register_writes_manifests", "model_bucket",
			[]string{"model.tar.gz" + records.ManifestSuffix, "team/model.tgz" + records.ManifestSuffix},
			[]string{"model.tar.gz", "model.tgz", "model.manifest.json.tar.gz"}},
		{"secundus", "schedule_tracks_batches", "state_bucket",
			[]string{batch.HeadObject(), batch.BatchPrefix("20261128-210000-1") + "a.jpg#1", "batches/20261128-210000-1/run.json", "claims/a.jpg#1"},
			[]string{"head.json.bak", "x/claims/a", "other.json"}},
		{"secundus", "workflow_seals_batches", "state_bucket",
			[]string{batch.HeadObject(), batch.PlanObject("20261128-210000-1")},
			[]string{batch.BatchPrefix("20261128-210000-1") + "a.jpg#1", "batches/20261128-210000-1/run.json", "claims/a.jpg#1", "plan.json"}},
		{"secundus", "publish_keeps_markers", "results_bucket",
			[]string{records.RunsPrefix + "batch-1/shard-0/" + publish.MarkerFile},
			[]string{records.RunsPrefix + "batch-1/shard-0/results.jsonl", records.RunsPrefix + "batch-1/shard-0/summary.json", "other/" + publish.MarkerFile + ".x"}},
	}
	for _, c := range cases {
		t.Run(c.resource, func(t *testing.T) {
			r := loadRoot(t, c.root)
			ctx := r.evalCtx(t, sampleVars)
			b := r.resource(t, "resource", "google_storage_bucket_iam_member", c.resource)
			cond := block(t, b, "condition")
			expr := str(t, ctx, cond.Body.Attributes["expression"].Expr)
			bucket := local(t, ctx, c.bucketLocal)
			ref := strings.Split(traversal(t, b.Body.Attributes["bucket"].Expr), ".")
			if len(ref) != 3 || ref[0] != "google_storage_bucket" {
				t.Fatalf("the grant's bucket is %v, want google_storage_bucket.X.name", ref)
			}
			if got := str(t, ctx, r.resource(t, "resource", "google_storage_bucket", ref[1]).Body.Attributes["name"].Expr); got != bucket {
				t.Fatalf("the grant is on bucket %s, the condition names %s", got, bucket)
			}
			// Evaluated by the local IAM's own CEL environment, on the resource Cloud Storage
			// checks: the object for object methods, the bucket for listing.
			eval := func(res iam.Resource) bool {
				ok, err := iam.ConditionHolds(expr, res, time.Now())
				if err != nil {
					t.Fatalf("condition %q: %v", expr, err)
				}
				return ok
			}
			for _, o := range c.allow {
				if !eval(iam.ObjectResource(bucket, o)) {
					t.Errorf("%s does not admit %s, which the code writes", c.resource, o)
				}
			}
			for _, o := range c.deny {
				if eval(iam.ObjectResource(bucket, o)) {
					t.Errorf("%s admits %s, which the function must not replace or delete", c.resource, o)
				}
			}
			if eval(iam.ObjectResource(bucket+"-other", c.allow[0])) {
				t.Errorf("%s admits the same object in another bucket", c.resource)
			}
			if eval(iam.BucketResource(bucket)) {
				t.Errorf("%s admits the bucket itself: on Cloud Storage that would grant listing (and bucket methods)", c.resource)
			}
		})
	}
}
