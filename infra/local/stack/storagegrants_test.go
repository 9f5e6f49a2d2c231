package stack

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/cspipe/cspipe/infra/local/gcsauth"
	"github.com/cspipe/cspipe/infra/local/iam"
	tfgrant "github.com/cspipe/cspipe/infra/terraform"
	"google.golang.org/api/googleapi"
)

// storageOnly starts the local IAM and Cloud Storage with the stack's buckets and the given
// storage grants (the other services are not needed to exercise them).
func storageOnly(t *testing.T, grants []tfgrant.StorageGrant) *Stack {
	t.Helper()
	ids, err := iam.New(iam.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ids.Close)
	gcs, err := gcsauth.New(ids, gcsauth.Options{AdminPrincipals: []string{iam.User(adminPrincipal)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gcs.Close)
	s := &Stack{IAM: ids, GCS: gcs, log: slog.New(slog.DiscardHandler)}
	for _, b := range []string{ModelBucket, AuditBucket, InputBucket, ResultsBucket, StateBucket} {
		gcs.CreateBucket(b)
	}
	if err := s.grantStorage(grants); err != nil {
		t.Fatal(err)
	}
	return s
}

func put(ctx context.Context, c *storage.Client, bucket, object, data string) error {
	w := c.Bucket(bucket).Object(object).NewWriter(ctx)
	if _, err := w.Write([]byte(data)); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func clientAs(t *testing.T, s *Stack, principal string) *storage.Client {
	t.Helper()
	c, err := s.StorageClient(t.Context(), principal)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func want403(t *testing.T, what string, err error, perm string) {
	t.Helper()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusForbidden || !strings.Contains(gerr.Message, perm) {
		t.Errorf("%s: %v, want 403 naming %s", what, err, perm)
	}
}

// withCondition returns grants with the condition of the named Terraform grant replaced.
func withCondition(t *testing.T, grants []tfgrant.StorageGrant, name, expr string) []tfgrant.StorageGrant {
	t.Helper()
	out := append([]tfgrant.StorageGrant(nil), grants...)
	for i := range out {
		if out[i].Name == name {
			out[i].Condition = expr
			return out
		}
	}
	t.Fatalf("terraform has no storage grant %s", name)
	return nil
}

// TestStorageGrantsAreTerraforms: the stack's identities get Terraform's storage grants with
// Terraform's condition text. With the real conditions, each function may replace exactly the
// objects it keeps; a deliberately wrong object-name condition (a typo in the prefix, or a
// bucket-scoped name where Cloud Storage evaluates the object's) refuses the same call with 403,
// as Google Cloud would; and an object-name condition never grants listing.
func TestStorageGrantsAreTerraforms(t *testing.T) {
	grants, err := TerraformStorageGrants()
	if err != nil {
		t.Fatal(err)
	}
	conditioned := 0
	for _, g := range grants {
		if g.Condition != "" {
			conditioned++
			if !strings.Contains(g.Condition, "projects/_/buckets/"+terraformBuckets[[2]string{g.Root, g.Bucket}]+"/objects/") {
				t.Errorf("%s: condition %q does not name the stack's bucket's objects", g.Name, g.Condition)
			}
		}
	}
	if conditioned < 4 {
		t.Fatalf("only %d conditioned storage grants read from Terraform: %+v", conditioned, grants)
	}

	// Each function replaces what it keeps (right condition), and nothing next to it.
	type op struct {
		who, bucket, object string
		ok                  bool
	}
	ops := []op{
		{PrimusFunctionsSA, AuditBucket, "pins/latest.json", true},
		{PrimusFunctionsSA, AuditBucket, "records/0001.json", false},
		{PrimusFunctionsSA, ModelBucket, "model.tar.gz.manifest.json", true},
		{PrimusFunctionsSA, ModelBucket, "model.tar.gz", false},
		{SecundusFunctionsSA, ResultsBucket, "runs/b1/shard-0/published.json", true},
		{SecundusFunctionsSA, ResultsBucket, "runs/b1/shard-0/summary.json", false},
		{SecundusFunctionsSA, StateBucket, "claims/a.jpg#1", true},
		{WorkflowSA, StateBucket, "batches/b1/plan.json", true},
		{WorkflowSA, StateBucket, "claims/a.jpg#1", false},
	}
	s := storageOnly(t, grants)
	ctx := t.Context()
	admin := clientAs(t, s, iam.User(adminPrincipal))
	for _, o := range ops {
		if err := put(ctx, admin, o.bucket, o.object, "v1"); err != nil {
			t.Fatal(err)
		}
		err := put(ctx, clientAs(t, s, iam.ServiceAccount(o.who)), o.bucket, o.object, "v2")
		switch {
		case o.ok && err != nil:
			t.Errorf("%s replaces gs://%s/%s: %v", o.who, o.bucket, o.object, err)
		case !o.ok:
			want403(t, o.who+" replaces gs://"+o.bucket+"/"+o.object, err, "storage.objects.") // create or delete
		}
	}

	// A wrong object-name condition in Terraform fails here as on Google Cloud.
	marker := "runs/b1/shard-0/published.json"
	for _, wrong := range []string{
		`resource.name.startsWith("projects/_/buckets/` + ResultsBucket + `/objects/run/") && resource.name.endsWith("/published.json")`,
		`resource.name == "projects/_/buckets/` + ResultsBucket + `"`,
	} {
		bad := storageOnly(t, withCondition(t, grants, "publish_keeps_markers", wrong))
		if err := put(ctx, clientAs(t, bad, iam.User(adminPrincipal)), ResultsBucket, marker, "v1"); err != nil {
			t.Fatal(err)
		}
		publisher := clientAs(t, bad, iam.ServiceAccount(SecundusFunctionsSA))
		want403(t, "replacing the marker under "+wrong, put(ctx, publisher, ResultsBucket, marker, "v2"), "storage.objects.delete")
		want403(t, "deleting the marker under "+wrong, publisher.Bucket(ResultsBucket).Object(marker).Delete(ctx), "storage.objects.delete")
	}

	// Listing is checked on the bucket: Terraform's object-name condition alone never grants it.
	onlyCond := iam.ServiceAccount("only-conditioned@" + Secundus.ID + ".iam.gserviceaccount.com")
	for _, g := range grants {
		if g.Name == "publish_keeps_markers" {
			if err := s.IAM.GrantIf(iam.BucketResource(ResultsBucket).Name, onlyCond, g.Role, iam.Condition{Title: g.ConditionTitle, Expression: g.Condition}); err != nil {
				t.Fatal(err)
			}
		}
	}
	oc := clientAs(t, s, onlyCond)
	if err := put(ctx, oc, ResultsBucket, "runs/b2/shard-0/published.json", "v1"); err != nil {
		t.Errorf("object-conditioned grant, creating a named object: %v", err)
	}
	_, err = oc.Bucket(ResultsBucket).Objects(ctx, &storage.Query{Prefix: "runs/"}).Next()
	want403(t, "listing with only an object-conditioned grant", err, "storage.objects.list")
}

// TestUnmappedTerraformGrantStopsTheStack: a storage grant in Terraform to an account or bucket
// the stack does not know is an error at start, never silently left out.
func TestUnmappedTerraformGrantStopsTheStack(t *testing.T) {
	grants, err := TerraformStorageGrants()
	if err != nil {
		t.Fatal(err)
	}
	extra := append(append([]tfgrant.StorageGrant(nil), grants...), tfgrant.StorageGrant{Root: "secundus", Name: "new_grant", Bucket: "results", Role: "roles/storage.objectViewer", Member: "google_service_account.auditor.email"})
	s := &Stack{}
	ids, err := iam.New(iam.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer ids.Close()
	s.IAM = ids
	if err := s.grantStorage(extra); err == nil || !strings.Contains(err.Error(), "google_service_account.auditor.email") {
		t.Errorf("an unmapped account: %v, want an error naming it", err)
	}
}
